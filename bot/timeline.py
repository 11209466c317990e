"""Speaker timeline: speaking on/off events from the page -> intervals on the recording's clock."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


class SpeakerSegment(BaseModel):
    speaker_name: str
    start_time_seconds: float
    end_time_seconds: float


@dataclass(frozen=True, slots=True)
class SpeakingChange:
    name: str
    speaking: bool
    at: float
    """Wall-clock time (seconds), already corrected for the page's clock offset."""


class SpeakerTimeline:
    """Accumulates speaking changes; several people may speak at once."""

    def __init__(self, *, merge_gap: float = 0.3) -> None:
        self._merge_gap = merge_gap
        self._open: dict[str, float] = {}
        self._closed: list[tuple[str, float, float]] = []

    def add(self, change: SpeakingChange) -> None:
        start = self._open.get(change.name)
        if change.speaking and start is None:
            self._open[change.name] = change.at
        elif not change.speaking and start is not None:
            del self._open[change.name]
            self._closed.append((change.name, start, max(change.at, start)))

    def segments(self, *, origin: float, end: float,
                 sound: list[tuple[float, float | None]] | None = None) -> list[SpeakerSegment]:
        """Intervals relative to ``origin`` (the recording's t=0), clipped to [0, end - origin].

        Whoever is still speaking at ``end`` is closed there. ``sound`` (wall-clock intervals with
        audio) gates platforms that only say who spoke last, not when they stopped.
        """
        raw = sorted(self._closed + [(n, s, end) for n, s in self._open.items()],
                     key=lambda r: (r[1], r[0]))
        merged: list[_Span] = []
        last: dict[str, _Span] = {}
        for name, start, stop in raw:
            prev = last.get(name)
            if prev is not None and start - prev.end <= self._merge_gap:
                prev.end = max(prev.end, stop)
                continue
            last[name] = span = _Span(name, start, stop)
            merged.append(span)
        if sound is not None:
            merged = _gate(merged, [(s, e if e is not None else end) for s, e in sound],
                           self._merge_gap)
        limit = end - origin
        out = []
        for span in merged:
            s = min(max(span.start - origin, 0.0), limit)
            e = min(max(span.end - origin, 0.0), limit)
            if e > s:
                out.append(SpeakerSegment(speaker_name=span.name, start_time_seconds=round(s, 3),
                                          end_time_seconds=round(e, 3)))
        return out


@dataclass(slots=True)
class _Span:
    name: str
    start: float
    end: float


def _gate(spans: list[_Span], sound: list[tuple[float, float]], merge_gap: float) -> list[_Span]:
    """Keep only the parts of each span during which there was sound."""
    out: list[_Span] = []
    for span in spans:
        for s, e in sound:
            lo, hi = max(span.start, s), min(span.end, e)
            if hi <= lo:
                continue
            prev = out[-1] if out and out[-1].name == span.name else None
            if prev is not None and lo - prev.end <= merge_gap:
                prev.end = max(prev.end, hi)
            else:
                out.append(_Span(span.name, lo, hi))
    out.sort(key=lambda sp: (sp.start, sp.name))
    return out
