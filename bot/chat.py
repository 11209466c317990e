"""The meeting's chat: each message once, as the page showed it, and the bot's own posts split to
the platform's limit.

The adapter reads the messages the chat panel shows (a stable id per message, its sender, its
text, whether the bot posted it); this gives each one out once, timed when it first showed (the
pages print minutes only; wall clock here, the recording's clock once reported). A message the
page removes (scrolled out of a virtual list) is not a new one when it shows again: its id is the
page's own where it has one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from core.payloads import ChatMessage
from platforms.base import ChatLine

log = logging.getLogger("meetbot.chat")

POLL_S = 0.5
MIN_PART_CHARS = 40
"""A page that refuses parts this short refuses the message, not its length."""


class ChatFollower:
    def __init__(self, read: Callable[[], Awaitable[list[ChatLine] | None]], *,
                 emit: Callable[[ChatMessage], None]) -> None:
        """``read()``: the messages showing now (None: the page did not answer)."""
        self.read, self.emit = read, emit
        self._seen: set[str] = set()
        self.messages: list[ChatMessage] = []

    async def run(self) -> None:
        while True:
            lines = await self.read()
            if lines is not None:
                self.observe(lines, time.time())
            await asyncio.sleep(POLL_S)

    def observe(self, lines: list[ChatLine], now: float) -> None:
        for line in lines:
            if line.id in self._seen or not line.text:
                continue
            self._seen.add(line.id)
            message = ChatMessage(sender=line.sender, text=line.text, at=now, from_bot=line.from_bot)
            self.messages.append(message)
            self.emit(message)
            log.info("chat message", extra={"sender": line.sender, "chars": len(line.text),
                                            "from_bot": line.from_bot})


def split_message(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut between words where there is one in
    the part's last half (a word longer than that is cut where the limit falls)."""
    text = " ".join(text.split())
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        if cut <= 0:
            parts.append(text[:limit])
            text = text[limit:].lstrip()
        else:
            parts.append(text[:cut])
            text = text[cut + 1:]
    if text:
        parts.append(text)
    return parts


async def post_message(post: Callable[[str], Awaitable[bool]], text: str,
                       limit: int) -> tuple[int, str | None]:
    """Post ``text`` in parts within ``limit``: the messages posted, and why the rest was not. A part
    the page refuses was past a limit lower than assumed (where the page does not say its own):
    it and the rest are split at half that length and tried again."""
    pending = split_message(text, limit)
    posted = 0
    while pending:
        part = pending.pop(0)
        if await post(part):
            posted += 1
            continue
        if len(part) <= MIN_PART_CHARS:
            return posted, f"the page refused a {len(part)}-character message"
        limit = max(MIN_PART_CHARS, len(part) // 2)
        log.info("chat part refused: shorter parts", extra={"chars": len(part), "limit": limit})
        pending = split_message(" ".join([part, *pending]), limit)
    return posted, None
