"""The embedded bot pool: one ``meetbot run`` subprocess per bot, at most ``slots`` at once.

Jobs queue in order; each bot gets its job in ``MEETBOT_JOB`` and reports its own phases and
result to the status store (``server.reporter``). The pool writes only what a bot cannot: that
it crashed (or was stopped before it started), with a failure callback through the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from bot.config import Settings
from bot.job import Job
from bot.lifecycle import Status
from bot.outcomes import Outcome
from server.failures import send_failure_callback
from server.store import Result, StatusStore

log = logging.getLogger("meetbot.pool")


class BotPool:
    def __init__(self, store: StatusStore, settings: Settings, *, status_db: Path, base_url: str,
                 slots: int, command: list[str] | None = None, stop_timeout: float = 90.0) -> None:
        self.store, self.settings = store, settings
        self.status_db, self.base_url = status_db, base_url
        self.slots = slots
        self.command = command or [sys.executable, "-m", "bot", "run"]
        self.stop_timeout = stop_timeout
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._queued: dict[str, Job] = {}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._leaving: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers: list[asyncio.Task[None]] = []

    # -- control ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the workers; requeue jobs a previous server accepted but never started."""
        for record in await self.store.active():
            if record.phase == "created":
                self.submit(Job.parse({"meeting_url": record.meeting_url, "bot_name": record.bot_name,
                                       "meeting_title": record.meeting_title,
                                       "callback_url": record.callback_url,
                                       "callback_data": record.callback_data, "time_zone": record.time_zone,
                                       "meeting_id": record.meeting_id, "video_id": record.video_id,
                                       "output_dir": record.output_dir}))
        self._workers = [asyncio.create_task(self._worker(), name=f"bot-slot-{i}") for i in range(self.slots)]

    def submit(self, job: Job) -> None:
        self._queued[job.meeting_id] = job
        self._queue.put_nowait(job)

    def running(self) -> list[str]:
        return list(self._procs)

    async def leave(self, meeting_id: str) -> bool:
        """Make the bot leave: SIGTERM (its graceful stop) if running; drop it if still queued."""
        proc = self._procs.get(meeting_id)
        if proc is not None and proc.returncode is None:
            log.info("asking the bot to leave", extra={"meeting_id": meeting_id, "pid": proc.pid})
            self._leaving.add(meeting_id)
            proc.send_signal(signal.SIGTERM)
            return True
        job = self._queued.pop(meeting_id, None)
        if job is not None:
            await self._fail(job, Outcome.STOPPED, "stopped before the bot started; nothing was recorded")
            return True
        return False

    async def aclose(self) -> None:
        """Stop taking jobs; running bots stop gracefully (leave, store, call back)."""
        for w in self._workers:
            w.cancel()
        for meeting_id in list(self._procs):
            await self.leave(meeting_id)
        procs = [p for p in self._procs.values() if p.returncode is None]
        if procs:
            await asyncio.wait([asyncio.create_task(p.wait()) for p in procs],
                                            timeout=self.stop_timeout)
            for p in procs:
                if p.returncode is None:
                    p.kill()
        for w in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await w
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.callback_grace + 5)

    # -- bots ---------------------------------------------------------------------------------
    async def _worker(self) -> None:
        while True:
            job = await self._queue.get()
            if self._queued.pop(job.meeting_id, None) is None:
                continue  # left while queued
            try:
                await self._run(job)
            except Exception:
                log.exception("bot could not be run", extra={"meeting_id": job.meeting_id})
                await self._fail(job, Outcome.INTERNAL_ERROR, "the bot process could not be started")

    async def _run(self, job: Job) -> None:
        assert job.output_dir is not None
        job.output_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, MEETBOT_JOB=job.model_dump_json(), MEETBOT_STATUS_DB=str(self.status_db),
                   MEETBOT_PUBLIC_URL=self.base_url)
        with (job.output_dir / "bot.log").open("ab") as out:
            proc = await asyncio.create_subprocess_exec(*self.command, env=env, stdout=out,
                                                        stderr=asyncio.subprocess.STDOUT)
        self._procs[job.meeting_id] = proc
        log.info("bot started", extra={"meeting_id": job.meeting_id, "pid": proc.pid})
        try:
            rc = await proc.wait()
        finally:
            self._procs.pop(job.meeting_id, None)
        left = job.meeting_id in self._leaving
        self._leaving.discard(job.meeting_id)
        record = await self.store.get(job.meeting_id)
        log.info("bot exited", extra={"meeting_id": job.meeting_id, "rc": rc,
                                      "status": record.status.value if record else None})
        if record is not None and not record.is_terminal:
            if left:  # stopped before it could handle the signal (still starting up)
                await self._fail(job, Outcome.STOPPED, "stopped before the bot started; nothing was recorded")
            else:
                await self._fail(job, Outcome.INTERNAL_ERROR, "the bot process ended unexpectedly"
                                 f" (exit status {rc}) in phase {record.phase}")

    async def _fail(self, job: Job, outcome: Outcome, error: str) -> None:
        ended = await self.store.finish(job.meeting_id, Result(status=Status.FAILED, reason=outcome.value,
                                                               error=error))
        if ended and job.callback_url is not None:
            task = asyncio.create_task(self._call_back(job, outcome, error), name="failure-callback")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _call_back(self, job: Job, outcome: Outcome, error: str) -> None:
        """The failure callback a crashed bot could not send; durable, so the outbox retries it."""
        try:
            await send_failure_callback(self.settings, job, outcome, error)
        except Exception:
            log.exception("failure callback not sent", extra={"meeting_id": job.meeting_id})
