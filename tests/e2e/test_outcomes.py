"""Every way a job can end that a meeting page can produce: told apart by code and status.

Each case runs the real `meetbot run` against a simulated meeting and reads the callback the
receiver got on its socket.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from callbacks.receiver import CallbackReceiver
from core.settings import Settings
from media.hls import segment_durations
from simulator.measure import audio_samples
from tests.e2e.bot_run import NO_SELFTEST
from tests.e2e.test_meet_recording import run_bot, scenario

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

FAST = {"lobby": {"mode": "open"}, "consent_dialog": False, "speech": [],
        "end": {"kind": "none"}}
SPEAK = [{"speaker": "Alice", "at": 0.5, "text": "Hello there."}]


def after_admission(simulator: Any, meeting_code: str, after: float,
                    act: Callable[[Any], None]) -> Callable[[Any], Awaitable[None]]:
    """An ``on_start`` hook for run_bot: ``act(bot process)`` ``after`` seconds past admission."""
    async def on_start(proc: Any) -> None:
        async def later() -> None:
            await simulator.wait_for_event(meeting_code, "admitted", timeout=60)
            await asyncio.sleep(after)
            act(proc)
        asyncio.get_running_loop().create_task(later())
    return on_start


def listed_seconds(out: Path) -> float:
    """What the playlists under ``out`` list so far, in seconds (their segments' EXTINF)."""
    return sum(sum(segment_durations(pl).values()) for pl in out.rglob("*.m3u8"))


def once_stored(simulator: Any, meeting_code: str, out: Path, act: Callable[[Any], None],
                stored: list[float]) -> Callable[[Any], Awaitable[None]]:
    """An ``on_start`` hook for run_bot: ``act(bot process)`` as soon as a playlist under ``out``
    lists the recording's first segment (a clock past admission guesses it: under load the
    recorder's first frame comes later and the first segment with it); ``stored`` gets what was
    listed just before the act (under load a first segment may be longer than the segment time)."""
    async def on_start(proc: Any) -> None:
        async def later() -> None:
            await simulator.wait_for_event(meeting_code, "admitted", timeout=60)
            for _ in range(1200):  # the files are polled: nothing in the bot signals them to us
                if listed_seconds(out) > 0:
                    break
                await asyncio.sleep(0.05)
            stored.append(listed_seconds(out))
            act(proc)
        asyncio.get_running_loop().create_task(later())
    return on_start


def killer(simulator: Any, meeting_code: str, after: float | None,
           pick: Callable[[psutil.Process], bool],
           out: Path | None = None,
           stored: list[float] | None = None) -> tuple[Callable[[Any], Awaitable[None]], list[float]]:
    """An ``on_start`` hook for run_bot that SIGKILLs the bot's descendants ``pick`` chooses,
    ``after`` seconds past admission (None: once the first segment is stored in ``out``, what
    was listed then into ``stored``); the list gets the time of each kill."""
    killed: list[float] = []

    def kill(proc: Any) -> None:
        for p in psutil.Process(proc.pid).children(recursive=True):
            if pick(p):
                p.kill()
                killed.append(time.time())
    if after is None:
        assert out is not None and stored is not None
        return once_stored(simulator, meeting_code, out, kill, stored), killed
    return after_admission(simulator, meeting_code, after, kill), killed

# (id, scenario changes, extra CLI args, exit code, status, code)
CASES: list[tuple[str, dict[str, Any], list[str], int, str, str]] = [
    ("not_found", {"not_found": True}, [], 1, "failed", "meeting_not_found"),
    ("blocked", {"blocked": True}, [], 1, "failed", "blocked_by_platform"),
    ("meet_lobby_expired", {"lobby": {"mode": "ask", "no_response_after": 1.5}}, [], 1, "failed",
     "waiting_room_timeout"),
    ("our_lobby_timeout", {"lobby": {"mode": "ask", "admit_after": None}},
     ["--waiting-room-timeout", "2"], 1, "failed", "waiting_room_timeout"),
    ("host_ended", {"speech": SPEAK, "end": {"kind": "host_ended", "at": 3}}, [], 0, "done",
     "meeting_ended"),
    ("removed", {"speech": SPEAK, "end": {"kind": "removed", "at": 3}}, [], 0, "done",
     "removed_by_host"),
    ("everyone_left", {"speech": SPEAK, "end": {"kind": "everyone_left", "at": 2}},
     ["--everyone-left-timeout", "2"], 0, "done", "everyone_left"),
    ("noone_joined", {"participants": []}, ["--noone-joined-timeout", "3"], 1, "failed",
     "noone_joined_timeout"),
    ("silence", {}, ["--silence-timeout", "3"], 0, "done", "silence_timeout"),
    ("max_duration", {"speech": SPEAK}, ["--max-duration", "3"], 0, "done", "max_duration_reached"),
]


@pytest.mark.parametrize(("changes", "args", "rc", "status", "code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_meet_outcome(simulator: Any, meeting_code: str, tmp_path: Path, changes: dict[str, Any],
                            args: list[str], rc: int, status: str, code: str) -> None:
    await simulator.add_scenario(scenario(meeting_code, **{**FAST, **changes}))
    out = tmp_path / "rec"
    async with CallbackReceiver() as rx:
        got_rc, log = await run_bot(simulator, rx, meeting_code, out, *args, env=NO_SELFTEST)
        await rx.wait_for(1, timeout=10)
    body = rx.received[-1].json()
    assert (got_rc, body["status"], body["reason"]) == (rc, status, code), log[-2500:]
    assert body["success"] is (status == "done")
    if status == "failed":
        assert body["error_code"] == code and body["error"]
    # A job that recorded anything hands it over, whatever the outcome.
    recorded = (out / "recording.mp4").exists()
    assert recorded == ("data" in body)
    if code in {"meeting_ended", "removed_by_host", "everyone_left", "silence_timeout",
                "max_duration_reached", "noone_joined_timeout"}:
        assert recorded
    assert f"reason={code}" in log


async def test_unsupported_url_fails_before_starting_anything(tmp_path: Path, simulator: Any) -> None:
    out = tmp_path / "rec"
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, "x", out, "--meeting-url", "https://example.com/call/1")
        await rx.wait_for(1, timeout=10)
    body = rx.received[0].json()
    assert rc == 1 and body["error_code"] == "invalid_meeting_url"
    assert "display started" not in log
    assert json.loads((out / "result.json").read_text()) == body


async def test_browser_failure_is_an_internal_error_with_a_callback(tmp_path: Path, simulator: Any,
                                                                     meeting_code: str) -> None:
    await simulator.add_scenario(scenario(meeting_code, **FAST))
    out = tmp_path / "rec"
    async with CallbackReceiver() as rx:
        rc, _ = await run_bot(simulator, rx, meeting_code, out,
                              env={"MEETBOT_CHROMIUM_PATH": "/nonexistent/chromium"})
        await rx.wait_for(1, timeout=10)
    body = rx.received[0].json()
    assert rc == 1 and body["error_code"] == "internal_error" and "Chromium" in body["error"]


def test_malformed_job_exits_2_with_the_problem_named(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import meetbot_cmd

    job = tmp_path / "job.json"
    job.write_text(json.dumps({"meeting_url": "https://meet.google.com/abc-defg-hij", "max_duration": "x"}))
    proc = subprocess.run([*meetbot_cmd(), "run", "--job", str(job)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "max_duration" in proc.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 320 KB filesystem (tmpfs) for the output: room for a few segments only."""
    import subprocess

    mount = tmp_path / "rec"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_stops_the_recording_and_keeps_what_was_stored(
        tmp_path: Path, simulator: Any, meeting_code: str, small_disk: Path) -> None:
    talk = [{"speaker": "Alice", "at": 0.5 + 4 * i, "text": "Hello there, this is a long meeting."}
            for i in range(10)]
    await simulator.add_scenario(scenario(meeting_code, **{**FAST, "speech": talk}))
    out = small_disk  # the bot's log goes beside it, on the big disk
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, meeting_code, out, env=NO_SELFTEST)
        await rx.wait_for(1, timeout=10)
    body = rx.received[0].json()
    assert rc == 1 and body["status"] == "failed" and body["error_code"] == "storage_error", log[-3000:]
    assert "the store is full" in body["error"], body["error"]
    assert any("recording.mp4 was not stored" in w for w in body["warnings"]), body["warnings"]
    # What fitted is stored, listed and playable: the last playlist lists only stored segments.
    playlist = out / "hls" / "playlist.m3u8"
    names = [ln for ln in playlist.read_text().splitlines() if ln and not ln.startswith("#")]
    assert names and all((out / "hls" / n).is_file() for n in names), names
    assert body["data"]["stream_url"] == playlist.as_uri() and body["recording_url"] is None
    assert 2 <= len(names) <= 10, names
    truth = simulator.truth(meeting_code)
    assert truth["left_at"] is not None, "the bot left the call when it stopped"
    assert truth["left_at"] - truth["admitted_at"] < 30, "it stopped at the first refused segment"


async def test_a_renderer_crash_mid_meeting_is_reported_with_the_recording_so_far(
        tmp_path: Path, simulator: Any, meeting_code: str) -> None:
    """Chromium's renderer SIGKILLed 4 s into the call (as the OOM killer would): the bot notices
    at once, not as the meeting's end, and reports failed with what it had recorded."""
    talk = [{"speaker": "Alice", "at": 0.5 + 3 * i, "text": "Hello there, this is a long meeting."}
            for i in range(10)]
    await simulator.add_scenario(scenario(meeting_code, **{**FAST, "speech": talk}))
    out = tmp_path / "rec"
    crash_renderer, killed = killer(
        simulator, meeting_code, 4, lambda p: "--type=renderer" in " ".join(p.cmdline())
        and "--extension-process" not in " ".join(p.cmdline()))

    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, meeting_code, out, on_start=crash_renderer, env=NO_SELFTEST)
        await rx.wait_for(1, timeout=10)
        reported = rx.received[0].at
    body = rx.received[0].json()
    assert killed, log[-2000:]
    assert rc == 1 and body["status"] == "failed" and body["error_code"] == "internal_error", log[-3000:]
    assert "crash" in body["error"].lower(), body["error"]
    assert body["data"] and body["recording_url"], "what was recorded before the crash is kept"
    assert 2.5 < body["duration"] < 8, body["duration"]
    print(f"renderer killed -> callback: {reported - killed[0]:.1f} s")
    assert reported - killed[0] < 20


@pytest.mark.parametrize("after", [1.0, None], ids=["before-first-segment", "after-first-segment"])
async def test_ffmpeg_killed_mid_meeting_is_restarted_and_the_meeting_recorded_around_the_gap(
        tmp_path: Path, simulator: Any, meeting_code: str, after: float | None) -> None:
    """The recorder SIGKILLed 1 s into the call (before its first segment) or once its first
    segment is stored (OOM killer, a crash): the bot starts a new span at once and records the
    rest; the gap is in the callback's pauses (or, before the first segment, before the
    recording's start) and its warnings."""
    talk = [{"speaker": "Alice", "at": 0.5, "text": "Hello there, this is the first turn."},
            {"speaker": "Bob", "at": 6.0, "text": "And this is the second turn."}]
    await simulator.add_scenario(scenario(meeting_code, **{
        **FAST, "speech": talk, "end": {"kind": "host_ended", "at": 10.0}}))
    out = tmp_path / "rec"
    stored: list[float] = []
    kill_ffmpeg, killed = killer(simulator, meeting_code, after,
                                 lambda p: p.name() == "ffmpeg" and "x11grab" in p.cmdline(), out, stored)

    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, meeting_code, out, on_start=kill_ffmpeg, env=NO_SELFTEST)
        await rx.wait_for(1, timeout=10)
    body = rx.received[0].json()
    truth = simulator.truth(meeting_code)
    assert killed, log[-2000:]
    assert rc == 0 and body["status"] == "done" and body["reason"] == "meeting_ended", log[-3000:]
    assert any("recorder stopped" in w for w in body["warnings"]), body["warnings"]
    in_call = truth["ended_at"] - truth["admitted_at"]
    if after is not None:  # nothing stored yet: the recording starts with the new span
        assert body["pauses"] == [], body["pauses"]
        late = body["recording_started_at"] - truth["admitted_at"]
        assert 0.8 < late < 4.0 and abs(body["duration"] + late - in_call) < 1.5, (late, body["duration"])
    else:
        [gap] = body["pauses"]
        # The killed span keeps its finished segments (what was listed at the kill, and one more
        # if it finished between our look and the kill): the gap starts at their end and lasts
        # until the new span's first frame, what the killed one had not stored included.
        assert stored[0] >= 1.5 and stored[0] - 0.1 <= gap["at"] <= stored[0] + 2.5, (gap, stored)
        assert 0.3 < gap["duration"] < 4.0, gap
        assert abs(body["duration"] + gap["duration"] - in_call) < 1.5, (body["duration"], gap, in_call)
    assert [s["speaker_name"] for s in body["data"]["speaker_timeline"]] == ["Alice", "Bob"]


@pytest.mark.parametrize("victim", ["browser", "display"])
async def test_a_browser_or_display_killed_mid_meeting_is_a_failure_not_the_meetings_end(
        tmp_path: Path, simulator: Any, meeting_code: str, victim: str) -> None:
    """Chromium's browser process, or the Xvfb it draws on, SIGKILLed 4 s into the call: the page
    is gone, but the meeting did not end. failed/internal_error with the recording so far (the
    faults benchmark had both as done/meeting_ended)."""
    talk = [{"speaker": "Alice", "at": 0.5 + 3 * i, "text": "Hello there, this is a long meeting."}
            for i in range(10)]
    await simulator.add_scenario(scenario(meeting_code, **{**FAST, "speech": talk}))
    out = tmp_path / "rec"
    def is_victim(p: psutil.Process) -> bool:
        if victim == "display":
            return p.name() == "Xvfb"
        return "chrom" in p.name() and not any(a.startswith("--type=") for a in p.cmdline())

    kill, killed = killer(simulator, meeting_code, 4, is_victim)

    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, meeting_code, out, on_start=kill, env=NO_SELFTEST)
        await rx.wait_for(1, timeout=15)
    body = rx.received[0].json()
    assert killed, log[-2000:]
    assert rc == 1 and body["status"] == "failed" and body["error_code"] == "internal_error", log[-3000:]
    assert body["data"] and body["recording_url"], "what was recorded before is kept"
    assert 2.5 < body["duration"] < 8, body["duration"]


async def test_pulseaudio_killed_mid_meeting_the_sound_comes_back(
        tmp_path: Path, simulator: Any, meeting_code: str) -> None:
    """The shared PulseAudio daemon SIGKILLed 3 s into the call (it crashed, or someone restarted
    it): ffmpeg ends, the bot's sink is gone and Chromium suspends the page's audio. The bot starts
    the daemon again (its pid file stays behind, held by a zombie where PID 1 does not reap), makes
    its sink again, starts the page's audio again and records on: the second turn is heard."""
    talk = [{"speaker": "Alice", "at": 0.5, "text": "Hello there, this is the first turn."},
            {"speaker": "Bob", "at": 6.0, "text": "And this is the second turn of the call."}]
    await simulator.add_scenario(scenario(meeting_code, **{
        **FAST, "speech": talk, "end": {"kind": "host_ended", "at": 10.0}}))
    out = tmp_path / "rec"
    pid_file = Settings().pulse_runtime_path / "pid"
    killed: list[float] = []

    def kill_daemon(_bot: Any) -> None:  # not the bot's child: the daemon is shared
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        killed.append(time.time())
    kill_pulse = after_admission(simulator, meeting_code, 3.0, kill_daemon)

    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, meeting_code, out, on_start=kill_pulse, env=NO_SELFTEST)
        await rx.wait_for(1, timeout=10)
    body = rx.received[0].json()
    assert killed, log[-2000:]
    assert rc == 0 and body["status"] == "done" and body["reason"] == "meeting_ended", log[-3000:]
    assert any("PulseAudio restarted" in w for w in body["warnings"]), body["warnings"]
    [gap] = body["pauses"]
    assert 1.5 <= gap["at"] <= 4.5 and gap["duration"] < 4.0, gap
    assert [s["speaker_name"] for s in body["data"]["speaker_timeline"]] == ["Alice", "Bob"]
    # Bob's turn, after the restart, is in the recording's sound: not a silent rest of the call.
    start, samples = audio_samples(out / "recording.mp4")
    after = samples[int((gap["at"] + 0.5 - start) * 48000):]
    assert max(abs(v) for v in after) > 3000, "no sound after PulseAudio restarted"
