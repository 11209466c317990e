"""Word error rate: how far one transcript is from another, word for word."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+")


def words_of(text: str) -> list[str]:
    """Lower-case words, punctuation dropped (case and commas are no error)."""
    return _WORD.findall(text.lower())


def wer(ref: list[str], hyp: list[str]) -> float:
    """(substitutions + deletions + insertions) / reference words."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(ref))
