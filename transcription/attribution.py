"""Words of a meeting given to the speakers its timeline shows, as utterances and captions.

Each word goes to the speaker shown speaking at its middle. Where turns overlap (two people shown
at once), the turn that began last wins (it is the one that just took the floor). A word in a gap
between turns goes to the nearest turn within ``reach`` seconds (speaking signals lag or lead the
voice a little), else to nobody (``speaker`` None). Consecutive words of one speaker with less than
``pause`` seconds between them make one utterance.
"""

from __future__ import annotations

from core.payloads import SpeakerSegment
from core.payloads import TranscriptLine as Utterance
from transcription.engine import Word


class SpokenWord(Word):
    speaker: str | None = None



def attribute(words: list[Word], timeline: list[SpeakerSegment], *, reach: float = 1.0) -> list[SpokenWord]:
    out = []
    for w in words:
        mid = (w.start + w.end) / 2
        covering = [s for s in timeline if s.start_time_seconds <= mid <= s.end_time_seconds]
        speaker = None
        if covering:
            speaker = max(covering, key=lambda s: s.start_time_seconds).speaker_name
        else:
            near = [(min(abs(mid - s.start_time_seconds), abs(mid - s.end_time_seconds)), s)
                    for s in timeline]
            near = [(d, s) for d, s in near if d <= reach]
            if near:
                speaker = min(near, key=lambda ds: ds[0])[1].speaker_name
        out.append(SpokenWord(**w.model_dump(), speaker=speaker))
    return out


def utterances(words: list[SpokenWord], *, pause: float = 1.0) -> list[Utterance]:
    out: list[Utterance] = []
    for w in words:
        last = out[-1] if out else None
        if last is not None and last.speaker == w.speaker and w.start - last.end < pause:
            last.end = w.end
            last.text += " " + w.text
        else:
            out.append(Utterance(speaker=w.speaker, start=w.start, end=w.end, text=w.text))
    return out


def _stamp(t: float) -> str:
    ms = round(t * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def webvtt(lines: list[Utterance], *, longest: float = 7.0, window: tuple[float, float] | None = None,
           mpegts: int | None = None) -> str:
    """WebVTT captions with the speaker as the voice (``<v Alice>``); long utterances are split.

    ``window``: only the cues starting in [from, to) of the lines' clock, timed from ``from`` (one
    span of an HLS stream); ``mpegts``: the MPEG-TS time (90 kHz) of that span's first sample, in
    an ``X-TIMESTAMP-MAP`` header, which is how an HLS player lines the cues up with the picture.
    """
    cues = ["WEBVTT"]
    if mpegts is not None:
        cues.append(f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000")
    cues.append("")
    a, b = window if window is not None else (float("-inf"), float("inf"))
    shift = a if window is not None else 0.0
    for u in lines:
        words = u.text.split()
        if not words:
            continue
        pieces = max(1, int((u.end - u.start) // longest) + 1)
        per = -(-len(words) // pieces)
        span = (u.end - u.start) / pieces
        for i in range(pieces):
            chunk = " ".join(words[i * per:(i + 1) * per])
            start, end = u.start + i * span, u.start + (i + 1) * span
            if not chunk or not a <= start < b:
                continue
            voice = f"<v {u.speaker}>" if u.speaker else ""
            cues += [f"{_stamp(start - shift)} --> {_stamp(min(end, b) - shift)}", f"{voice}{chunk}", ""]
    return "\n".join(cues)
