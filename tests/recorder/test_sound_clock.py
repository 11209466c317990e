"""The recorder places the sound where the sink played it, not where PulseAudio guessed.

Pulse stamps a recorded packet with the read time minus its latency estimate, fresh for every
stream: two ffmpeg recording one sink at once placed the same sound up to 21 ms apart, and a
little further each run. The recorder counts samples from the earliest arrival instead, so two
captures of one sink, started at different moments, must agree on when a sound was played.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from bot.audio import AudioSink
from bot.recorder import Recorder
from core.aio import bounded
from simulator.measure import audio_onset, audio_samples

pytestmark = pytest.mark.media

PULSE = Path("/tmp/meetbot-pulse")
BURSTS = 4
EVERY = 1.0
LEAD_MS = 4000


async def _noop(_: Path) -> None:
    return None


def recorder(sink: AudioSink, work: Path) -> Recorder:
    return Recorder(display="", width=320, height=240, fps=1, audio_only=True,
                    audio_env=sink.client_env(), monitor=sink.monitor, work_dir=work, preset="veryfast",
                    audio_bitrate="128k", segment_seconds=1, stop_timeout=10, on_segment=_noop)


async def sh(*cmd: str, env: dict[str, str] | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(*cmd, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-500:]


def played_at(rec: Recorder, joined: Path) -> list[float]:
    """Wall-clock onsets of the bursts in one capture (its pts + ts_base is the wall clock)."""
    joined.write_bytes(b"".join(p.read_bytes() for p in rec.segments))
    start, samples = audio_samples(joined)
    onsets: list[float] = []
    after = start
    for _ in range(BURSTS):
        onset = audio_onset(samples, start, after, after + 3 * EVERY, threshold_db=-30)
        assert onset is not None, f"burst {len(onsets)} not heard after {after - start:.2f} s"
        onsets.append(onset + rec.ts_base)
        after = onset + EVERY / 2
    return onsets


async def test_two_captures_of_one_sink_place_each_sound_together(tmp_path: Path) -> None:
    bursts = tmp_path / "bursts.wav"
    noise = f"anoisesrc=a=0.3:d=0.2,apad=pad_dur={EVERY - 0.2}"
    repeat = f"aloop=loop={BURSTS - 1}:size={int(48000 * EVERY)}"
    # Silence first: the player is connected before either capture starts, as the meeting page's
    # Chromium is before the recorder starts, and the bursts come 3 s after the second capture.
    await sh("ffmpeg", "-v", "error", "-f", "lavfi", "-i", noise, "-af",
             f"{repeat},adelay={LEAD_MS}|{LEAD_MS}", "-ar", "48000", "-ac", "2", str(bursts))
    async with AudioSink(runtime_path=PULSE, lease_dir=tmp_path) as sink:
        first, second = recorder(sink, tmp_path / "a"), recorder(sink, tmp_path / "b")
        player = await asyncio.create_subprocess_exec(
            "paplay", str(bursts), env={**sink.client_env(), "PATH": "/usr/bin:/bin"},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        await asyncio.sleep(0.3)
        async with first:
            await asyncio.sleep(0.7)  # started apart: each stream gets its own latency estimate
            async with second:
                # The floor is found within a second or two (later under load); what comes before
                # it may be trimmed by the amount it moves (README, "the sound's clock").
                _, err = await bounded(player.communicate(), 30)
                assert player.returncode == 0, err.decode()[-500:]
                await asyncio.sleep(2.5)  # paplay returns when the server has it all
    a = played_at(first, tmp_path / "a.ts")
    b = played_at(second, tmp_path / "b.ts")
    apart = [round(1000 * (x - y), 1) for x, y in zip(a, b, strict=True)]
    assert all(abs(d) < 3 for d in apart), f"the same bursts placed {apart} ms apart"
    gaps = [round(y - x, 3) for x, y in itertools.pairwise(a)]
    # The envelope still moves a few ms as it finds a lower floor (or rises 1 ms/s): sounds one
    # second apart stay one second apart within 12 ms.
    assert all(abs(g - EVERY) < 0.012 for g in gaps), gaps
