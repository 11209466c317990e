"""The density benchmark's sound-loss instrument: a room tone under the speech, and the stretches
of a recording where it is missing."""

from __future__ import annotations

import array
import math
import subprocess
from pathlib import Path

import pytest

from simulator.measure import AUDIO_RATE, audio_gaps, audio_release, audio_samples

pytestmark = pytest.mark.unit

TONE_DB = -60.0


def tone(seconds: float, *, holes: list[tuple[float, float]]) -> array.array[int]:
    amp = 32768 * 10 ** (TONE_DB / 20)
    out = array.array("h", (round(amp * math.sin(2 * math.pi * 440 * i / AUDIO_RATE))
                            for i in range(int(seconds * AUDIO_RATE))))
    for at, length in holes:
        a = int(at * AUDIO_RATE)
        out[a:a + int(length * AUDIO_RATE)] = array.array("h", bytes(2 * int(length * AUDIO_RATE)))
    return out


def test_a_missing_stretch_of_tone_is_found_where_it_was() -> None:
    samples = tone(3.0, holes=[(1.0, 0.05), (2.2, 0.2)])
    gaps = audio_gaps(samples, 10.0, 10.1, 12.9, floor_db=TONE_DB - 12)
    assert [(round(t, 2), round(d, 2)) for t, d in gaps] == [(11.0, 0.05), (12.2, 0.2)]
    assert audio_gaps(tone(3.0, holes=[]), 0.0, 0.1, 2.9, floor_db=TONE_DB - 12) == []


def test_sound_that_ends_early_counts_as_lost() -> None:
    gaps = audio_gaps(tone(2.0, holes=[]), 0.0, 0.5, 3.0, floor_db=TONE_DB - 12)
    assert len(gaps) == 1 and math.isclose(gaps[0][0], 2.0, abs_tol=0.011)
    assert math.isclose(gaps[0][1], 1.0, abs_tol=0.011)


def test_the_tone_survives_aac_and_a_dropout_inside_it_does_not(tmp_path: Path) -> None:
    """Through the recorder's codec (AAC 128k): the quiet tone stays above the floor, a 40 ms hole
    stays a hole."""
    raw = tmp_path / "tone.raw"
    raw.write_bytes(tone(4.0, holes=[(2.0, 0.04)]).tobytes())
    mp4 = tmp_path / "tone.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(AUDIO_RATE), "-ac", "1", "-i",
                    str(raw), "-c:a", "aac", "-b:a", "128k", str(mp4)], check=True)
    start, samples = audio_samples(mp4)
    gaps = audio_gaps(samples, start, start + 0.5, start + 3.5, floor_db=TONE_DB - 12)
    assert len(gaps) == 1, gaps
    assert abs(gaps[0][0] - start - 2.0) < 0.03 and 0.01 <= gaps[0][1] <= 0.05, gaps


def test_a_voice_ends_after_its_quiet_tail_not_where_it_drops() -> None:
    """The heard-end truth: a phrase at -13 dBFS that ends on a 130 ms breathy tail at -44 dBFS (as
    espeak's "today" does) ends after the tail, where the simulator's clip ends, not at the drop."""
    def sine(db: float, seconds: float) -> list[int]:
        amp = 32768 * 10 ** (db / 20)
        n = int(seconds * AUDIO_RATE)
        return [round(amp * math.sin(2 * math.pi * 300 * i / AUDIO_RATE)) for i in range(n)]
    samples = array.array("h", sine(-13, 1.0) + sine(-44, 0.13) + [0] * int(0.5 * AUDIO_RATE))
    release = audio_release(samples, 5.0, 5.5, 6.6)
    assert release is not None and abs(release - 6.13) < 0.004, release
