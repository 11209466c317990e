"""The embedded launcher with stand-in bots: queueing, leave, and a crash's failure callback."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from callbacks.receiver import CallbackReceiver
from core.job import Job
from core.lifecycle import Status
from server.launchers.embedded import EmbeddedLauncher
from status.sqlite import SqliteStatusStore
from status.store import MeetingRecord
from tests.server.support import settings_for

pytestmark = pytest.mark.unit

FAKE = str(Path(__file__).with_name("fake_bot.py"))


async def until(cond, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Poll the store (another process writes it: there is no event to wait on)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def submit(store: SqliteStatusStore, pool: EmbeddedLauncher, tmp: Path,
                 callback: str | None = None) -> Job:
    job = Job.parse({"meeting_url": "https://meet.google.com/abc-defg-hij", "callback_url": callback,
                     "callback_data": {"k": 7}})
    job = job.model_copy(update={"output_dir": tmp / job.meeting_id})
    await store.create(MeetingRecord(meeting_id=job.meeting_id, video_id=job.video_id,
                                     meeting_url=job.meeting_url, bot_name=job.bot_name,
                                     output_dir=str(job.output_dir)))
    pool.submit(job)
    return job


def pool_for(tmp: Path, mode: str, slots: int = 1) -> tuple[SqliteStatusStore, EmbeddedLauncher]:
    store = SqliteStatusStore(tmp / "s.db")
    settings = settings_for(tmp, callback_grace=5.0, status_db=tmp / "s.db",
                            bot_command=[sys.executable, FAKE, mode])
    pool = EmbeddedLauncher(store, settings, public_url="http://127.0.0.1:1", slots=slots, stop_timeout=10)
    return store, pool


async def status(store: SqliteStatusStore, mid: str) -> Status:
    r = await store.get(mid)
    assert r is not None
    return r.status


async def test_a_crashed_bot_ends_failed_with_a_failure_callback(tmp_path: Path) -> None:
    store, pool = pool_for(tmp_path, "crash")
    await pool.start()
    try:
        async with CallbackReceiver() as rx:
            job = await submit(store, pool, tmp_path, callback=rx.url)
            [got] = [r.json() for r in await rx.wait_for(1, timeout=20)]
        r = await store.get(job.meeting_id)
        assert r is not None and r.status is Status.FAILED and r.reason == "internal_error"
        assert "exit status 3" in (r.error or "") and r.phase == "failed"
        assert got["success"] is False and got["message"] == "Failed to record meeting."
        assert (got["meeting_id"], got["error_code"], got["callback_data"]) == (
            job.meeting_id, "internal_error", {"k": 7})
    finally:
        await pool.aclose()


async def test_leave_stops_a_running_bot_and_drops_a_queued_one(tmp_path: Path) -> None:
    store, pool = pool_for(tmp_path, "wait", slots=1)
    await pool.start()
    try:
        first = await submit(store, pool, tmp_path)
        second = await submit(store, pool, tmp_path)  # queued behind the only slot
        await until(lambda: _is(store, first.meeting_id, Status.PROCESSING))
        assert await status(store, second.meeting_id) is Status.INITIALIZING
        assert await pool.leave(second.meeting_id)
        r2 = await store.get(second.meeting_id)
        assert r2 is not None and (r2.status, r2.reason) == (Status.FAILED, "stopped")
        assert await pool.leave(first.meeting_id)
        await until(lambda: _is(store, first.meeting_id, Status.DONE))
        r1 = await store.get(first.meeting_id)
        assert r1 is not None and r1.reason == "stopped"
        await until(lambda: _no_bots(pool))
        assert not await pool.leave(first.meeting_id)
    finally:
        await pool.aclose()


async def _is(store: SqliteStatusStore, mid: str, want: Status) -> bool:
    return await status(store, mid) is want


async def _no_bots(pool: EmbeddedLauncher) -> bool:
    return not pool.running()


async def test_the_pools_metrics_show_running_and_queued_bots_and_how_they_ended(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def scrape(text: bytes) -> dict[str, float]:
        return {s.name + "".join(f"[{v}]" for v in s.labels.values()): s.value
                for fam in text_string_to_metric_families(text.decode()) for s in fam.samples}

    store, pool = pool_for(tmp_path, "wait", slots=1)
    await pool.start()
    try:
        first = await submit(store, pool, tmp_path)
        second = await submit(store, pool, tmp_path)
        await until(lambda: _is(store, first.meeting_id, Status.PROCESSING))
        live = scrape(await pool.exposition())
        assert (live["meetbot_bots_running"], live["meetbot_bots_queued"]) == (1, 1), live
        # Labels in the parser's order (sorted): launcher, meeting.
        assert live[f"meetbot_bot_memory_bytes[embedded][{first.meeting_id}]"] > 5e6, live  # a Python process
        assert f"meetbot_bot_cpu_cores[embedded][{first.meeting_id}]" in live
        assert await pool.leave(second.meeting_id) and await pool.leave(first.meeting_id)
        await until(lambda: _no_bots(pool))
        for _ in range(50):
            ended = scrape(await pool.exposition())
            if ended.get("meetbot_bots_ended_total[stopped]"):
                break
            await asyncio.sleep(0.1)
        assert ended["meetbot_bots_ended_total[stopped]"] == 1, ended  # the queued one never ran
        assert (ended["meetbot_bots_running"], ended["meetbot_bots_queued"]) == (0, 0)
    finally:
        await pool.aclose()
