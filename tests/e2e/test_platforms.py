"""Zoom and Teams end to end on the simulator: the join variants, the recording and timeline checks
made for Meet, and every outcome their pages can produce."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from callbacks.receiver import CallbackReceiver
from simulator.scenario import load_scenario
from tests.e2e.bot_run import BOT, check_recording, run_bot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

PEOPLE = [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"},
          {"name": "Carol", "voice": "en+f4"}]
SPEECH = [
    {"speaker": "Alice", "at": 1.5, "text": "Let us review the new design today."},
    {"speaker": "Bob", "at": 5.0, "text": "I like the colours a lot."},
    {"speaker": "Carol", "at": 8.5, "text": "The buttons are too small on phones."},
    {"speaker": "Alice", "at": 12.0, "text": "Good point, we will fix that."},
]


def zoom_id() -> str:
    return str(8_000_000_000 + secrets.randbelow(999_999_999))


def teams_code() -> str:
    return str(9_300_000_000_000 + secrets.randbelow(99_999_999_999))


def build(platform: str, code: str, options: dict[str, Any], **over: Any) -> Any:
    raw: dict[str, Any] = {
        "platform": platform, "meeting_code": code, "title": "Design review", "participants": PEOPLE,
        "lobby": {"mode": "ask", "admit_after": 1.5}, "speech": SPEECH,
        "end": {"kind": "host_ended", "at": 15.5}, platform: options,
    }
    raw.update(over)
    return load_scenario(raw)


async def record(simulator: Any, sc: Any, url: str, out: Path, *args: str) -> tuple[int, str, dict, dict]:
    await simulator.add_scenario(sc)
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, url, out, *args)
        await rx.wait_for(1, timeout=10)
    return rc, log, rx.received[-1].json(), simulator.truth(sc.meeting_code)


RECORDINGS = [
    ("zoom-launcher-react", "zoom", {"client": "react", "passcode": "s3cret1", "audio_dialog": True}, "j"),
    ("zoom-classic-iframe-wc", "zoom", {"client": "classic", "iframe": True, "passcode": "abc123",
                                        "cookie_banner": True, "permission_dialog": True}, "wc"),
    ("teams-meetup-class", "teams", {"continue_on_browser": True, "no_media_modal_again": True,
                                     "speaking_signal": "class"}, "meetup_join"),
    ("teams-live-meet-style", "teams", {"host": "teams.live.com", "passcode": "Pa55",
                                        "speaking_signal": "style", "lobby_text": "Waiting to be admitted"},
     "meet"),
]


@pytest.mark.parametrize(("platform", "options", "form"), [r[1:] for r in RECORDINGS],
                         ids=[r[0] for r in RECORDINGS])
async def test_records_end_to_end(simulator: Any, tmp_path: Path, platform: str,
                                  options: dict[str, Any], form: str) -> None:
    sc = build(platform, zoom_id() if platform == "zoom" else teams_code(), options)
    out = tmp_path / "rec"
    rc, log, body, truth = await record(simulator, sc, sc.public_url(form), out)
    assert rc == 0, log[-3000:]
    assert body["success"] is True and body["reason"] == "meeting_ended"
    assert truth["joined_name"] == BOT and truth["mic_on_at_join"] is False
    assert "in_waiting_room" in log
    if platform == "zoom":
        # Without joining computer audio Zoom plays the bot nothing.
        assert truth["audio_joined_at"] is not None
        assert all(s["audible"] for s in truth["speech"])
        assert truth["passcode_ok"] is True
    errors = check_recording(out, body, truth)
    print(f"{platform}/{form}: timeline start errors (s): {[round(e, 3) for e in errors]}")


# (id, platform, options, scenario changes, URL form, URL overrides, CLI args, exit, status, code)
Case = tuple[str, str, dict[str, Any], dict[str, Any], str, dict[str, Any], list[str], int, str, str]
OUTCOMES: list[Case] = [
    ("zoom-invalid", "zoom", {}, {"not_found": True}, "j", {}, [], 1, "failed", "meeting_not_found"),
    ("zoom-signin", "zoom", {"signin_required": True}, {}, "j", {}, [], 1, "failed", "login_required"),
    ("zoom-bot-wall", "zoom", {"bot_wall": True}, {}, "j", {}, [], 1, "failed", "blocked_by_platform"),
    ("zoom-passcode-wrong", "zoom", {"passcode": "right1"}, {}, "j", {"passcode": "wrong1"}, [], 1,
     "failed", "passcode_wrong"),
    ("zoom-passcode-missing", "zoom", {"passcode": "right1"}, {}, "j", {"passcode": ""}, [], 1,
     "failed", "passcode_required"),
    ("zoom-denied", "zoom", {}, {"lobby": {"mode": "ask", "deny_after": 1.5}}, "j", {}, [], 1,
     "failed", "denied_admission"),
    ("zoom-host-never-starts", "zoom", {"host_not_started": True},
     {"lobby": {"mode": "ask", "admit_after": None}}, "j", {}, ["--waiting-room-timeout", "2"], 1,
     "failed", "waiting_room_timeout"),
    ("zoom-removed", "zoom", {}, {"end": {"kind": "removed", "at": 3}}, "j", {}, [], 0, "done",
     "removed_by_host"),
    ("zoom-everyone-left", "zoom", {}, {"end": {"kind": "everyone_left", "at": 2}}, "j", {},
     ["--everyone-left-timeout", "2"], 0, "done", "everyone_left"),
    ("teams-login", "teams", {"login_required": True}, {}, "meetup_join", {}, [], 1, "failed",
     "login_required"),
    ("teams-captcha", "teams", {"captcha": True}, {}, "meetup_join", {}, [], 1, "failed",
     "blocked_by_platform"),
    ("teams-bad-url", "teams", {}, {"not_found": True}, "meetup_join", {}, [], 1, "failed",
     "meeting_not_found"),
    ("teams-denied", "teams", {}, {"lobby": {"mode": "ask", "deny_after": 1.5}}, "v2", {}, [], 1,
     "failed", "denied_admission"),
    ("teams-removed", "teams", {}, {"end": {"kind": "removed", "at": 3}}, "launcher", {}, [], 0,
     "done", "removed_by_host"),
    ("teams-ended", "teams", {}, {"end": {"kind": "host_ended", "at": 3}}, "meetup_join", {}, [], 0,
     "done", "meeting_ended"),
]


@pytest.mark.parametrize(
    ("platform", "options", "changes", "form", "url_kw", "args", "rc", "status", "code"),
    [c[1:] for c in OUTCOMES], ids=[c[0] for c in OUTCOMES])
async def test_outcome(simulator: Any, tmp_path: Path, platform: str, options: dict[str, Any],
                       changes: dict[str, Any], form: str, url_kw: dict[str, Any], args: list[str],
                       rc: int, status: str, code: str) -> None:
    base = {"lobby": {"mode": "open"}, "speech": SPEECH[:1], "end": {"kind": "none"}}
    sc = build(platform, zoom_id() if platform == "zoom" else teams_code(), options,
               **{**base, **changes})
    out = tmp_path / "rec"
    got_rc, log, body, _ = await record(simulator, sc, sc.public_url(form, **url_kw), out, *args)
    assert (got_rc, body["status"], body["reason"]) == (rc, status, code), log[-2500:]
    if status == "failed":
        assert body["error_code"] == code and body["error"]
    assert f"reason={code}" in log
