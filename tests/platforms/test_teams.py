"""The Teams adapter against the simulator's Teams variants: the speaking outline rendered every way,
both end screens, popups, count signals."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from core.outcomes import Outcome
from tests.platforms.harness import drive, speech_errors

pytestmark = pytest.mark.browser

PEOPLE = [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}]
SPEECH = [{"speaker": "Alice", "at": 0.6, "text": "One two three four."},
          {"speaker": "Bob", "at": 2.6, "text": "Five six seven."},
          {"speaker": "Alice", "at": 4.4, "text": "Eight nine."}]


def meeting(teams: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "platform": "teams", "meeting_code": str(9_300_000_000_000 + secrets.randbelow(99_999_999_999)),
        "title": "Adapter test", "participants": PEOPLE, "lobby": {"mode": "ask", "admit_after": 0.5},
        "speech": SPEECH, "end": {"kind": "host_ended", "at": 6.5}, "teams": teams or {},
    }
    base.update(over)
    return base


SHORT = {"speech": SPEECH[:1], "end": {"kind": "host_ended", "at": 3.0}}
"""For what neither speaking nor its timing decides: half the call."""


@pytest.mark.parametrize("signal", ["class", "style", "aria", "class_transparent", "pseudo"])
async def test_speaking_outline_variants(sim: Any, browser: Any, signal: str) -> None:
    run = await drive(sim, browser, meeting({"speaking_signal": signal}))
    assert run.truth["variants"]["speaking_signal"] == signal
    assert run.admitted is not None, run.refused
    starts, ends = speech_errors(run)
    # Every turn switches on and off where the page switched it: a fallback never keeps a speaker
    # on after the page said off (class removed and a transparent border left behind).
    assert max(abs(e) for e in starts) < 0.15, (signal, starts)
    assert max(abs(e) for e in ends) < 0.15, (signal, ends)
    assert sum(len(t) for t in run.speaking().values()) == len(SPEECH), run.speaking()


@pytest.mark.parametrize("end_screen", ["rejoin", "post_meeting_url"])
async def test_end_screens(sim: Any, browser: Any, end_screen: str) -> None:
    run = await drive(sim, browser, meeting({"end_screen": end_screen}, **SHORT))
    assert run.ended is not None and run.ended.outcome is Outcome.MEETING_ENDED, run.ended
    assert run.ended_at is not None and run.ended_at - run.truth["ended_at"] < 1.5


@pytest.mark.parametrize("count_signal", ["badge", "tiles"])
async def test_count_from_badge_or_tiles(sim: Any, browser: Any, count_signal: str) -> None:
    run = await drive(sim, browser, meeting({"count_signal": count_signal}, **SHORT))
    assert run.counts() and run.counts()[-1] == 3, run.counts()


async def test_popups_are_closed_and_cost_nothing(sim: Any, browser: Any) -> None:
    run = await drive(sim, browser, meeting({"no_media_modal": True, "no_media_modal_again": True},
                                            dialogs=[{"kind": "recording_notice", "at": 0},
                                                     {"kind": "teaching_bubble", "at": 1.5}]))
    assert run.admitted is not None, run.refused
    shown = run.truth["dialogs"]
    assert len(shown) == 2 and all(d["dismissed_at"] is not None for d in shown), shown
    starts, _ = speech_errors(run)
    assert max(abs(e) for e in starts) < 0.15, starts


@pytest.mark.parametrize(("teams", "changes", "outcome"), [
    ({}, {"end": {"kind": "removed", "at": 2.0}}, Outcome.REMOVED_BY_HOST),
    ({}, {"lobby": {"mode": "ask", "deny_after": 0.8}}, Outcome.DENIED_ADMISSION),
    ({"login_required": True}, {}, Outcome.LOGIN_REQUIRED),
    ({"captcha": True}, {}, Outcome.BLOCKED_BY_PLATFORM),
    ({}, {"not_found": True}, Outcome.MEETING_NOT_FOUND),
])
async def test_endings(sim: Any, browser: Any, teams: dict[str, Any], changes: dict[str, Any],
                       outcome: Outcome) -> None:
    run = await drive(sim, browser, meeting(teams, **changes))
    got = run.ended.outcome if run.ended else run.refused.code if run.refused else None
    assert got is outcome, (run.ended, run.refused)
