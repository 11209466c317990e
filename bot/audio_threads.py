"""Real-time scheduling for the threads that carry the browser's sound to the bot's sink.

Chromium puts each renderer's audio thread (``AudioOutputDevice``) on SCHED_RR itself when it may,
and PulseAudio its sink threads; between the two, the audio service's libpulse threads
(``threaded-ml``, one per output stream) and PulseAudio's main thread, which takes in what they
write, stay on the normal scheduler beside every bot's x264 encoder and renderer. With four bots
on two cores they woke late and the streams ran dry: 83-101 holes per bot in 40 s (3-5.5 % of the
sound); with the hand-off on SCHED_RR 33-46, with PulseAudio's main thread too 3
(benchmarks/results/density-realtime-audio-*.json). ``RealtimeAudioThreads`` finds the audio
service of one browser (by its profile directory) and moves its libpulse threads to SCHED_RR, the
new ones too, as streams open during the call; ``to_realtime`` serves the daemon's main thread
(bot/audio.py). It needs CAP_SYS_NICE (root here; ``--cap-add SYS_NICE`` in a container); without
it the bot says so once and records as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from types import TracebackType

log = logging.getLogger("meetbot.audio_threads")

AUDIO_SERVICE = b"--utility-sub-type=audio.mojom.AudioService"
THREAD_NAMES = frozenset({"threaded-ml"})
RT_PRIORITY = 8
"""Chromium's own for its renderers' audio threads: the hand-off runs level with what feeds it."""
SCAN_S = 1.0


def to_realtime(tid: int, priority: int = RT_PRIORITY) -> bool:
    """Move one thread (or a process's main thread) to SCHED_RR; False when it is gone already or
    is there. PermissionError without CAP_SYS_NICE."""
    try:
        if os.sched_getscheduler(tid) != os.SCHED_OTHER:
            return False
        os.sched_setscheduler(tid, os.SCHED_RR, os.sched_param(priority))
    except PermissionError:
        raise
    except OSError:
        return False
    return True


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _ppid(pid: str) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[1]


def browser_pid(profile: str) -> str | None:
    """The browser process started on ``profile`` (its children carry no user-data-dir)."""
    want = f"--user-data-dir={profile}".encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            args = _cmdline(pid).split(b"\0")
            if want in args and not any(a.startswith(b"--type=") for a in args):
                return pid
    return None


def audio_service_pid(browser: str) -> str | None:
    """``browser``'s audio service (a child of the browser process), if it runs."""
    for pid in os.listdir("/proc"):
        if pid.isdigit() and AUDIO_SERVICE in _cmdline(pid) and _ppid(pid) == browser:
            return pid
    return None


def audio_service_threads(service: str) -> list[int]:
    """The libpulse threads of the audio service ``service``, still on the normal scheduler."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{service}/task"):
            with contextlib.suppress(OSError):
                name = Path(f"/proc/{service}/task/{tid}/comm").read_text().strip()
                if name in THREAD_NAMES and os.sched_getscheduler(int(tid)) == os.SCHED_OTHER:
                    found.append(int(tid))
    return found


class RealtimeAudioThreads:
    """While open, keeps the audio service of the browser on ``profile`` on SCHED_RR."""

    def __init__(self, profile: str) -> None:
        self._profile = profile
        self._task: asyncio.Task[None] | None = None
        self.raised = 0
        """Threads moved to SCHED_RR so far."""
        self.refused: str | None = None
        """Why the scheduler refused (no CAP_SYS_NICE), if it did."""

    async def __aenter__(self) -> RealtimeAudioThreads:
        self._task = asyncio.create_task(self._keep(), name="realtime-audio-threads")
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=2)

    async def _keep(self) -> None:
        # The process table is read only until the service is found (and again if it restarts):
        # each second after that, only its own threads.
        browser: str | None = None
        service: str | None = None
        while self.refused is None:
            if browser is None:
                browser = await asyncio.to_thread(browser_pid, self._profile)
            if browser is not None and (service is None or not Path(f"/proc/{service}").exists()):
                service = await asyncio.to_thread(audio_service_pid, browser)
            if service is not None:
                for tid in await asyncio.to_thread(audio_service_threads, service):
                    self._raise(tid)
            await asyncio.sleep(SCAN_S)

    def _raise(self, tid: int) -> None:
        try:
            if not to_realtime(tid):
                return  # the thread ended
        except PermissionError as exc:
            self.refused = str(exc)
            log.warning("the browser's audio threads stay on the normal scheduler (real-time "
                        "needs CAP_SYS_NICE): a loaded machine may cut holes in the sound",
                        extra={"error": str(exc)})
            return
        self.raised += 1
        log.debug("audio thread on SCHED_RR", extra={"tid": tid, "priority": RT_PRIORITY})
