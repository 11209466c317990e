"""The Google Meet adapter against the simulator's Meet variants: every way a signal is rendered."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from core.outcomes import Outcome
from tests.platforms.harness import drive, speech_errors

pytestmark = pytest.mark.browser

PEOPLE = [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}]
SPEECH = [{"speaker": "Alice", "at": 0.6, "text": "One two three four."},
          {"speaker": "Bob", "at": 2.6, "text": "Five six seven."}]


def code() -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    pick = lambda n: "".join(secrets.choice(letters) for _ in range(n))  # noqa: E731
    return f"{pick(3)}-{pick(4)}-{pick(3)}"


def meeting(**over: Any) -> dict[str, Any]:
    meet = over.pop("meet", {})
    base: dict[str, Any] = {
        "platform": "meet", "meeting_code": code(), "title": "Adapter test", "participants": PEOPLE,
        "lobby": {"mode": "ask", "admit_after": 0.5}, "speech": SPEECH,
        "end": {"kind": "host_ended", "at": 5.0}, "meet": meet,
    }
    base.update(over)
    return base


SHORT = {"speech": SPEECH[:1], "end": {"kind": "host_ended", "at": 2.5}}
"""For what neither speaking nor its timing decides: half the call."""


def assert_on_time(run: Any) -> None:
    truth = run.truth
    assert run.admitted is not None, run.refused
    # Admission is seen from the page, within a poll of the page showing it.
    assert 0 <= run.admitted.page_time - truth["admitted_at"] < 0.35, (run.admitted, truth["admitted_at"])
    starts, ends = speech_errors(run)
    assert max(abs(e) for e in starts) < 0.15, starts
    assert max(abs(e) for e in ends) < 0.15, ends
    assert run.ended is not None and run.ended.outcome is Outcome.MEETING_ENDED, run.ended
    assert run.ended_at is not None and run.ended_at - truth["ended_at"] < 1.5


@pytest.mark.parametrize("signal", ["class_tile", "class_child", "audio_level", "class_and_level"])
async def test_speaking_signal_variants(sim: Any, browser: Any, signal: str) -> None:
    cls = {"class_tile": "HX2H7", "class_child": "Oaajhc", "class_and_level": "OgVli"}.get(signal, "wEsLMd")
    run = await drive(sim, browser, meeting(meet={"speaking_signal": signal, "speaking_class": cls}))
    assert run.truth["variants"]["speaking_signal"] == signal
    assert_on_time(run)


@pytest.mark.parametrize(("dialogs", "label"), [
    ([{"kind": "recorded", "at": 0}], "early"),
    ([{"kind": "transcribed", "at": 2.0}], "late"),
    ([{"kind": "recorded", "at": 0}, {"kind": "gemini_notes", "at": 0}], "stacked"),
    ([{"kind": "others_see", "at": 1.0}, {"kind": "got_it", "at": 1.0}, {"kind": "mic_not_found", "at": 1.5}],
     "notices"),
])
async def test_dialogs_never_cost_an_observation(sim: Any, browser: Any, dialogs: list[dict[str, Any]],
                                                 label: str) -> None:
    run = await drive(sim, browser, meeting(dialogs=dialogs, lobby={"mode": "open"}))
    assert_on_time(run)
    shown = run.truth["dialogs"]
    assert sorted(d["kind"] for d in shown) == sorted(d["kind"] for d in dialogs), shown
    assert all(d["dismissed_at"] is not None for d in shown), (label, shown)


@pytest.mark.parametrize("join_label", ["Ask to join anyway", "Join here too", "Join now"])
async def test_join_button_phrasings(sim: Any, browser: Any, join_label: str) -> None:
    run = await drive(sim, browser, meeting(meet={"join_label": join_label}, **SHORT))
    assert run.admitted is not None, run.refused
    assert run.truth["joined_name"] == "Acme Notetaker" and run.truth["mic_on_at_join"] is False


@pytest.mark.parametrize("count_signal", ["avatar_count", "people_button", "tiles"])
async def test_participant_count_from_each_signal(sim: Any, browser: Any, count_signal: str) -> None:
    run = await drive(sim, browser, meeting(meet={"count_signal": count_signal}, **SHORT))
    assert run.counts() and run.counts()[-1] == 3, run.counts()


async def test_stuck_indicator_is_reported_as_the_page_shows_it(sim: Any, browser: Any) -> None:
    """The adapter reports what it sees: a stuck signal stays on (the worker's audio check cuts it)."""
    run = await drive(sim, browser, meeting(stuck_indicator=["Alice"]))
    alice = run.speaking()["Alice"]
    assert len(alice) == 1, alice
    assert alice[0][1] is None or alice[0][1] >= run.truth["ended_at"] - 0.2, alice
    assert run.truth["stuck"] and run.truth["stuck"][0]["name"] == "Alice"


@pytest.mark.parametrize(("changes", "outcome"), [
    ({"end": {"kind": "removed", "at": 2.0}}, Outcome.REMOVED_BY_HOST),
    ({"lobby": {"mode": "ask", "deny_after": 0.8}}, Outcome.DENIED_ADMISSION),
    ({"lobby": {"mode": "ask", "no_response_after": 0.8}}, Outcome.WAITING_ROOM_TIMEOUT),
    ({"not_found": True}, Outcome.MEETING_NOT_FOUND),
    ({"blocked": True}, Outcome.BLOCKED_BY_PLATFORM),
])
async def test_endings(sim: Any, browser: Any, changes: dict[str, Any], outcome: Outcome) -> None:
    run = await drive(sim, browser, meeting(**changes))
    got = run.ended.outcome if run.ended else run.refused.code if run.refused else None
    assert got is outcome, (run.ended, run.refused)
