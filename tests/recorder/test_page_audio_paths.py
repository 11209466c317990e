"""The bot sees which paths a page plays its sound through, with the latencies Chromium reports.

Real Chromium on the bot's sink: a page plays an oscillator on an AudioContext, a file through
``new Audio()`` (never in the document), the context's MediaStream through two more (one held
muted, as Zoom holds its players until computer audio is joined), and a WebRTC
loopback's received track through an ``<audio>``; ``audio_paths`` must find each, tell the
received stream from the page's own, and read the receiver's jitter buffer delay.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import struct
import wave
from pathlib import Path

import pytest

from bot.page_audio import AudioPaths, audio_paths
from tests.recorder.bot_media import bot_media

pytestmark = pytest.mark.media


def tone_wav(seconds: float = 1.0, rate: int = 48000) -> str:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 330 * i / rate)))
                               for i in range(int(seconds * rate))))
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


PAGE = """<body><script>
(async () => {
  const ctx = new AudioContext();
  const osc = ctx.createOscillator(); osc.connect(ctx.destination); osc.start();
  const file = new Audio('%s'); file.loop = true; await file.play();
  const send = ctx.createMediaStreamDestination(); osc.connect(send);
  const local = new Audio(); local.srcObject = send.stream; await local.play();
  const held = new Audio(); held.muted = true; held.srcObject = send.stream; await held.play();
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  b.ontrack = (e) => { const el = document.createElement('audio'); el.srcObject = e.streams[0];
                       document.body.append(el); el.play(); };
  a.addTrack(send.stream.getAudioTracks()[0], send.stream);
  await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
})();
</script></body>"""


async def test_the_page_audio_paths_are_seen_with_chromiums_latencies(tmp_path: Path) -> None:
    async with bot_media(tmp_path) as m:
        page = m.browser.page
        assert page is not None
        assert await audio_paths(page) == AudioPaths()  # nothing plays yet
        # A navigation, as to a meeting: the bot's init script runs before the page's.
        await page.goto("data:text/html;base64," + base64.b64encode((PAGE % tone_wav()).encode()).decode())
        seen = AudioPaths()
        for _ in range(40):
            await asyncio.sleep(0.25)
            seen = await audio_paths(page)
            if seen.receivers and seen.jitter_buffer_ms:
                break
    assert seen.contexts == 1 and seen.elements_file == 1 and seen.elements_stream == 2, seen
    assert seen.elements_remote == 1 and seen.elements_page_stream == 2, seen  # the muted one too
    assert seen.receivers == 1 and seen.jitter_buffer_ms is not None and seen.jitter_buffer_ms > 0, seen
    assert seen.context_output_ms is not None and seen.context_output_ms > 0, seen
    figures = seen.figures()
    assert figures["page_audio_receivers"] == 1.0 and all(isinstance(v, float) for v in figures.values())
