"""A video's transcript: stored once per asset (a doc in the status store), cut on request.

``segment`` answers ``get_transcript(segmenter, length)``: ``word`` (each word; ``length`` words
per entry), ``sentence`` (a sentence ends at a pause of 0.6 s or more, or after ``length``
sentences' worth is asked for: ``length`` sentences per entry) and ``time`` (entries of ``length``
seconds). Times are seconds from the video's start.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from status import StatusStore
from transcription.attribution import SpokenWord, utterances

SENTENCE_PAUSE_S = 0.6


class Transcript(BaseModel):
    asset_id: str
    engine: str
    words: list[SpokenWord]
    created_at: float = Field(default_factory=time.time)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class Entry(BaseModel):
    start: float
    end: float
    text: str
    speaker: str | None = None


def _join(words: list[SpokenWord]) -> Entry:
    speakers = {w.speaker for w in words}
    return Entry(start=words[0].start, end=words[-1].end, text=" ".join(w.text for w in words),
                 speaker=speakers.pop() if len(speakers) == 1 else None)


def sentences(words: list[SpokenWord]) -> list[list[SpokenWord]]:
    """Runs of words without a pause of SENTENCE_PAUSE_S (the engine gives no punctuation) and
    without a change of speaker."""
    out: list[list[SpokenWord]] = []
    for w in words:
        last = out[-1][-1] if out else None
        if last is not None and w.start - last.end < SENTENCE_PAUSE_S and w.speaker == last.speaker:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def segment(words: list[SpokenWord], segmenter: str, length: float) -> list[Entry]:
    if not words:
        return []
    if segmenter == "word":
        n = max(1, int(length))
        return [_join(words[i:i + n]) for i in range(0, len(words), n)]
    if segmenter == "sentence":
        runs = sentences(words)
        n = max(1, int(length))
        return [_join([w for run in runs[i:i + n] for w in run]) for i in range(0, len(runs), n)]
    if segmenter == "time":
        step = max(0.5, float(length))
        buckets: dict[int, list[SpokenWord]] = {}
        for w in words:
            buckets.setdefault(int(w.start // step), []).append(w)
        return [_join(buckets[k]) for k in sorted(buckets)]
    raise ValueError(f"segmenter must be word, sentence or time, not {segmenter!r}")


def pieces_of(words: list[SpokenWord]) -> list[Entry]:
    """What search finds: utterances (one speaker, no long pause), as shots to play."""
    return [Entry(start=u.start, end=u.end, text=u.text, speaker=u.speaker)
            for u in utterances(words, pause=SENTENCE_PAUSE_S * 2)]


async def save_transcript(store: StatusStore, t: Transcript) -> None:
    await store.put_doc("transcript", t.asset_id, t.model_dump_json(), t.created_at)


async def load_transcript(store: StatusStore, asset_id: str) -> Transcript | None:
    raw = await store.get_doc("transcript", asset_id)
    return Transcript.model_validate_json(raw) if raw else None
