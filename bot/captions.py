"""The platform's own captions as the call's transcript: each utterance once, finalised.

The adapter reads the caption blocks the page shows (a stable id per block, its speaker, its text
as it stands now); this follows them. A block's text grows as words arrive and is rewritten in
place (an interim word corrected, case and punctuation set late), a speaker's next turn may run on
in the same block, and old blocks scroll away. So a block's words not yet given out are an
utterance in the making; it is final once its text has not changed for a while, or its block is
gone (sooner when it ends a sentence: the platforms punctuate only what they finalised; sooner
still when its speaker's turn is over). What was given out is never given again: a block that
grows after that grows a new utterance, and one rewritten from its first word (a line the next
utterance took over) starts one. Times come from the page's speaker signal (the turn the block's
speaker was shown in when the words appeared), on the recording's clock; a block without a name
(Zoom shows an avatar) is said by whoever that turn was.
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
QUIET_SETTLE_S = 0.3
"""...this long once its speaker's turn is over (the page showed them stop): no word is coming."""
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
                 source: str, ready: Callable[[], bool] = lambda: True) -> None:
        """``read()``: the blocks now (None: the page did not answer); ``speakers(a, b)``: who the
        page showed speaking in [a, b] (wall clock; times from a); ``clock(t)``: a wall-clock time
        on the recording's clock, once ``ready()``; ``source``: what the transcript says produced it."""
        self.read, self.emit, self.speakers, self.clock, self.ready = read, emit, speakers, clock, ready
        self._held: list[tuple[str | None, float, float, list[str]]] = []
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
            self._release(time.time())
            await asyncio.sleep(POLL_S)

    def finish(self) -> None:
        """The call is over: what is showing is as final as it will get."""
        now = time.time()
        for followed in self._blocks.values():
            self._give(followed, now)
        self._release(now, anyway=True)

    def observe(self, blocks: list[CaptionBlock], now: float) -> None:
        seen = set()
        for block in blocks:
            seen.add(block.id)
            words = block.text.split()
            followed = self._blocks.get(block.id)
            if followed is None:
                followed = self._blocks[block.id] = _Followed(block.speaker, changed=now)
            if words != followed.words:
                if _restarted(followed.words, words):
                    # The line now holds another utterance: the last one is as it was last seen.
                    self._give(followed, now)
                    followed.given, followed.speaker = 0, block.speaker
                elif followed.first_seen is not None and len(words) > len(followed.words) \
                        and self._new_turn(followed, now):
                    # The speaker's next turn runs on in the same block: the last one is over.
                    self._give(followed, now)
                if len(words) > followed.given and followed.first_seen is None:
                    followed.first_seen = now
                followed.words, followed.changed = words, now
            ended = bool(followed.words) and followed.words[-1][-1:] in (".", "?", "!")
            settle = UNFINISHED_S
            if ended and followed.first_seen is not None:
                settle = QUIET_SETTLE_S if self._turn_over(followed, now) else SETTLE_S
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
        speaker, start, end = self._when(followed.speaker, followed.first_seen, now, followed.changed)
        followed.given, followed.first_seen = len(followed.words), None
        self._held.append((speaker, start, end, new))
        self._release(now)

    def _release(self, now: float, *, anyway: bool = False) -> None:
        """Utterances given out, once the recording's clock can date them (its first frame is
        known: before, every time would read 0)."""
        if not (anyway or self.ready()):
            return
        held, self._held = self._held, []
        for speaker, start, end, new in held:
            said = LiveUtterance(speaker=speaker, start=round(self.clock(start), 3),
                                 end=round(self.clock(end), 3), text=" ".join(new), source="captions")
            self.said.append(TranscriptLine(**said.model_dump(include={"speaker", "start", "end", "text"})))
            # The platforms give no word times: spread over the utterance, for the word index.
            step = (said.end - said.start) / len(new)
            self.spoken += [SpokenWord(text=w, start=round(said.start + i * step, 3),
                                       end=round(said.start + (i + 1) * step, 3), speaker=speaker)
                            for i, w in enumerate(new)]
            self.emit(said)
            self.lags.append(now - end)
            log.info("caption utterance", extra={"speaker": speaker, "words": len(new),
                                                 "lag_s": round(now - end, 2)})

    def _new_turn(self, followed: _Followed, now: float) -> bool:
        """Whether the block's speaker (anyone, for a block without a name) began another turn
        after the one its pending words are in."""
        assert followed.first_seen is not None
        speaker, start, _ = self._when(followed.speaker, followed.first_seen, now)
        base = now - TURN_REACH_S
        return any(name == (followed.speaker or speaker) and base + a > start + 0.05
                   for name, a, _ in self.speakers(base, now))

    def _turn_over(self, followed: _Followed, now: float) -> bool:
        """Whether the page showed the pending words' speaker stop (an open turn reaches ``now``)."""
        assert followed.first_seen is not None
        speaker, _, end = self._when(followed.speaker, followed.first_seen, now)
        return speaker is not None and end < now - 0.05

    def _when(self, speaker: str | None, first_seen: float, now: float,
              changed: float | None = None) -> tuple[str | None, float, float]:
        """Who said the words and in which turn (wall clock): the last turn of the block's speaker
        (of anyone, for a block without a name) that began before they showed; without one, the
        block's speaker from when they showed to their last change."""
        base = first_seen - TURN_REACH_S
        turns = [(base + a, base + b, name) for name, a, b in self.speakers(base, now)
                 if (speaker is None or name == speaker) and base + a <= first_seen]
        if not turns:
            return speaker, first_seen, max(changed if changed is not None else now, first_seen)
        start, end, name = max(turns)
        return name, start, max(end, start)


def _bare(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def _restarted(old: list[str], new: list[str]) -> bool:
    """Whether ``new`` is another utterance, not ``old`` grown or rewritten: it lost words, or its
    first words differ. Within an utterance a line only grows, its newest word (heard as one or two)
    is rewritten, and the late pass sets case and punctuation, which bare words ignore."""
    if len(new) < len(old) - 2:
        return True
    settled = min(len(old) - 2, len(new), 3)
    return settled > 0 and [_bare(w) for w in old[:settled]] != [_bare(w) for w in new[:settled]]
