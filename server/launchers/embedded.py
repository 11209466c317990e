"""``meetbot serve`` runs the bots itself: one bot process per meeting, at most ``slots`` at once.

Jobs queue in order; each bot gets its job in ``MEETBOT_JOB`` and reports its own phases, result
and heartbeat to the status store. The launcher writes only what a bot cannot: that it crashed,
or was stopped before it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from core.job import Job
from core.outcomes import Outcome
from core.settings import Settings
from server.launchers.admission import Admission
from server.launchers.base import bot_env, job_of, run_bot_process
from server.launchers.recovery import fail_meeting
from server.metrics import Metrics
from status import StatusStore

log = logging.getLogger("meetbot.pool")


class EmbeddedLauncher:
    def __init__(self, store: StatusStore, settings: Settings, *, slots: int,
                 public_url: str | None = None, stop_timeout: float = 90.0) -> None:
        self.store, self.settings = store, settings
        self.public_url = public_url
        self.slots = slots
        self.stop_timeout = stop_timeout
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._queued: dict[str, Job] = {}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._leaving: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._workers: list[asyncio.Task[None]] = []
        self.admission = Admission(settings)
        self.metrics = Metrics(bots=lambda: {m: p.pid for m, p in self._procs.items()},
                               queued=self.queued, runtime_dir=settings.runtime_dir, store=store)
        self._admitting = asyncio.Lock()
        self._starting: set[str] = set()

    # -- control ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the slots; requeue jobs a previous server accepted but never started."""
        for record in await self.store.active():
            if record.phase == "created":
                self.submit(job_of(record))
        self._workers = [asyncio.create_task(self._worker(), name=f"bot-slot-{i}") for i in range(self.slots)]

    def submit(self, job: Job) -> None:
        self._queued[job.meeting_id] = job
        self._queue.put_nowait(job)

    def running(self) -> list[str]:
        return list(self._procs)

    def queued(self) -> int:
        return len(self._queued)

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
            await fail_meeting(self.store, self.settings, job, Outcome.STOPPED,
                               "stopped before the bot started; nothing was recorded", self._tasks)
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
            await asyncio.wait([asyncio.create_task(p.wait()) for p in procs], timeout=self.stop_timeout)
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
            mid = job.meeting_id
            # One decision at a time, each counting the bots admitted before it (even those not
            # yet spawned); the job stays leavable (dropped from the queue) while it waits.
            async with self._admitting:
                await self.admission.wait_for_room(lambda: len(self._starting | set(self._procs)),
                                                   lambda m=mid: m in self._queued, meeting_id=mid)
                if self._queued.pop(mid, None) is None:
                    continue  # left while queued
                self._starting.add(mid)
            try:
                await self._run(job)
            except Exception:
                log.exception("bot could not be run", extra={"meeting_id": job.meeting_id})
                await fail_meeting(self.store, self.settings, job, Outcome.INTERNAL_ERROR,
                                   "the bot process could not be started", self._tasks)

    async def _run(self, job: Job) -> None:
        mid = job.meeting_id
        try:
            await run_bot_process(
                job, self.settings, self.store, env=bot_env(job, self.settings, public_url=self.public_url),
                log_file=job.output_dir / "bot.log" if job.output_dir else None,
                on_started=lambda proc: self._procs.__setitem__(mid, proc),
                stopped=lambda: mid in self._leaving)
        finally:
            self._procs.pop(mid, None)
            self._starting.discard(mid)
            self._leaving.discard(mid)
            record = await self.store.get(mid)
            self.metrics.bot_ended(mid, record.reason if record else None)

    async def exposition(self) -> bytes:
        await self.metrics.refresh()
        return self.metrics.render()
