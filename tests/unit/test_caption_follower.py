"""Following a page's captions: each utterance once, final, however the page rewrites its blocks."""

from __future__ import annotations

import pytest

from bot.captions import QUIET_SETTLE_S, SETTLE_S, CaptionFollower
from core.payloads import LiveUtterance
from platforms.base import CaptionBlock

pytestmark = pytest.mark.unit

T0 = 1_000_000.0


class Page:
    """The speaker turns the page showed (wall clock), and what the follower gave out."""

    def __init__(self, turns: list[tuple[str, float, float]]) -> None:
        self.turns = [(n, T0 + a, T0 + b) for n, a, b in turns]
        self.out: list[LiveUtterance] = []
        self.follower = CaptionFollower(self._read, emit=self.out.append, speakers=self._speakers,
                                        clock=lambda t: t - T0, source="captions:test")

    async def _read(self) -> list[CaptionBlock] | None:
        return []

    def _speakers(self, a: float, b: float) -> tuple[tuple[str, float, float], ...]:
        return tuple((n, max(s, a) - a, min(e, b) - a) for n, s, e in self.turns if s < b and e > a)

    def show(self, at: float, *blocks: tuple[str, str | None, str]) -> None:
        self.follower.observe([CaptionBlock(i, who, text) for i, who, text in blocks], T0 + at)


def test_a_growing_line_rewritten_in_place_is_given_once_when_it_settles() -> None:
    page = Page([("Alice", 1.0, 3.2)])
    page.show(1.6, ("b1", "Alice", "let's"))
    page.show(2.0, ("b1", "Alice", "let's review the"))
    page.show(2.6, ("b1", "Alice", "let's review the collars"))
    page.show(3.3, ("b1", "Alice", "let's review the colours"))
    page.show(3.9, ("b1", "Alice", "Let's review the colours."))
    assert page.out == []
    page.show(3.9 + QUIET_SETTLE_S / 2, ("b1", "Alice", "Let's review the colours."))
    assert page.out == []
    # Her turn is over (the page showed her stop at 3.2): a short settle is enough.
    page.show(3.9 + QUIET_SETTLE_S + 0.01, ("b1", "Alice", "Let's review the colours."))
    [u] = page.out
    assert (u.speaker, u.text, u.source) == ("Alice", "Let's review the colours.", "captions")
    assert (u.start, u.end) == (1.0, 3.2)  # the speaker's turn, not when the words showed
    page.show(9.0, ("b1", "Alice", "Let's review the colours."))
    assert len(page.out) == 1
    assert page.follower.lags == [pytest.approx(3.9 + QUIET_SETTLE_S + 0.01 - 3.2)]


def test_a_sentence_whose_speaker_goes_on_waits_the_longer_settle() -> None:
    page = Page([("Alice", 1.0, 10.0)])
    page.show(3.0, ("b1", "Alice", "First point."))
    page.show(3.0 + QUIET_SETTLE_S + 0.05, ("b1", "Alice", "First point."))
    assert page.out == []  # she is still speaking: a word may yet come in this block
    page.show(3.0 + SETTLE_S + 0.01, ("b1", "Alice", "First point."))
    assert [u.text for u in page.out] == ["First point."]


def test_a_nameless_line_is_said_by_who_spoke_and_a_line_taken_over_starts_anew() -> None:
    # Zoom: one line, an avatar for a speaker (no name), rewritten for the next utterance.
    page = Page([("Alice", 1.0, 2.5), ("Bob", 3.0, 4.4)])
    page.show(1.6, ("z", None, "good morning"))
    page.show(2.4, ("z", None, "good morning all"))
    page.show(3.6, ("z", None, "thanks"))  # Bob's words in Alice's line before it settled
    page.show(4.6, ("z", None, "thanks for coming"))
    page.show(4.9, ("z", None, "Thanks for coming."))
    page.show(4.9 + QUIET_SETTLE_S + 0.01, ("z", None, "Thanks for coming."))
    assert [(u.speaker, u.text, u.start, u.end) for u in page.out] == [
        ("Alice", "good morning all", 1.0, 2.5), ("Bob", "Thanks for coming.", 3.0, 4.4)]


def test_a_speakers_next_turn_in_the_same_block_is_an_utterance_of_its_own() -> None:
    page = Page([("Bob", 1.0, 2.5), ("Bob", 3.0, 4.5)])
    page.show(1.5, ("b1", "Bob", "First"))
    page.show(2.2, ("b1", "Bob", "First point."))
    page.show(3.4, ("b1", "Bob", "First point. Second"))  # within SETTLE_S of the last change
    page.show(4.8, ("b1", "Bob", "First point. Second point."))
    page.show(4.8 + SETTLE_S + 0.01, ("b1", "Bob", "First point. Second point."))
    assert [(u.text, u.start, u.end) for u in page.out] == [
        ("First point.", 1.0, 2.5), ("Second point.", 3.0, 4.5)]


def test_a_block_that_scrolls_away_is_given_as_last_seen_and_others_follow_in_order() -> None:
    page = Page([("Alice", 0.5, 2.0), ("Bob", 2.1, 4.0)])
    page.show(1.0, ("a", "Alice", "Good morning"))
    page.show(2.4, ("a", "Alice", "Good morning all."), ("b", "Bob", "Hi"))
    page.show(2.8, ("b", "Bob", "Hi there"))  # Alice's block scrolled out of the region
    assert [(u.speaker, u.text) for u in page.out] == [("Alice", "Good morning all.")]
    page.follower.finish()
    assert [(u.speaker, u.text) for u in page.out] == [("Alice", "Good morning all."), ("Bob", "Hi there")]
    assert page.follower.figures()["captions_utterances"] == 2


def test_words_are_spread_over_the_utterance_for_the_index() -> None:
    page = Page([("Alice", 2.0, 4.0)])
    page.show(2.5, ("a", "Alice", "one two three four"))
    page.follower.finish()
    assert [(w.text, w.start, w.end) for w in page.follower.spoken] == [
        ("one", 2.0, 2.5), ("two", 2.5, 3.0), ("three", 3.0, 3.5), ("four", 3.5, 4.0)]


def test_without_a_turn_the_words_are_timed_from_when_they_showed() -> None:
    page = Page([])
    page.show(5.0, ("a", None, "Someone says"))
    page.show(5.5, ("a", None, "Someone says this."))
    page.follower.finish()
    [u] = page.out
    assert (u.speaker, u.start, u.end) == (None, 5.0, 5.5)


def test_a_line_without_an_end_waits_longer_for_the_late_pass_that_punctuates_it() -> None:
    page = Page([("Bob", 1.0, 2.8)])
    page.show(2.0, ("b", "Bob", "the budget looks fine"))
    page.show(2.0 + SETTLE_S + 0.1, ("b", "Bob", "the budget looks fine"))
    assert page.out == []  # interim: no case, no full stop
    page.show(3.2, ("b", "Bob", "The budget looks fine."))
    page.show(3.2 + SETTLE_S + 0.01, ("b", "Bob", "The budget looks fine."))
    assert [u.text for u in page.out] == ["The budget looks fine."]
