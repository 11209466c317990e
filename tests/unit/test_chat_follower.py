"""The meeting's chat: each message once, the bot's own told apart; long posts split to the limit."""

from __future__ import annotations

import pytest

from bot.chat import ChatFollower, post_message, split_message
from core.payloads import ChatMessage
from platforms.base import ChatLine

pytestmark = pytest.mark.unit

T0 = 2_000_000.0


async def _none() -> list[ChatLine] | None:
    return None


def test_each_message_is_given_once_dated_when_it_first_showed() -> None:
    out: list[ChatMessage] = []
    chat = ChatFollower(_none, emit=out.append)
    chat.observe([ChatLine("m1", "Alice", "Hello all")], T0 + 3.0)
    chat.observe([ChatLine("m1", "Alice", "Hello all"), ChatLine("m2", None, "Recording on", from_bot=True)],
                 T0 + 4.0)
    chat.observe([ChatLine("m2", None, "Recording on", from_bot=True), ChatLine("m3", "Bob", "Hi")], T0 + 5.5)
    chat.observe([ChatLine("m1", "Alice", "Hello all")], T0 + 6.0)  # shown again: not new
    assert [(m.sender, m.text, m.at - T0, m.from_bot) for m in out] == [
        ("Alice", "Hello all", 3.0, False), (None, "Recording on", 4.0, True), ("Bob", "Hi", 5.5, False)]
    # The callback's list is the same, the bot's own marked.
    assert [(m.text, m.from_bot) for m in chat.messages] == [
        ("Hello all", False), ("Recording on", True), ("Hi", False)]


@pytest.mark.parametrize(("text", "limit", "parts"), [
    ("short", 10, ["short"]),
    ("one two three four", 9, ["one two", "three", "four"]),
    ("a " + "x" * 12, 5, ["a xxx", "xxxxx", "xxxx"]),  # no space in the last half: cut at the limit
    ("  spaced   out\n text ", 100, ["spaced out text"]),
])
def test_a_long_post_is_split_between_words_within_the_limit(text: str, limit: int, parts: list[str]) -> None:
    got = split_message(text, limit)
    assert got == parts
    assert all(len(p) <= limit for p in got)


async def test_a_page_that_refuses_a_part_gets_shorter_ones_and_the_whole_text() -> None:
    taken: list[str] = []

    async def page(part: str) -> bool:  # a limit of 120, said nowhere
        if len(part) > 120:
            return False
        taken.append(part)
        return True

    text = " ".join(f"word{i}" for i in range(80))  # 469 characters
    assert await post_message(page, text, 1000) == (len(taken), None)
    assert " ".join(taken) == text and all(len(p) <= 120 for p in taken)

    async def never(_part: str) -> bool:
        return False

    posted, why = await post_message(never, text, 1000)
    assert posted == 0 and why is not None and "refused" in why
