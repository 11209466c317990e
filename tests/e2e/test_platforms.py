"""Zoom and Teams end to end on the simulator: the join variants, the recording and timeline checks
made for Meet, and every outcome their pages can produce."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from callbacks.receiver import CallbackReceiver
from simulator.scenario import load_scenario
from tests.e2e.bot_run import BOT, NO_SELFTEST, check_recording, run_bot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

PEOPLE = [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"},
          {"name": "Carol", "voice": "en+f4"}]
SPEECH = [
    {"speaker": "Alice", "at": 1.0, "text": "Let us review the new design today."},
    {"speaker": "Bob", "at": 3.9, "text": "I like the colours a lot."},
    {"speaker": "Carol", "at": 6.1, "text": "The buttons are too small on phones."},
    {"speaker": "Alice", "at": 8.9, "text": "Good point, we will fix that."},
]


def zoom_id() -> str:
    return str(8_000_000_000 + secrets.randbelow(999_999_999))


def teams_code() -> str:
    return str(9_300_000_000_000 + secrets.randbelow(99_999_999_999))


def build(platform: str, code: str, options: dict[str, Any], **over: Any) -> Any:
    raw: dict[str, Any] = {
        "platform": platform, "meeting_code": code, "title": "Design review", "participants": PEOPLE,
        "lobby": {"mode": "ask", "admit_after": 1.5}, "speech": SPEECH,
        "end": {"kind": "host_ended", "at": 12.3}, platform: options,
    }
    raw.update(over)
    return load_scenario(raw)


async def record(simulator: Any, sc: Any, url: str, out: Path, *args: str,
                 env: dict[str, str] | None = None) -> tuple[int, str, dict, dict]:
    await simulator.add_scenario(sc)
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, url, out, *args, env=env)
        await rx.wait_for(1, timeout=10)
    body = rx.received[-1].json()
    body["_received_at"] = rx.received[-1].at
    return rc, log, body, simulator.truth(sc.meeting_code)


# Carol's signal sticks after her turn; 3.8 s of silence follow it before Alice speaks again.
STUCK_SPEECH = [*SPEECH[:3], {"speaker": "Alice", "at": 12.1, "text": "Good point, we will fix that."}]
# The platform x variant matrix: each documented and plausible rendering of the signals the
# adapters rely on, written in the simulator from the reference, recorded end to end. Each entry
# also plays its participants on one of the audio paths pages use (scenario ``audio_path``; the
# default is WebAudio), so every path is recorded on two platforms or more.
# (id, platform, platform options, scenario changes, URL form)
MATRIX: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("meet-join-now-dialogs", "meet", {"speaking_signal": "class_child"},
     {"lobby": {"mode": "open"}, "audio_path": "webrtc_element", "signal_lag_ms": 150, "signal_hold_ms": 400,
      "dialogs": [{"kind": "recorded", "at": 0}, {"kind": "transcribed", "at": 6}]}, "meet"),
    ("meet-audio-level-stuck", "meet", {"speaking_signal": "audio_level"},
     {"stuck_indicator": ["Carol"], "speech": STUCK_SPEECH, "end": {"kind": "host_ended", "at": 15.6},
      "audio_path": "element_stream"},
     "meet"),
    ("zoom-dialog-react-launcher", "zoom",
     {"client": "react", "passcode": "s3cret1", "audio_join": "dialog"},
     {"audio_path": "webrtc_webaudio"}, "j"),
    # Sound from admission on: the first words come soon after the recorder starts (a speaker is
    # shown from admission, so only the sound places the turn's start).
    ("zoom-auto-audio-react", "zoom", {"client": "react", "audio_join": "auto"},
     {"speech": [{**SPEECH[0], "at": 0.6}, {**SPEECH[1], "at": 4.0}, *SPEECH[2:]],
      "audio_path": "webaudio_playback"}, "wc"),
    ("zoom-auto-audio-classic", "zoom", {"client": "classic", "audio_join": "auto"},
     {"speech": [{**SPEECH[0], "at": 0.45}, {**SPEECH[1], "at": 4.0}, *SPEECH[2:]],
      "audio_path": "element_file"}, "wc_classic"),
    ("zoom-late-dialog-gallery", "zoom", {"audio_join": "late_dialog", "audio_dialog_delay": 2.0,
                                          "speaker_view": "gallery"},
     {"speech": [{**SPEECH[0], "at": 1.5}, {**SPEECH[1], "at": 4.3}, {**SPEECH[2], "at": 6.6},
                 {**SPEECH[3], "at": 9.4}], "signal_lag_ms": 300}, "j"),
    ("zoom-footer-single-iframe", "zoom", {"client": "classic", "iframe": True, "audio_join": "footer",
                                           "speaker_view": "single", "cookie_banner": True,
                                           "permission_dialog": True, "passcode": "abc123"},
     {"audio_path": "webrtc_element"}, "wc"),
    ("zoom-end-over-dialog", "zoom", {"end_over_dialog": True},
     {"dialogs": [{"kind": "recording_notice", "at": 1.0}], "audio_path": "element_stream"}, "j"),
    ("teams-class", "teams", {"speaking_signal": "class", "no_media_modal_again": True},
     {"audio_path": "webrtc_element", "signal_lag_ms": 250, "signal_hold_ms": 600}, "meetup_join"),
    ("teams-style-live", "teams", {"host": "teams.live.com", "passcode": "Pa55", "speaking_signal": "style",
                                   "lobby_text": "Waiting to be admitted"},
     {"audio_path": "element_stream"}, "meet"),
    ("teams-class-transparent", "teams", {"speaking_signal": "class_transparent"},
     {"speech": [*SPEECH, {"speaker": "Bob", "at": 11.6, "text": "Yes."}],
      "end": {"kind": "host_ended", "at": 13.4}, "audio_path": "webrtc_webaudio"}, "v2"),
    ("teams-aria-post-meeting", "teams", {"speaking_signal": "aria", "end_screen": "post_meeting_url"},
     {"dialogs": [{"kind": "recording_notice", "at": 0}], "audio_path": "element_file"}, "launcher"),
    ("teams-pseudo-popup", "teams", {"speaking_signal": "pseudo", "count_signal": "tiles"},
     {"dialogs": [{"kind": "teaching_bubble", "at": 2.0}], "audio_path": "webaudio_playback"},
     "meetup_join"),
]


def meet_code() -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    pick = lambda n: "".join(secrets.choice(letters) for _ in range(n))  # noqa: E731
    return f"{pick(3)}-{pick(4)}-{pick(3)}"


@pytest.mark.parametrize(("platform", "options", "changes", "form"), [m[1:] for m in MATRIX],
                         ids=[m[0] for m in MATRIX])
async def test_records_every_variant(simulator: Any, tmp_path: Path, platform: str,
                                     options: dict[str, Any], changes: dict[str, Any], form: str) -> None:
    code = {"zoom": zoom_id, "teams": teams_code, "meet": meet_code}[platform]()
    sc = build(platform, code, options, **changes)
    out = tmp_path / "rec"
    rc, log, body, truth = await record(simulator, sc, sc.public_url(form), out)
    assert rc == 0, log[-3000:]
    assert body["success"] is True and body["reason"] == "meeting_ended", body
    assert truth["joined_name"] == BOT and truth["mic_on_at_join"] is False
    if platform == "zoom":
        # Without computer audio Zoom plays the bot nothing.
        assert truth["audio_joined_at"] is not None
        assert all(s["audible"] for s in truth["speech"]), truth["speech"]
    stuck = set(sc.stuck_indicator)
    errors = check_recording(out, body, truth, ends_observable=platform != "zoom", stuck=stuck)
    if stuck:
        assert any("stuck" in w for w in body["warnings"]), body["warnings"]
    for d in truth.get("dialogs", []):
        assert d["dismissed_at"] is not None or d["shown_at"] >= truth["ended_at"] - 1, d
    # The sound's lateness was measured for this recording and taken out of it.
    assert body["av_correction_ms"] > 0 and body["av_offset_ms"] is not None, body
    # Recording starts at admission, whatever else is left to do.
    stats = json.loads((out / "stats.json").read_text())
    first_frame = stats["timings"]["admission_to_first_frame_s"]
    assert 0 < first_frame < 1.0, stats["timings"]
    assert body["recording_started_at"] - truth["admitted_at"] < 1.0
    # The bot saw what the page plays through, and followed a context's own output latency.
    timings, path = stats["timings"], sc.audio_path
    # PulseAudio's word on the sound's wait in the sink: Chromium's streams, not the keep-alive's
    # second of zeros.
    assert 0 < timings["av_sink_latency_ms"] < 300 and 0 < timings["sink_latency_median_ms"] < 300, timings
    seen = {k.removeprefix("page_audio_"): v for k, v in timings.items() if k.startswith("page_audio_")}
    if path.startswith("webrtc"):
        assert seen.get("receivers", 0) >= 1 and seen.get("jitter_buffer_ms", 0) > 0, seen
        if path == "webrtc_element":
            assert seen.get("elements_remote", 0) >= 1, seen
    elif path.startswith("element"):
        assert seen.get(f"elements_{path.removeprefix('element_')}", 0) >= 1, seen
        assert not seen.get("elements_remote"), seen
    else:
        assert seen.get("contexts", 0) >= 1 and not seen.get("elements_stream"), seen
    if "av_page_path_adjust_ms" in timings and path in ("webaudio", "webaudio_playback"):
        # A playback context reports ~30 ms more than the self-test's interactive one.
        adjust = timings["av_page_path_adjust_ms"]
        assert (adjust > 10) if path == "webaudio_playback" else (abs(adjust) < 15), timings
    if path == "element_stream" and "av_sound_late_ms" in timings:
        # The self-test's own <audio> with a MediaStream came later than its context.
        assert timings.get("av_page_path_adjust_ms", 0) > 10, timings
    # The end is noticed and reported promptly, dialogs or not.
    callback_delay = body["_received_at"] - truth["ended_at"]
    assert callback_delay < 8.0, callback_delay
    print(f"{platform}/{options}: admission->first frame {first_frame:.3f} s, start errors "
          f"{[round(e, 3) for e in errors]}, end->callback {callback_delay:.2f} s")


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
    got_rc, log, body, _ = await record(simulator, sc, sc.public_url(form, **url_kw), out, *args,
                                        env=NO_SELFTEST)
    assert (got_rc, body["status"], body["reason"]) == (rc, status, code), log[-2500:]
    if status == "failed":
        assert body["error_code"] == code and body["error"]
    assert f"reason={code}" in log
