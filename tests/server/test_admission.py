"""Admission: a bot starts only when the machine has room for it; the next one waits its turn in
the queue rather than every bot losing media."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from core.job import Job
from core.lifecycle import Status
from server.launchers.admission import Admission, available_memory, machine_cores
from server.launchers.embedded import EmbeddedLauncher
from status.sqlite import SqliteStatusStore
from tests.server.support import settings_for
from tests.server.test_pool import FAKE, status, submit, until

pytestmark = pytest.mark.unit


def cgroup(tmp: Path, *, cpu_max: str = "200000 100000", memory_max: str = "max",
           memory_current: int = 0) -> Path:
    """A stand-in for /sys/fs/cgroup: two cores, memory as given, CPU use to be written."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "cpu.max").write_text(f"{cpu_max}\n")
    (tmp / "memory.max").write_text(f"{memory_max}\n")
    (tmp / "memory.current").write_text(f"{memory_current}\n")
    (tmp / "cpu.stat").write_text("usage_usec 0\nuser_usec 0\nsystem_usec 0\n")
    return tmp


async def burn(group: Path, cores: float) -> None:
    """The cgroup's CPU use grows as if ``cores`` were busy."""
    used = 0.0
    while True:
        await asyncio.sleep(0.1)
        used += cores * 0.1
        (group / "cpu.stat").write_text(f"usage_usec {int(used * 1e6)}\n")


def test_limits_come_from_the_cgroup_when_it_has_any(tmp_path: Path) -> None:
    group = cgroup(tmp_path / "a", cpu_max="150000 100000", memory_max=str(3 * 2**30),
                   memory_current=2 * 2**30)
    assert machine_cores(group) == 1.5
    assert available_memory(group) <= 2**30
    free = cgroup(tmp_path / "b", cpu_max="max 100000")
    assert machine_cores(free) == len(os.sched_getaffinity(0))
    assert machine_cores(tmp_path / "none") == len(os.sched_getaffinity(0))
    assert available_memory(free) > 0


async def test_running_bots_count_for_their_cost_and_the_load_for_what_it_is(tmp_path: Path) -> None:
    group = cgroup(tmp_path)
    adm = Admission(settings_for(tmp_path, bot_cpu_cores=0.8), cgroup=group)
    assert await adm.room(0) is None, "the first bot always starts"
    assert await adm.room(1) is None, "0.8 committed + 0.8 fits in 2 cores on an idle machine"
    why = await adm.room(2)
    assert why is not None and why.startswith("CPU") and "1.6" in why, why
    burner = asyncio.create_task(burn(group, 1.5))
    try:
        await asyncio.sleep(2.5)
        why = await adm.room(1)
        assert why is not None and why.startswith("CPU"), "other work fills the machine"
        assert 1.2 < adm.busy_cores < 1.8, adm.busy_cores
    finally:
        burner.cancel()
    short = cgroup(tmp_path / "m", memory_max=str(2**30), memory_current=2**30 - 100 * 2**20)
    why = await Admission(settings_for(tmp_path, bot_memory_mb=900), cgroup=short).room(1)
    assert why is not None and why.startswith("memory"), why
    off = Admission(settings_for(tmp_path, admission_control=False), cgroup=group)
    assert await off.room(10) is None


async def test_the_pool_starts_a_bot_only_when_there_is_room_and_the_next_waits_queued(
        tmp_path: Path) -> None:
    # Bots costing 0.4 of this machine's cores: two fit, the third waits for one to end.
    cost = machine_cores() * 0.4
    store = SqliteStatusStore(tmp_path / "s.db")
    settings = settings_for(tmp_path, status_db=tmp_path / "s.db", bot_cpu_cores=cost,
                            bot_command=[sys.executable, FAKE, "wait"])
    pool = EmbeddedLauncher(store, settings, public_url="http://127.0.0.1:1", slots=3, stop_timeout=10)
    await pool.start()
    try:
        jobs: list[Job] = [await submit(store, pool, tmp_path) for _ in range(3)]
        for job in jobs[:2]:
            await until(lambda j=job: _is(store, j.meeting_id, Status.PROCESSING))
        await asyncio.sleep(3)  # a few admission decisions
        assert await status(store, jobs[2].meeting_id) is Status.INITIALIZING
        assert len(pool.running()) == 2 and pool.queued() == 1
        assert await pool.leave(jobs[0].meeting_id)
        await until(lambda: _is(store, jobs[2].meeting_id, Status.PROCESSING), timeout=20)
        assert pool.queued() == 0
    finally:
        await pool.aclose()


async def _is(store: SqliteStatusStore, mid: str, want: Status) -> bool:
    return await status(store, mid) is want
