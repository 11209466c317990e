"""Speaker timeline: speaking on/off events from the page -> intervals on the recording's clock."""

from __future__ import annotations

from dataclasses import dataclass

from core.payloads import SpeakerSegment


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
        self.stuck: list[StuckSignal] = []
        """Filled by ``segments``: the stuck signals it found."""

    def speaking_since(self) -> dict[str, float]:
        """Who is shown speaking now, since when (wall clock)."""
        return dict(self._open)

    def speaking_during(self, start: float, end: float, *,
                        sound: list[tuple[float, float | None]] | None = None
                        ) -> tuple[tuple[str, float, float], ...]:
        """Who the page showed speaking in [start, end] (wall clock) and when, in seconds from
        ``start``, as seen so far: raw signals, before the end-of-call checks against the sound.
        ``sound``: gate them by it (``segments``' gate), for pages that only say who spoke last."""
        if sound is not None:
            return tuple(sorted((sp.speaker_name, round(sp.start_time_seconds, 2),
                                 round(sp.end_time_seconds, 2)) for sp in self._gated(start, end, sound)))
        turns = [*self._closed, *((n, s, end) for n, s in self._open.items())]
        return tuple(sorted((n, round(max(s, start) - start, 2), round(min(e, end) - start, 2))
                            for n, s, e in turns if s < end and e > start))

    def add(self, change: SpeakingChange) -> None:
        start = self._open.get(change.name)
        if change.speaking and start is None:
            self._open[change.name] = change.at
        elif not change.speaking and start is not None:
            del self._open[change.name]
            self._closed.append((change.name, start, max(change.at, start)))

    def segments(self, *, origin: float, end: float,
                 sound: list[tuple[float, float | None]] | None = None,
                 gate: bool = False, stuck_after: float | None = None) -> list[SpeakerSegment]:
        """Intervals relative to ``origin`` (the recording's t=0), clipped to [0, end - origin].

        Whoever is still speaking at ``end`` is closed there. ``sound`` (wall-clock intervals with
        audio on the bot's sink, the last possibly open) serves two purposes:

        - ``gate``: keep only the sounding parts of each turn, for platforms that only say who
          spoke last, not when they stopped (Zoom);
        - ``stuck_after``: a turn that stays on over a silence this long is a stuck signal: it is
          cut where the sound stopped, the rest of it dropped, and reported in ``stuck``.
        """
        merged = self._merged(end)
        sounding = [(s, e if e is not None else end) for s, e in (sound or [])]
        self.stuck = []
        if sound is not None and gate:
            merged = _gate(merged, sounding, self._merge_gap)
        elif sound is not None:
            if stuck_after is not None:
                merged, self.stuck = _cut_stuck(merged, _silences(sounding, origin, end), stuck_after)
            _as_heard(merged, sounding)
            merged.sort(key=lambda sp: (sp.start, sp.name))
        out = _relative(merged, origin, end)
        for report in self.stuck:
            report.at_seconds = round(report.at - origin, 3)
        return out

    def _gated(self, origin: float, end: float,
               sound: list[tuple[float, float | None]]) -> list[SpeakerSegment]:
        # Polled live several times a second: only the turns and sound near the window are gated
        # (the whole call's would grow with it), enough for the hand-off at its edge.
        lo = origin - HANDOFF_S
        sounding = [(s, e if e is not None else end) for s, e in sound if s < end and (e is None or e > lo)]
        spans = [sp for sp in self._merged(end) if sp.start < end and sp.end > lo]
        return _relative(_gate(spans, sounding, self._merge_gap), origin, end)

    def _merged(self, end: float) -> list[_Span]:
        """The turns so far (whoever speaks now, up to ``end``), a speaker's close ones as one."""
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
        return merged


def _relative(spans: list[_Span], origin: float, end: float) -> list[SpeakerSegment]:
    """``spans`` in seconds from ``origin``, clipped to [0, end - origin]."""
    limit = end - origin
    out = []
    for span in spans:
        s = round(min(max(span.start - origin, 0.0), limit), 3)
        e = round(min(max(span.end - origin, 0.0), limit), 3)
        if e > s:
            out.append(SpeakerSegment(speaker_name=span.name, start_time_seconds=s, end_time_seconds=e))
    return out


@dataclass(slots=True)
class StuckSignal:
    """A speaker shown as speaking over a long silence on the bot's own audio."""

    name: str
    at: float
    """Wall-clock start of the silence, where the turn was cut."""
    silence: float
    """Seconds of silence the signal stayed on over (to the end of the turn as shown)."""
    at_seconds: float = 0.0
    """``at`` on the recording's clock."""

    def describe(self) -> str:
        return (f"speaking signal for {self.name!r} stayed on over {self.silence:.1f} s of silence from "
                f"{self.at_seconds:.1f} s (a stuck signal): the turn was cut where the sound stopped")


def _silences(sound: list[tuple[float, float]], origin: float, end: float) -> list[tuple[float, float]]:
    """The complement of ``sound`` within [origin, end]."""
    out, cursor = [], origin
    for s, e in sorted(sound):
        if s > cursor:
            out.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        out.append((cursor, end))
    return out


def _cut_stuck(spans: list[_Span], silences: list[tuple[float, float]],
               stuck_after: float) -> tuple[list[_Span], list[StuckSignal]]:
    """Cut each turn at the first silence inside it that lasts ``stuck_after`` or more."""
    reports = []
    for span in spans:
        for s, e in silences:
            lo, hi = max(span.start, s), min(span.end, e)
            if hi - lo >= stuck_after:
                reports.append(StuckSignal(span.name, lo, round(hi - lo, 2)))
                span.end = lo
                break
    return [sp for sp in spans if sp.end > sp.start], reports


@dataclass(slots=True)
class _Span:
    name: str
    start: float
    end: float


HANDOFF_S = 0.5
"""The page names a new speaker a little after their sound starts: sound that began up to this long
before a turn is shown belongs to that turn, not to the tail of the previous one."""


def _hand_off(spans: list[_Span], sound: list[tuple[float, float]]) -> None:
    for span in spans:
        onset = next((s for s, _ in sound if span.start - HANDOFF_S <= s < span.start), None)
        if onset is None:
            continue
        for other in spans:
            if other is not span and other.start < onset < other.end <= span.start + HANDOFF_S:
                other.end = onset
        span.start = onset


SHOWN_EARLY_S = 0.15
"""A page may switch a speaker's signal on (or off) a little before their voice reaches the bot's
sink: the sound's edge that far after the signal's is still that turn's."""
RELEASE_HOLD_S = 1.0
"""Pages keep a speaker shown for a while after their voice stops (level meters with hysteresis
and debounce, reference 3.4): the sound's end up to this long before the signal's is that turn's."""


def _as_heard(spans: list[_Span], sound: list[tuple[float, float]]) -> None:
    """Each turn's start and end moved to the edges of the sound near them: the recording's sound
    is what a user hears, and a page's signal follows the voice late. Where the sound has no edge
    nearby (one voice runs into the next, a noisy room), the page's times stay."""
    sound = sorted(sound)
    for span in spans:
        start, end = span.start, span.end
        # The sound that is on when the signal comes on (or comes on just after it) ...
        onsets = [s for s, e in sound if start - HANDOFF_S <= s <= start + SHOWN_EARLY_S and e > start]
        # ... and the sound that ends before the signal goes off, with only silence in between.
        releases = [e for i, (_, e) in enumerate(sound)
                    if end - RELEASE_HOLD_S <= e <= end + SHOWN_EARLY_S and e > start
                    and (i + 1 == len(sound) or sound[i + 1][0] > end)]
        if onsets:
            span.start = min(onsets, key=lambda s: abs(s - start))
        if releases:
            span.end = min(releases, key=lambda e: abs(e - end))


def _gate(spans: list[_Span], sound: list[tuple[float, float]], merge_gap: float) -> list[_Span]:
    """Keep only the parts of each span during which there was sound."""
    _hand_off(spans, sound)
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
