"""`meetbot worker`: a job-queue consumer that records the meetings the API enqueues in Redis.

arq (asyncio, Redis-only, job ids, well kept) carries the jobs; every meeting runs in its own bot
process so a crash ends one meeting, not the worker. The worker renews a heartbeat per meeting;
any worker (and the API) fails meetings whose heartbeat lapsed as ``worker_lost``. Leave requests
arrive on a Redis channel per meeting and become the bot's graceful SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from arq import func
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker

from bot.aio import die_with_parent
from bot.config import Settings
from bot.job import Job
from bot.outcomes import Outcome
from server.failures import fail_meeting
from server.redis_store import RedisStatusStore

log = logging.getLogger("meetbot.worker")

QUEUE = "meetbot:queue"
RECORD = "record_meeting"


def leave_channel(meeting_id: str) -> str:
    return f"meetbot:leave:{meeting_id}"


async def enqueue(redis: ArqRedis, job: Job) -> None:
    """Hand a meeting to the consumers; the meeting id is the queue's job id (no duplicates)."""
    await redis.enqueue_job(RECORD, job.model_dump_json(), _job_id=job.meeting_id, _queue_name=QUEUE)


async def request_leave(redis: Any, meeting_id: str) -> int:
    """Ask whichever worker runs the meeting to make its bot leave; returns listeners reached."""
    return int(await redis.publish(leave_channel(meeting_id), "leave"))


class QueueBots:
    """What `meetbot serve` hands jobs to in queue mode: Redis, for `meetbot worker` consumers."""

    def __init__(self, redis: ArqRedis, store: RedisStatusStore, settings: Settings) -> None:
        self.redis, self.store, self.settings = redis, store, settings
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, job: Job) -> None:
        task = asyncio.create_task(enqueue(self.redis, job), name=f"enqueue-{job.meeting_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def leave(self, meeting_id: str) -> bool:
        if await request_leave(self.redis, meeting_id):
            return True
        record = await self.store.get(meeting_id)
        if record is None or record.is_terminal or record.phase != "created":
            return False
        # Still queued: its worker will find it ended and skip it.
        return await fail_meeting(self.store, self.settings, record, Outcome.STOPPED,
                                  "stopped before the bot started; nothing was recorded")


async def reap_lost(store: RedisStatusStore, settings: Settings) -> list[str]:
    """Fail the started meetings whose worker stopped renewing their heartbeat."""
    lost = []
    for record in await store.active():
        started = record.phase != "created"
        stale = time.time() - record.updated_at > settings.heartbeat_ttl
        if started and stale and await store.heartbeat_of(record.meeting_id) is None:
            error = f"no heartbeat from its worker for {settings.heartbeat_ttl:g} s (phase {record.phase})"
            if await fail_meeting(store, settings, record, Outcome.WORKER_LOST, error):
                lost.append(record.meeting_id)
    return lost


async def record_meeting(ctx: dict[str, Any], job_json: str) -> str:
    """One meeting: start its bot process, keep its heartbeat, relay leave, fail it if it crashes."""
    settings: Settings = ctx["settings"]
    store: RedisStatusStore = ctx["store"]
    job = Job.parse(job_json)
    mid = job.meeting_id
    worker_id: str = ctx["worker_id"]
    record = await store.get(mid)
    if record is not None and record.is_terminal:
        return "already ended"  # left while queued
    await store.beat(mid, worker_id, settings.heartbeat_ttl)
    command = settings.bot_command or [sys.executable, "-m", "bot", "run"]
    env = dict(os.environ, MEETBOT_JOB=job_json, MEETBOT_REDIS_URL=str(settings.redis_url))
    if job.output_dir is not None:
        job.output_dir.mkdir(parents=True, exist_ok=True)
    # The bot dies with its worker: a lost worker's meeting is failed as worker_lost, and a bot
    # finishing on its own afterwards would contradict that.
    proc = await asyncio.create_subprocess_exec(*command, env=env,
                                                preexec_fn=lambda: die_with_parent(signal.SIGKILL))
    log.info("bot started", extra={"meeting_id": mid, "pid": proc.pid})
    pubsub = store.redis.pubsub()
    await pubsub.subscribe(leave_channel(mid))

    async def beat() -> None:
        while True:
            await asyncio.sleep(settings.heartbeat_interval)
            await store.beat(mid, worker_id, settings.heartbeat_ttl)

    async def relay_leave() -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message" and proc.returncode is None:
                log.info("leave requested", extra={"meeting_id": mid})
                proc.send_signal(signal.SIGTERM)

    helpers = [asyncio.create_task(beat()), asyncio.create_task(relay_leave())]
    try:
        rc = await proc.wait()
    except asyncio.CancelledError:
        # The worker is shutting down: stop the bot gracefully (leave, store, call back).
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proc.wait()), 120)
        raise
    finally:
        for t in helpers:
            t.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await pubsub.aclose()
    record = await store.get(mid)
    if record is not None and not record.is_terminal:
        await fail_meeting(store, settings, job, Outcome.INTERNAL_ERROR,
                           f"the bot process ended unexpectedly (exit status {rc}) in phase {record.phase}")
    return f"exit {rc}"


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["store"] = RedisStatusStore(str(settings.redis_url))
    ctx["worker_id"] = f"{socket.gethostname()}-{os.getpid()}"

    async def reaper() -> None:
        while True:
            try:
                await reap_lost(ctx["store"], settings)
            except Exception:
                log.warning("reaper pass failed", exc_info=True)
            await asyncio.sleep(settings.reap_interval)

    ctx["reaper"] = asyncio.create_task(reaper(), name="reaper")
    log.info("worker started", extra={"worker": ctx["worker_id"], "bots": settings.bots_per_worker})


async def _shutdown(ctx: dict[str, Any]) -> None:
    ctx["reaper"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ctx["reaper"]
    await ctx["store"].aclose()


def build_worker(settings: Settings, *, handle_signals: bool = True) -> Worker:
    if not settings.redis_url:
        raise ValueError("meetbot worker needs MEETBOT_REDIS_URL")
    # A meeting may last max_duration (per job, at most this) plus joining and finishing.
    longest = 6 * 3600
    return Worker(
        functions=[func(record_meeting, name=RECORD, max_tries=1, timeout=longest)],
        queue_name=QUEUE, redis_settings=RedisSettings.from_dsn(settings.redis_url),
        max_jobs=settings.bots_per_worker, job_timeout=longest, keep_result=3600, poll_delay=0.5,
        on_startup=_startup, on_shutdown=_shutdown, ctx={"settings": settings},
        # On SIGTERM: stop taking jobs and give running bots time to leave and store.
        handle_signals=handle_signals, job_completion_wait=150, retry_jobs=False,
    )


__all__ = ["QUEUE", "QueueBots", "build_worker", "enqueue", "reap_lost", "request_leave"]
