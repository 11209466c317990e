"""`meetbot worker` against a real redis-server: jobs consumed, leave relayed, crashes and lost
workers turned into failures with a callback. The bot is a stand-in here; the SDK tests run real ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool
from arq.connections import RedisSettings

from callbacks.receiver import CallbackReceiver
from core.job import Job
from core.lifecycle import Status
from core.settings import Settings
from server.launchers.queue import build_worker, enqueue, reap_lost, request_leave
from status.redis import RedisStatusStore
from status.store import MeetingRecord
from tests.conftest import meetbot_cmd, meetbot_env

pytestmark = pytest.mark.e2e

FAKE = str(Path(__file__).with_name("fake_bot.py"))
ROOT = str(Path(__file__).resolve().parents[2])


def settings_for(redis_url: str, tmp: Path, mode: str) -> Settings:
    return Settings(redis_url=redis_url, bot_command=[sys.executable, FAKE, mode], data_dir=tmp,
                    heartbeat_interval=0.2, heartbeat_ttl=1.0, reap_interval=0.3,
                    allow_private_urls="127.0.0.1/32", callback_retry_base_delay=0.2)


async def create(store: RedisStatusStore, tmp: Path, callback_url: str | None = None) -> Job:
    job = Job.parse({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Bot",
                     "callback_url": callback_url, "output_dir": str(tmp / "rec")})
    await store.create(MeetingRecord(meeting_id=job.meeting_id, video_id=job.video_id,
                                     meeting_url=job.meeting_url, bot_name=job.bot_name,
                                     callback_url=callback_url, output_dir=str(job.output_dir)))
    return job


async def wait_status(store: RedisStatusStore, mid: str, status: Status, timeout: float = 20) -> Any:
    deadline = time.time() + timeout
    while True:
        record = await store.get(mid)
        if record is not None and record.status is status:
            return record
        assert time.time() < deadline, f"{mid} never became {status}: {record}"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[RedisStatusStore]:
    """A worker consuming in this process (no signal handling: pytest owns the signals)."""
    store = RedisStatusStore(str(settings.redis_url))
    worker = build_worker(settings, handle_signals=False)
    running = asyncio.create_task(worker.async_run())
    try:
        yield store
    finally:
        await worker.close()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await store.aclose()


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[Any]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


async def test_worker_runs_a_meeting_and_relays_leave(redis_url: str, queue: Any, tmp_path: Path) -> None:
    async with running_worker(settings_for(redis_url, tmp_path, "wait")) as store:
        job = await create(store, tmp_path)
        await enqueue(queue, job)
        await wait_status(store, job.meeting_id, Status.PROCESSING)
        assert await store.heartbeat_of(job.meeting_id)
        assert await request_leave(queue, job.meeting_id) == 1
        record = await wait_status(store, job.meeting_id, Status.DONE)
        assert record.reason == "stopped"


async def test_a_crashed_bot_fails_its_meeting_with_a_callback(redis_url: str, queue: Any,
                                                               tmp_path: Path) -> None:
    async with running_worker(settings_for(redis_url, tmp_path, "crash")) as store, \
            CallbackReceiver() as rx:
        job = await create(store, tmp_path, rx.url)
        await enqueue(queue, job)
        record = await wait_status(store, job.meeting_id, Status.FAILED)
        await rx.wait_for(1, timeout=10)
    assert record.reason == "internal_error" and "exit status 3" in (record.error or "")
    body = rx.received[0].json()
    assert body["success"] is False and body["error_code"] == "internal_error"


async def test_a_lost_worker_is_noticed_and_its_meeting_failed(redis_url: str, queue: Any,
                                                               tmp_path: Path) -> None:
    settings = settings_for(redis_url, tmp_path, "wait")
    store = RedisStatusStore(redis_url)
    env = meetbot_env(MEETBOT_REDIS_URL=redis_url, MEETBOT_BOT_COMMAND=json.dumps(settings.bot_command),
                      MEETBOT_HEARTBEAT_INTERVAL="0.2", MEETBOT_HEARTBEAT_TTL="1.0",
                      PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    worker = await asyncio.create_subprocess_exec(*meetbot_cmd(), "worker", env=env,
                                                  stdout=asyncio.subprocess.DEVNULL,
                                                  stderr=asyncio.subprocess.DEVNULL)
    try:
        async with CallbackReceiver() as rx:
            job = await create(store, tmp_path, rx.url)
            await enqueue(queue, job)
            await wait_status(store, job.meeting_id, Status.PROCESSING)
            worker.send_signal(signal.SIGKILL)  # the machine dies, as far as the meeting knows
            killed = time.time()
            await worker.wait()
            # What every other worker (and the API) runs periodically:
            while not await reap_lost(store, settings):
                assert time.time() - killed < 60, "the lost worker was not noticed within a minute"
                await asyncio.sleep(0.3)
            noticed = time.time() - killed
            await rx.wait_for(1, timeout=10)
        record = await store.get(job.meeting_id)
        assert record is not None and (record.status, record.reason) == (Status.FAILED, "worker_lost")
        assert rx.received[0].json()["error_code"] == "worker_lost"
        print(f"lost worker noticed after {noticed:.2f} s (heartbeat ttl 1.0 s)")
    finally:
        if worker.returncode is None:
            worker.kill()
        await store.aclose()
