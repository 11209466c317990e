"""The audio service's hand-off to PulseAudio runs on the real-time scheduler, as Chromium runs its
renderers' audio threads: read from the kernel (/proc and sched_getscheduler), on a real Chromium
playing a tone, with the setting off as the control."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.audio_threads import AUDIO_SERVICE, THREAD_NAMES, browser_pid
from tests.recorder.bot_media import bot_media

pytestmark = pytest.mark.media

_TONE = """async () => {
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.connect(ctx.destination);
  osc.start();
  await ctx.resume();
  window.__ctx = ctx;
}"""


def policies(profile: str) -> dict[str, list[int]]:
    """Each thread of the browser's audio service: its name -> the scheduling policies."""
    browser = browser_pid(profile)
    assert browser is not None
    out: dict[str, list[int]] = {}
    for pid in os.listdir("/proc"):
        try:
            if not pid.isdigit() or AUDIO_SERVICE not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] != browser:
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                out.setdefault(name, []).append(os.sched_getscheduler(int(tid)))
        except OSError:
            continue
    return out


async def _threads_while_playing(tmp: Path, realtime: bool) -> dict[str, list[int]]:
    async with bot_media(tmp, realtime_audio=realtime) as m:
        assert m.browser.page is not None and m.browser.profile is not None
        await m.browser.page.evaluate(_TONE)
        seen: dict[str, list[int]] = {}
        for _ in range(50):
            await asyncio.sleep(0.2)
            seen = policies(m.browser.profile)
            handing = [p for name, ps in seen.items() if name in THREAD_NAMES for p in ps]
            if handing and (not realtime or os.SCHED_RR in handing):
                break
        if realtime:
            assert m.browser.audio_threads is not None and m.browser.audio_threads.raised >= 1
        return seen


async def test_the_audio_service_hands_the_sound_to_pulseaudio_on_sched_rr(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("SCHED_RR needs CAP_SYS_NICE")  # the bot then warns and records as before
    on = await _threads_while_playing(tmp_path / "on", realtime=True)
    off = await _threads_while_playing(tmp_path / "off", realtime=False)
    handing_on = [p for n, ps in on.items() if n in THREAD_NAMES for p in ps]
    handing_off = [p for n, ps in off.items() if n in THREAD_NAMES for p in ps]
    assert handing_on and all(p == os.SCHED_RR for p in handing_on), on
    assert handing_off and all(p == os.SCHED_OTHER for p in handing_off), off
    # Only those: the service's other threads keep the normal scheduler.
    others = [p for n, ps in on.items() if n not in THREAD_NAMES for p in ps]
    assert others and all(p != os.SCHED_RR for p in others), on


async def test_the_pulse_daemons_main_thread_is_moved_to_sched_rr_by_a_realtime_sink(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("SCHED_RR needs CAP_SYS_NICE")
    from bot.audio import AudioSink
    from core.settings import Settings

    s = Settings()
    pid = int((s.pulse_runtime_path / "pid").read_text().split()[0])
    os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))  # as a daemon starts
    async with AudioSink(runtime_path=s.pulse_runtime_path, lease_dir=tmp_path, realtime=False):
        assert os.sched_getscheduler(pid) == os.SCHED_OTHER
    async with AudioSink(runtime_path=s.pulse_runtime_path, lease_dir=tmp_path, realtime=True):
        assert os.sched_getscheduler(pid) == os.SCHED_RR
        assert os.sched_getparam(pid).sched_priority == 6
