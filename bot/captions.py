"""The platform's own captions as the call's transcript: each utterance once, finalised.

The adapter reads the caption blocks the page shows (a stable id per block, its speaker, its text
as it stands now); this follows them. A block's text grows as words arrive and is rewritten in
place (an interim word corrected, case and punctuation set late), a speaker's next turn may run on
in the same block, and old blocks scroll away. So a block's words not yet given out are an
utterance in the making; it is final once its text has not changed for a while, or its block is
gone (sooner when it ends a sentence: the platforms punctuate only what they finalised). What
was given out is never given again: a block that grows after that grows a new
utterance. Times come from the page's speaker signal (the turn the block's speaker was shown in
when the words appeared), on the recording's clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.live_transcript import lag_figures
from core.payloads import LiveUtterance, TranscriptLine
from media.hls import Turns
from platforms.base import CaptionBlock
from transcription.attribution import SpokenWord

log = logging.getLogger("meetbot.captions")

SETTLE_S = 0.7
"""A caption that ends a sentence (. ? !) and is unchanged this long is final."""
UNFINISHED_S = 2.0
"""One that does not end a sentence waits this long: the platforms write their interim words
without case or punctuation, and their late pass, which sets them, can come a second after the
last word (a pass after that is not waited for)."""
POLL_S = 0.2
TURN_REACH_S = 8.0
"""How far back the speaker's turn may have started before its words showed."""


@dataclass(slots=True)
class _Followed:
    speaker: str | None
    words: list[str] = field(default_factory=list)
    given: int = 0
    """Words of it already given out."""
    first_seen: float | None = None
    """When the words not yet given out began to show (wall clock)."""
    changed: float = 0.0


class CaptionFollower:
    def __init__(self, read: Callable[[], Awaitable[list[CaptionBlock] | None]], *,
                 emit: Callable[[LiveUtterance], None],
                 speakers: Callable[[float, float], Turns], clock: Callable[[float], float],
                 source: str) -> None:
        """``read()``: the blocks now (None: the page did not answer); ``speakers(a, b)``: who the
        page showed speaking in [a, b] (wall clock; times from a); ``clock(t)``: a wall-clock time
        on the recording's clock; ``source``: what the transcript says produced it."""
        self.read, self.emit, self.speakers, self.clock = read, emit, speakers, clock
        self.engine = source
        self._blocks: dict[str, _Followed] = {}
        self.said: list[TranscriptLine] = []
        self.spoken: list[SpokenWord] = []
        self.lags: list[float] = []
        """Seconds from each utterance's end (the speaker's turn, as the page showed it) to its event."""

    async def run(self) -> None:
        while True:
            blocks = await self.read()
            if blocks is not None:
                self.observe(blocks, time.time())
            await asyncio.sleep(POLL_S)

    def finish(self) -> None:
        """The call is over: what is showing is as final as it will get."""
        now = time.time()
        for followed in self._blocks.values():
            self._give(followed, now)

    def observe(self, blocks: list[CaptionBlock], now: float) -> None:
        seen = set()
        for block in blocks:
            seen.add(block.id)
            words = block.text.split()
            followed = self._blocks.get(block.id)
            if followed is None:
                followed = self._blocks[block.id] = _Followed(block.speaker, changed=now)
            if words != followed.words:
                if followed.first_seen is not None and len(words) > len(followed.words) \
                        and self._new_turn(followed, now):
                    # The speaker's next turn runs on in the same block: the last one is over.
                    self._give(followed, now)
                if len(words) > followed.given and followed.first_seen is None:
                    followed.first_seen = now
                followed.words, followed.changed = words, now
            ended = bool(followed.words) and followed.words[-1][-1:] in (".", "?", "!")
            settle = SETTLE_S if ended else UNFINISHED_S
            if followed.first_seen is not None and now - followed.changed >= settle:
                self._give(followed, now)
        for gone in [k for k in self._blocks if k not in seen]:
            self._give(self._blocks.pop(gone), now)  # scrolled away: as last seen

    def figures(self) -> dict[str, float | int]:
        return {"captions_utterances": len(self.said), **lag_figures("captions", self.lags)}

    def _give(self, followed: _Followed, now: float) -> None:
        new = followed.words[followed.given:]
        if not new or followed.first_seen is None:
            return
        start, end = self._when(followed.speaker, followed.first_seen, now, followed.changed)
        followed.given, followed.first_seen = len(followed.words), None
        text = " ".join(new)
        said = LiveUtterance(speaker=followed.speaker, start=round(self.clock(start), 3),
                             end=round(self.clock(end), 3), text=text, source="captions")
        self.said.append(TranscriptLine(**said.model_dump(include={"speaker", "start", "end", "text"})))
        # The platforms give no word times: spread over the utterance, for the word index.
        step = (said.end - said.start) / len(new)
        self.spoken += [SpokenWord(text=w, start=round(said.start + i * step, 3),
                                   end=round(said.start + (i + 1) * step, 3), speaker=followed.speaker)
                        for i, w in enumerate(new)]
        self.emit(said)
        self.lags.append(now - end)
        log.info("caption utterance", extra={"speaker": followed.speaker, "words": len(new),
                                             "lag_s": round(now - end, 2)})

    def _new_turn(self, followed: _Followed, now: float) -> bool:
        """Whether the block's speaker began another turn after the one its pending words are in."""
        assert followed.first_seen is not None
        start, _ = self._when(followed.speaker, followed.first_seen, now)
        base = now - TURN_REACH_S
        return any(name == followed.speaker and base + a > start + 0.05
                   for name, a, _ in self.speakers(base, now))

    def _when(self, speaker: str | None, first_seen: float, now: float,
              changed: float | None = None) -> tuple[float, float]:
        """The speaker's turn the words belong to (wall clock): the last one that began before
        they showed; without one, from when they showed to their last change."""
        base = first_seen - TURN_REACH_S
        turns = [(base + a, base + b) for name, a, b in self.speakers(base, now)
                 if name == speaker and base + a <= first_seen]
        if not turns:
            return first_seen, max(changed if changed is not None else now, first_seen)
        start, end = max(turns)
        return start, max(end, start)
