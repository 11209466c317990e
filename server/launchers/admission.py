"""Admission: another bot starts only when the machine has room for it.

A bot's cost is known (``bot_cpu_cores``, ``bot_memory_mb``, measured by benchmarks/density.py)
but it is not spent at once: a bot in the lobby uses little, the same bot recording its full
share. So the bots already running count for at least their cost, and the machine's measured load
for what it is (other work on the machine, or bots costing more than planned): a new bot fits
when the larger of the two plus its own cost stays within the cores bots may use. Cores and memory
are the container's (cgroup v2 limits) where there are any.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from core.settings import Settings

log = logging.getLogger("meetbot.admission")

CGROUP = Path("/sys/fs/cgroup")
_WINDOW = 2.0  # seconds of load a decision looks at


def machine_cores(cgroup: Path = CGROUP) -> float:
    """The cores this process may use: its cgroup's quota, else its CPU affinity."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()
        if quota != "max":
            return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    return float(len(os.sched_getaffinity(0)))


def available_memory(cgroup: Path = CGROUP) -> int:
    """Bytes a new process can have: the cgroup's limit less its use, capped by the machine's."""
    free = psutil.virtual_memory().available
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text())
            free = min(free, int(limit) - used)
    except (OSError, ValueError):
        pass
    return free


def _busy_seconds(cgroup: Path = CGROUP) -> float:
    """CPU seconds used so far: by the cgroup when it says, else by the whole machine."""
    try:
        for line in (cgroup / "cpu.stat").read_text().splitlines():
            key, value = line.split()
            if key == "usage_usec":
                return int(value) / 1e6
    except (OSError, ValueError):
        pass
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


class Admission:
    def __init__(self, settings: Settings, *, cgroup: Path = CGROUP) -> None:
        self.enabled = settings.admission_control
        self.cpu_cost = settings.bot_cpu_cores
        self.memory_cost = settings.bot_memory_mb * 2**20
        self.limit = settings.admission_cpu_limit
        self._cgroup = cgroup
        self._last: tuple[float, float] | None = None
        self.busy_cores = 0.0
        """The machine's measured load at the last decision, in cores."""

    async def load(self) -> float:
        """Cores busy over the last couple of seconds (measured now if it was not lately)."""
        now, used = time.monotonic(), _busy_seconds(self._cgroup)
        if self._last is None or now - self._last[0] > 5 * _WINDOW:
            await asyncio.sleep(_WINDOW)
            self._last = (now, used)
            now, used = time.monotonic(), _busy_seconds(self._cgroup)
        if now - self._last[0] >= _WINDOW / 2:
            self.busy_cores = (used - self._last[1]) / (now - self._last[0])
            self._last = (now, used)
        return self.busy_cores

    async def room(self, running: int) -> str | None:
        """None when one more bot fits beside ``running`` of ours; else why it does not."""
        if not self.enabled or running == 0:
            # The first bot always starts: on a machine busy with something else, refusing it
            # would record nothing at all.
            return None
        capacity = machine_cores(self._cgroup) * self.limit
        committed = running * self.cpu_cost
        busy = await self.load()
        if max(committed, busy) + self.cpu_cost > capacity:
            return (f"CPU: {running} bots commit {committed:.1f} cores, {busy:.1f} busy; another "
                    f"needs {self.cpu_cost:.1f} of {capacity:.1f}")
        free = available_memory(self._cgroup)
        if free < self.memory_cost:
            return f"memory: {free / 2**20:.0f} MB available, a bot needs {self.memory_cost / 2**20:.0f} MB"
        return None

    async def wait_for_room(self, running: Callable[[], int], wanted: Callable[[], bool], *,
                            meeting_id: str, poll: float = 2.0) -> bool:
        """Wait until another bot fits; False if the meeting stopped being wanted meanwhile."""
        since, said = time.monotonic(), None
        while wanted():
            reason = await self.room(running())
            if reason is None:
                if said is not None:
                    log.info("room for the bot", extra={"meeting_id": meeting_id,
                                                        "waited_s": round(time.monotonic() - since, 1)})
                return True
            if reason.split(":")[0] != said:  # said once per cause, not per poll
                log.warning("bot waits for room", extra={"meeting_id": meeting_id, "why": reason})
                said = reason.split(":")[0]
            await asyncio.sleep(poll)
        return False
