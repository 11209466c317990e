"""Where the voice is in an audio, and words moved inside it.

Whisper dates words by its attention, not by the sound: the first word of a phrase began up to
0.3 s before the voice (it takes the silence before), the last one ended up to 0.5 s after it. A
word that overlaps a stretch of voice is pulled inside that stretch; one that overlaps none is left
as the engine dated it. Levels are measured against the audio's own floor, so a room's noise is not
a voice.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from transcription.engine import Word

FRAME_S = 0.01
ABOVE_FLOOR_DB = 15.0
MIN_LEVEL_DB = -55.0
BRIDGE_S = 0.15
"""Quieter gaps shorter than this are inside a phrase (stops, breaths)."""
MIN_VOICE_S = 0.05


def voiced(pcm: bytes, rate: int) -> list[tuple[float, float]]:
    """Stretches (seconds) of 16-bit mono ``pcm`` louder than its floor by ABOVE_FLOOR_DB."""
    n = max(1, int(rate * FRAME_S))
    samples = np.frombuffer(pcm[: len(pcm) // (2 * n) * 2 * n], dtype="<i2").astype(np.float64) / 32768.0
    if not len(samples):
        return []
    power = (samples.reshape(-1, n) ** 2).mean(axis=1)
    levels = 10 * np.log10(np.maximum(power, 1e-12))
    limit = max(float(np.percentile(levels, 10)) + ABOVE_FLOOR_DB, MIN_LEVEL_DB)
    out: list[tuple[float, float]] = []
    start: int | None = None
    for k, loud in enumerate([*(levels >= limit), False]):
        if loud and start is None:
            start = k
        elif not loud and start is not None:
            a, b = start * FRAME_S, k * FRAME_S
            if out and a - out[-1][1] < BRIDGE_S:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
            start = None
    return [(a, b) for a, b in out if b - a >= MIN_VOICE_S]


def inside_voice(words: Iterable[Word], voice: list[tuple[float, float]], offset: float = 0.0) -> list[Word]:
    """``words`` (times with ``offset`` added) with each one's start and end pulled into the
    stretches of ``voice`` (times without it) that it overlaps."""
    out = []
    for w in words:
        a, b = w.start - offset, w.end - offset
        over = [(s, e) for s, e in voice if s < b and e > a]
        if over:
            a, b = max(a, over[0][0]), min(b, over[-1][1])
            w = w.model_copy(update={"start": round(a + offset, 3), "end": round(max(a, b) + offset, 3)})
        out.append(w)
    return out
