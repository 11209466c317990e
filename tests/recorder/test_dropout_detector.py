"""The recorder's dropout detector counts every hole in the sound, wherever it falls.

The recorder's own sound filters (``sound_graph``) run in a real ffmpeg on a room tone with holes
of exact zeros cut at known times, and the recorder reads ffmpeg's lines as it does when recording.
The sink's zeros before anyone is heard are not a hole, but a capture does not always start with
them: when the page's sound was already playing, the first run of zeros is the first hole (the
detector used to drop it as the start: 4 of the e2e test's 5 holes counted).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.recorder import DROPOUT_MAX_S, DROPOUT_MIN_S, Recorder, sound_graph
from media.ffmpeg import FFmpeg

pytestmark = pytest.mark.media

TONE_DB = -70
RATE = 48000


def recorder() -> Recorder:
    async def noop(_: Path) -> None:
        return None
    return Recorder(display="", width=2, height=2, fps=1, audio_only=True, audio_env={}, monitor="m",
                    work_dir=Path("."), preset="veryfast", audio_bitrate="64k", segment_seconds=1,
                    stop_timeout=1, on_segment=noop)


async def detect(lead_s: float, holes: list[tuple[float, float]], length_s: float = 3.0) -> Recorder:
    """ffmpeg's lines for a tone that starts ``lead_s`` into the capture, with ``holes`` ((start,
    seconds) on the capture's clock) cut in it, read by a recorder."""
    # Evaluated sample by sample (a filter's enable= is per frame: holes would snap to 21 ms).
    silent = "+".join(f"between(t\\,{at:.5f}\\,{at + ms:.5f})" for at, ms in holes) or "0"
    peak = 10 ** (TONE_DB / 20)
    source = (f"aevalsrc='if(gte(t\\,{lead_s:.5f})*not({silent})\\,{peak:.6f}*sin(2*PI*440*t)\\,0)'"
              f":s={RATE}:d={length_s},aformat=s16:{RATE}:stereo")
    cmd = FFmpeg(loglevel="info", global_options={"nostats": True}).input(source, f="lavfi")
    cmd.filter_complex(f"[0:a]{sound_graph()}[a]").output("-", {"map": "[a]"}, f="null")
    proc = await asyncio.create_subprocess_exec(*cmd.args(), stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-800:]
    rec = recorder()
    for line in err.decode().splitlines():
        rec._on_line(line)
    return rec


HOLES = [(0.8, 0.035), (1.4, 0.035), (2.0, 0.035), (2.6, 0.035)]


@pytest.mark.parametrize("lead_s", [0.0, 0.03, 0.12, 0.5])
async def test_every_hole_is_counted_whether_or_not_the_capture_starts_in_zeros(lead_s: float) -> None:
    """No zeros at the start (the tone already playing), a short run (counted as a hole by length
    alone), a longer one: the same four holes, never the start."""
    rec = await detect(lead_s, HOLES)
    assert rec.dropouts == len(HOLES), (lead_s, rec.dropouts, rec.dropout_s)
    assert rec.dropout_s == pytest.approx(sum(ms for _, ms in HOLES), abs=0.004)


async def test_holes_at_the_windows_edges_close_together_and_soon_after_the_start() -> None:
    """A hole 60 ms into a capture that started on the tone, two holes 30 ms apart, and holes
    just inside the 10-200 ms window are each counted; one just outside it is not."""
    inside = [(0.06, 0.03), (0.7, 0.03), (0.76, 0.03), (1.3, DROPOUT_MIN_S + 0.004),
              (1.9, DROPOUT_MAX_S - 0.01)]
    rec = await detect(0.0, [*inside, (2.5, DROPOUT_MAX_S + 0.03)], length_s=3.2)
    assert rec.dropouts == len(inside), (rec.dropouts, rec.dropout_s)
    assert rec.dropout_s == pytest.approx(sum(ms for _, ms in inside), abs=0.006)
