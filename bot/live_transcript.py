"""The call transcribed while it goes on: each utterance once, as soon as it is over.

The recorder's stored segments are the source (what is transcribed is what is recorded, on its
clock). After each segment, the sound not yet transcribed is cut at its latest pause (a silence
the recorder's own detector found on the sink) and the part before the cut goes to the
transcription worker (a niced process with the model loaded once); its words are given to the
speaker the page showed and grouped into utterances. A cut never falls inside a voice unless
someone speaks for MAX_PENDING_S without a pause. What is left when the call ends is transcribed
then.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.payloads import LiveUtterance, SpeakerSegment, TranscriptLine
from media.ffmpeg import run
from media.hls import Turns
from transcription.attribution import SpokenWord, attribute, utterances
from transcription.engine import Word
from transcription.process import TranscriptionWorker

log = logging.getLogger("meetbot.live_transcript")

CUT_PAUSE_S = 0.3
"""The shortest silence an utterance is cut at (shorter ones are inside a phrase)."""
PAUSE_INTO_S = 0.25
"""A cut sits this far into a pause (or halfway into a shorter one)."""
MAX_PENDING_S = 20.0


def lag_figures(prefix: str, lags: list[float]) -> dict[str, float]:
    """``<prefix>_lag_{median,p95,max}_s`` of the seconds from utterances' ends to their events."""
    if not lags:
        return {}
    ordered = sorted(lags)
    return {f"{prefix}_lag_median_s": round(statistics.median(ordered), 2),
            f"{prefix}_lag_p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
            f"{prefix}_lag_max_s": round(ordered[-1], 2)}


@dataclass(frozen=True, slots=True)
class _Piece:
    path: Path
    start: float
    """Wall-clock time of its first sample."""
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration


class LiveTranscriber:
    def __init__(self, worker: TranscriptionWorker, *, work: Path,
                 emit: Callable[[LiveUtterance], None],
                 speakers: Callable[[float, float], Turns], clock: Callable[[float], float]) -> None:
        """``speakers(a, b)``: who the page showed speaking in [a, b] (wall clock; times from a);
        ``clock(t)``: a wall-clock time on the recording's clock."""
        self.worker, self.work, self.emit = worker, work, emit
        self.speakers, self.clock = speakers, clock
        self._pending: list[_Piece] = []
        self._cut: float | None = None
        self._sound: list[tuple[float, float | None]] = []
        self._span: int | None = None
        self._ended: list[tuple[list[_Piece], float | None, list[tuple[float, float | None]]]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.spoken: list[SpokenWord] = []
        """Every word it gave out, with its speaker, on the recording's clock."""
        self.said: list[TranscriptLine] = []
        """Every utterance it gave out, as given."""
        self.engine: str | None = None
        self.lags: list[float] = []
        """Seconds from each utterance's end (as heard on the sink) to its event."""
        self.failures = 0

    def segment(self, path: Path, *, start: float, duration: float, span: int,
                sound: list[tuple[float, float | None]]) -> None:
        """A segment was stored: ``sound`` is its recorder's wall-clock intervals with sound."""
        if self._span is not None and span != self._span and self._pending:
            # A new span (after a pause): what was left of the old one is transcribed first.
            self._ended.append((self._pending, self._cut, self._sound))
            self._pending, self._cut = [], None
        self._span = span
        self._pending.append(_Piece(path, start, duration))
        self._sound = sound
        self._wake.set()

    async def run(self) -> None:
        await self._warm_up()
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._advance(final=False)

    async def _warm_up(self) -> None:
        """The worker started and its model loaded before the first words (1.5-3 s otherwise)."""
        with tempfile.TemporaryDirectory(prefix="live-", dir=self.work) as tmp:
            quiet = Path(tmp) / "quiet.wav"
            try:
                await run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                           "-t", "0.5", str(quiet)], timeout=30)
                await self.worker.transcribe(quiet)
            except Exception as exc:
                log.warning("live transcript: the worker did not start", extra={"error": str(exc)[:300]})

    async def finish(self) -> None:
        """Everything not yet transcribed, at the end of the call."""
        await self._advance(final=True)

    def figures(self) -> dict[str, float | int]:
        return {"live_transcript_utterances": len(self.lags), "live_transcript_failures": self.failures,
                **lag_figures("live_transcript", self.lags)}

    # -- cutting --------------------------------------------------------------------------------
    async def _advance(self, *, final: bool) -> None:
        async with self._lock:
            while self._ended:
                old, cut, sound = self._ended.pop(0)
                await self._transcribe(old, cut if cut is not None else old[0].start, old[-1].end, sound)
            if not self._pending:
                return
            begin = self._cut if self._cut is not None else self._pending[0].start
            end = self._pending[-1].end
            cut = end if final else self._pause_in(begin, end)
            if cut is None and end - begin >= MAX_PENDING_S:
                cut = end
            if cut is None or cut <= begin:
                return
            await self._transcribe(self._pending, begin, cut, self._sound)
            self._cut = cut
            self._pending = [p for p in self._pending if p.end > cut]

    def _pause_in(self, begin: float, end: float) -> float | None:
        """Where to cut in (begin, end]: into the latest silence there, or None."""
        silences: list[tuple[float, float]] = []
        prev_end: float | None = None
        for a, b in self._sound:
            if prev_end is not None and a > prev_end:
                silences.append((prev_end, a))
            prev_end = b if b is not None else float("inf")
        if prev_end is not None and prev_end < end:
            silences.append((prev_end, end))
        for a, b in reversed(silences):
            a, b = max(a, begin), min(b, end)
            if b - a >= CUT_PAUSE_S:
                return min(a + PAUSE_INTO_S, a + (b - a) / 2)
        return None

    # -- transcribing ---------------------------------------------------------------------------
    async def _transcribe(self, pieces: list[_Piece], begin: float, cut: float,
                          sound: list[tuple[float, float | None]]) -> None:
        covering = [p for p in pieces if p.end > begin and p.start < cut]
        if not covering or not any(a < cut and (b is None or b > begin) for a, b in sound):
            return  # silence: nothing to say
        started = time.time()
        try:
            words = await self._words(covering, begin, cut)
        except Exception as exc:  # a transcript is never worth the recording
            self.failures += 1
            log.warning("live transcript: a stretch not transcribed", extra={
                "from": round(begin, 2), "to": round(cut, 2), "error": str(exc)[:300]})
            return
        turns = self.speakers(begin, cut)
        timeline = [SpeakerSegment(speaker_name=n, start_time_seconds=a, end_time_seconds=b)
                    for n, a, b in turns]
        spoken = attribute(words, timeline)
        self.spoken += [w.model_copy(update={"start": round(self.clock(begin + w.start), 3),
                                             "end": round(self.clock(begin + w.end), 3)}) for w in spoken]
        for u in utterances(spoken):
            said = LiveUtterance(speaker=u.speaker, start=round(self.clock(begin + u.start), 3),
                                 end=round(self.clock(begin + u.end), 3), text=u.text)
            self.said.append(TranscriptLine(**said.model_dump(include={"speaker", "start", "end", "text"})))
            self.emit(said)
            self.lags.append(time.time() - (begin + u.end))
            log.info("live utterance", extra={"speaker": u.speaker, "words": len(u.text.split()),
                                              "lag_s": round(self.lags[-1], 2),
                                              "waited_s": round(started - (begin + u.end), 2),
                                              "transcribed_s": round(time.time() - started, 2)})

    async def _words(self, covering: list[_Piece], begin: float, cut: float) -> list[Word]:
        """Words of [begin, cut] (wall clock), in seconds from ``begin``."""
        with tempfile.TemporaryDirectory(prefix="live-", dir=self.work) as tmp:
            listing = Path(tmp) / "pieces.txt"
            listing.write_text("".join(f"file '{p.path}'\nduration {p.duration:.3f}\n" for p in covering))
            wav = Path(tmp) / "stretch.wav"
            await run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                       "-vn", "-ss", f"{max(0.0, begin - covering[0].start):.3f}", "-t", f"{cut - begin:.3f}",
                       "-ac", "1", "-ar", "16000", str(wav)], timeout=60)
            words, self.engine = await self.worker.transcribe(wav)
            return words
