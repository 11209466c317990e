"""Words pulled inside the voice: Whisper's first word of a phrase takes the silence before it."""

from __future__ import annotations

import math
from array import array

import pytest

from transcription.engine import Word
from transcription.voicing import inside_voice, voiced

pytestmark = pytest.mark.unit

RATE = 16_000


def audio(parts: list[tuple[float, float]], *, noise_db: float = -70.0) -> bytes:
    """(seconds, level dBFS) pieces of a 300 Hz tone over a room-noise hum at ``noise_db``."""
    out = array("h")
    t = 0
    for seconds, level in parts:
        for _ in range(int(seconds * RATE)):
            x = 10 ** (noise_db / 20) * math.sin(2 * math.pi * 50 * t / RATE)
            if level > -100:
                x += 10 ** (level / 20) * math.sqrt(2) * math.sin(2 * math.pi * 300 * t / RATE)
            out.append(int(max(-1.0, min(1.0, x)) * 32767))
            t += 1
    return out.tobytes()


def test_the_voice_is_found_against_the_floor_and_words_are_pulled_inside_it() -> None:
    pcm = audio([(1.0, -120), (1.2, -20), (0.08, -120), (0.5, -25), (1.0, -120), (0.6, -30), (0.7, -120)])
    got = voiced(pcm, RATE)
    assert len(got) == 2, got  # the 80 ms gap is inside the phrase
    assert got[0] == pytest.approx((1.0, 2.78), abs=0.02)
    assert got[1] == pytest.approx((3.78, 4.38), abs=0.02)
    words = [Word(text="early", start=10.6, end=11.5), Word(text="mid", start=11.5, end=12.0),
             Word(text="late", start=12.3, end=13.3), Word(text="then", start=13.6, end=14.9),
             Word(text="nowhere", start=15.0, end=15.2)]
    moved = inside_voice(words, got, offset=10.0)
    assert [t for w in moved for t in (w.start, w.end)] == pytest.approx(
        [11.0, 11.5, 11.5, 12.0, 12.3, 12.78, 13.78, 14.38, 15.0, 15.2], abs=0.02)


def test_silence_alone_has_no_voice() -> None:
    assert voiced(audio([(2.0, -120)]), RATE) == []
    assert voiced(b"", RATE) == []
