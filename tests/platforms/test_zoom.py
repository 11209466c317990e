"""The Zoom adapter against the simulator's Zoom variants: audio joined every way, stacked dialogs at
the end, every active-speaker layout, both clients."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from core.outcomes import Outcome
from tests.platforms.harness import drive, frame_errors

pytestmark = pytest.mark.browser

PEOPLE = [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}]
SPEECH = [{"speaker": "Alice", "at": 0.6, "text": "One two three four."},
          {"speaker": "Bob", "at": 2.6, "text": "Five six seven."}]


def meeting(zoom: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "platform": "zoom", "meeting_code": str(8_000_000_000 + secrets.randbelow(999_999_999)),
        "title": "Adapter test", "participants": PEOPLE, "lobby": {"mode": "ask", "admit_after": 0.5},
        "speech": SPEECH, "end": {"kind": "host_ended", "at": 5.0}, "zoom": zoom or {},
    }
    base.update(over)
    return base


@pytest.mark.parametrize("mode", ["dialog", "auto", "footer", "late_dialog"])
async def test_admission_is_reported_before_audio_is_joined(sim: Any, browser: Any, mode: str) -> None:
    run = await drive(sim, browser, meeting({"audio_join": mode, "audio_dialog_delay": 2.0}))
    truth = run.truth
    assert run.admitted is not None, run.refused
    assert truth["audio_join_mode"] == mode
    # Admission comes first, whatever computer audio still needs.
    assert 0 <= run.admitted.page_time - truth["admitted_at"] < 0.35, (run.admitted, truth["admitted_at"])
    assert truth["audio_joined_at"] is not None, "computer audio never joined"
    if mode == "auto":
        assert run.after_admission_s is not None and run.after_admission_s < 2.0, run.after_admission_s
    errors = frame_errors(run)
    assert errors and max(abs(e) for e in errors) < 0.15, errors


async def test_end_modal_over_another_dialog_still_ends_the_meeting(sim: Any, browser: Any) -> None:
    run = await drive(sim, browser, meeting({"end_over_dialog": True},
                                            dialogs=[{"kind": "recording_notice", "at": 1.0}]))
    assert run.ended is not None and run.ended.outcome is Outcome.MEETING_ENDED, run.ended
    assert run.ended_at is not None and run.ended_at - run.truth["ended_at"] < 1.5


@pytest.mark.parametrize("view", ["speaker", "gallery", "single"])
async def test_active_speaker_in_every_layout(sim: Any, browser: Any, view: str) -> None:
    run = await drive(sim, browser, meeting({"speaker_view": view}))
    assert run.truth["variants"]["speaker_view"] == view
    errors = frame_errors(run)  # Zoom keeps the last speaker in the frame: starts only
    assert errors and max(abs(e) for e in errors) < 0.15, errors


async def test_notices_are_closed_inside_their_own_dialog(sim: Any, browser: Any) -> None:
    run = await drive(sim, browser, meeting(dialogs=[{"kind": "recording_notice", "at": 0},
                                                     {"kind": "camera_not_detected", "at": 1.0}]))
    shown = run.truth["dialogs"]
    assert len(shown) == 2 and all(d["dismissed_at"] is not None for d in shown), shown
    assert run.ended is not None and run.ended.outcome is Outcome.MEETING_ENDED


async def test_classic_client_in_an_iframe_behind_overlays(sim: Any, browser: Any) -> None:
    run = await drive(sim, browser, meeting({"client": "classic", "iframe": True, "passcode": "abc123",
                                             "cookie_banner": True, "permission_dialog": True}))
    assert run.admitted is not None, run.refused
    assert run.truth["client"] == "classic" and run.truth["in_iframe"] is True
    assert run.truth["passcode_ok"] is True and run.truth["audio_joined_at"] is not None


@pytest.mark.parametrize(("zoom", "changes", "url_kw", "outcome"), [
    ({"passcode": "right1"}, {}, {"passcode": "wrong1"}, Outcome.PASSCODE_WRONG),
    ({"passcode": "right1"}, {}, {"passcode": ""}, Outcome.PASSCODE_REQUIRED),
    ({}, {"end": {"kind": "removed", "at": 2.0}}, {}, Outcome.REMOVED_BY_HOST),
    ({}, {"lobby": {"mode": "ask", "deny_after": 0.8}}, {}, Outcome.DENIED_ADMISSION),
    ({}, {"not_found": True}, {}, Outcome.MEETING_NOT_FOUND),
    ({"signin_required": True}, {}, {}, Outcome.LOGIN_REQUIRED),
    ({"bot_wall": True}, {}, {}, Outcome.BLOCKED_BY_PLATFORM),
])
async def test_endings(sim: Any, browser: Any, zoom: dict[str, Any], changes: dict[str, Any],
                       url_kw: dict[str, Any], outcome: Outcome) -> None:
    from simulator.scenario import load_scenario

    sc = meeting(zoom, **changes)
    url = load_scenario(sc).public_url("j", **url_kw)
    run = await drive(sim, browser, sc, url)
    got = run.ended.outcome if run.ended else run.refused.code if run.refused else None
    assert got is outcome, (run.ended, run.refused)
