"""Queue mode: ``meetbot serve`` enqueues jobs in Redis; ``meetbot worker`` consumers run them.

arq (asyncio, Redis-only, job ids, well kept) carries the jobs; every meeting runs in its own bot
process, started exactly as the embedded launcher starts it, so a crash ends one meeting, not the
worker. Bots renew their own heartbeats; any worker (and the API) fails meetings whose heartbeat
lapsed as ``worker_lost``. Leave requests arrive on a Redis channel per meeting and become the
bot's graceful SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from typing import Any

from arq import Retry, func
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from prometheus_client import start_http_server

from core.aio import bounded, die_with_parent
from core.job import Job
from core.outcomes import Outcome
from core.settings import Settings
from server.launchers.admission import Admission
from server.launchers.base import bot_env, reap_leftovers, run_bot_process
from server.launchers.recovery import fail_meeting, reap_lost, recover_meetings
from server.metrics import Metrics
from status.redis import RedisStatusStore

log = logging.getLogger("meetbot.worker")

QUEUE = "meetbot:queue"
RECORD = "record_meeting"
ROOM_RETRY_S = 5.0
ROOM_TRIES = 100_000  # about six days of waiting for room, ROOM_RETRY_S apart
DEFER_BEYOND_S = 60.0


def leave_channel(meeting_id: str) -> str:
    return f"meetbot:leave:{meeting_id}"


async def enqueue(redis: ArqRedis, job: Job) -> None:
    """Hand a meeting to the consumers; the meeting id is the queue's job id (no duplicates)."""
    await redis.enqueue_job(RECORD, job.model_dump_json(), _job_id=job.meeting_id, _queue_name=QUEUE)


async def queue_depth(redis: Any) -> int:
    """Meetings waiting in the queue: arq keeps a job there while a worker runs it, so those
    in progress are not counted."""
    ids = await redis.zrange(QUEUE, 0, -1)
    if not ids:
        return 0
    running = await redis.exists(*[in_progress_key_prefix + i.decode() for i in ids])
    return len(ids) - int(running)


async def request_leave(redis: Any, meeting_id: str) -> int:
    """Ask whichever worker runs the meeting to make its bot leave; returns listeners reached."""
    return int(await redis.publish(leave_channel(meeting_id), "leave"))


class QueueLauncher:
    """What `meetbot serve` hands jobs to in queue mode: Redis, for `meetbot worker` consumers."""

    def __init__(self, redis: ArqRedis, store: RedisStatusStore, settings: Settings) -> None:
        self.redis, self.store, self.settings = redis, store, settings
        self.public_url: str | None = None
        """Unused: workers know where they are served from (their own MEETBOT_PUBLIC_URL)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._depth = 0
        # The workers run the bots and export their figures; here, the queue's depth.
        self.metrics = Metrics(bots=dict, queued=lambda: self._depth, runtime_dir=settings.runtime_dir,
                               store=store, launcher="queue")

    async def start(self) -> None:
        """Nothing to pick up: jobs a previous server accepted are still in the queue."""

    async def exposition(self) -> bytes:
        self._depth = await queue_depth(self.redis)
        await self.metrics.refresh()
        return self.metrics.render()

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

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)


# -- the consumer (`meetbot worker`) ----------------------------------------------------------------
async def record_meeting(ctx: dict[str, Any], job_json: str) -> str:
    """One meeting: start its bot process, relay leave, fail the meeting if the bot crashes."""
    settings: Settings = ctx["settings"]
    store: RedisStatusStore = ctx["store"]
    job = Job.parse(job_json)
    mid = job.meeting_id
    record = await store.get(mid)
    if record is not None and record.is_terminal:
        return "already ended"  # left while queued
    if ctx.get("job_try", 1) > 1 and record is not None and record.phase != "created":
        # Tries after the first are only ever for room (below); a bot that started once and
        # lost its worker is settled by recovery, never run twice.
        return "started before"
    if job.join_at is not None:
        early = job.join_at - job.join_lead - settings.join_startup_s - time.time()
        if early > DEFER_BEYOND_S:
            # Enqueued long before it is due (not by a server's scheduler, which hands it over
            # at its measured lead): it waits in the queue, not in a worker's slot.
            raise Retry(defer=min(early, 3600.0))
    running: set[str] = ctx["running"]
    async with ctx["admitting"]:
        reason = await ctx["admission"].room(len(running))
        if reason is not None:
            # Back to the queue: another worker (or this one, later) may have room.
            log.warning("no room for the bot; back in the queue", extra={"meeting_id": mid, "why": reason})
            raise Retry(defer=ROOM_RETRY_S)
        running.add(mid)
    try:
        return await _record(ctx, settings, store, job)
    finally:
        running.discard(mid)
        ctx["pids"].pop(mid, None)
        record = await store.get(mid)
        ctx["metrics"].bot_ended(mid, record.reason if record else None)


async def _record(ctx: dict[str, Any], settings: Settings, store: RedisStatusStore, job: Job) -> str:
    mid = job.meeting_id
    procs: list[asyncio.subprocess.Process] = []
    leaving: list[bool] = []
    pubsub = store.redis.pubsub()
    await pubsub.subscribe(leave_channel(mid))

    async def relay_leave() -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message" and procs and procs[0].returncode is None:
                log.info("leave requested", extra={"meeting_id": mid})
                leaving.append(True)
                procs[0].send_signal(signal.SIGTERM)

    relay = asyncio.create_task(relay_leave(), name=f"leave-{mid}")
    run = asyncio.create_task(run_bot_process(
        job, settings, store, env=bot_env(job, settings, public_url=ctx["public_url"], launched_by="queue"),
        # The bot dies with its worker: a lost worker's meeting is failed as worker_lost, and a
        # bot finishing on its own afterwards would contradict that.
        preexec_fn=lambda: die_with_parent(signal.SIGKILL),
        on_started=lambda p: (procs.append(p), ctx["pids"].__setitem__(mid, p.pid)),
        stopped=lambda: bool(leaving)), name=f"bot-{mid}")
    try:
        rc = await asyncio.shield(run)
    except asyncio.CancelledError:
        # The worker is shutting down: stop the bot gracefully (leave, store, call back).
        if procs and procs[0].returncode is None:
            procs[0].send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await bounded(run, 120)
        raise
    finally:
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
        await pubsub.aclose()
    return f"exit {rc}"


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["store"] = RedisStatusStore(str(settings.redis_url))
    ctx["worker_id"] = f"{socket.gethostname()}-{os.getpid()}"
    ctx["public_url"] = str(settings.public_url) if settings.public_url else None
    ctx["admission"], ctx["admitting"], ctx["running"] = Admission(settings), asyncio.Lock(), set()
    ctx["pids"], ctx["depth"] = {}, 0
    metrics = ctx["metrics"] = Metrics(bots=lambda: dict(ctx["pids"]), queued=lambda: ctx["depth"],
                                       runtime_dir=settings.runtime_dir, launcher="queue")
    if settings.metrics_port is not None:
        ctx["metrics_server"], _ = start_http_server(settings.metrics_port, registry=metrics.registry)
        log.info("metrics served", extra={"port": ctx["metrics_server"].server_port})
    await reap_leftovers(settings)
    try:
        await recover_meetings(ctx["store"], settings)
    except Exception:
        log.warning("recovery pass failed", exc_info=True)

    async def reaper() -> None:
        while True:
            try:
                await reap_lost(ctx["store"], settings)
            except Exception:
                log.warning("reaper pass failed", exc_info=True)
            await asyncio.sleep(settings.reap_interval)

    async def queue_watch() -> None:
        while True:
            with contextlib.suppress(Exception):
                ctx["depth"] = await queue_depth(ctx["redis"])
            await asyncio.sleep(5)

    ctx["reaper"] = asyncio.create_task(reaper(), name="reaper")
    ctx["queue_watch"] = asyncio.create_task(queue_watch(), name="queue-watch")
    log.info("worker started", extra={"worker": ctx["worker_id"], "bots": settings.bots_per_worker})


async def _shutdown(ctx: dict[str, Any]) -> None:
    for name in ("reaper", "queue_watch"):
        ctx[name].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ctx[name]
    if "metrics_server" in ctx:
        ctx["metrics_server"].shutdown()
    await ctx["store"].aclose()


def build_worker(settings: Settings, *, handle_signals: bool = True) -> Worker:
    if not settings.redis_url:
        raise ValueError("meetbot worker needs MEETBOT_REDIS_URL")
    # A meeting may last max_duration (per job, at most this) plus joining and finishing.
    longest = 6 * 3600
    return Worker(
        functions=[func(record_meeting, name=RECORD, max_tries=ROOM_TRIES, timeout=longest)],
        queue_name=QUEUE, redis_settings=RedisSettings.from_dsn(str(settings.redis_url)),
        max_jobs=settings.bots_per_worker, job_timeout=longest, keep_result=3600, poll_delay=0.5,
        on_startup=_startup, on_shutdown=_shutdown, ctx={"settings": settings},
        # On SIGTERM: stop taking jobs and give running bots time to leave and store. Retries:
        # a job waiting for room goes back to the queue (Retry); one cancelled at shutdown runs
        # again elsewhere only if its bot never started (record_meeting checks).
        handle_signals=handle_signals, job_completion_wait=150, retry_jobs=True,
    )


__all__ = ["QUEUE", "QueueLauncher", "build_worker", "enqueue", "reap_lost", "request_leave"]
