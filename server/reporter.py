"""The bot process reports to the status store itself: its phases as they change, then its result.

Why the bot writes (rather than JSON lines on a pipe its parent reads): a ``meetbot worker``
bot has no parent that watches it, only the shared store (Redis), so writing directly is the one
path that serves both modes. The parent (the embedded pool) only writes what a bot cannot: that
it crashed. Writes go through a queue drained in order, so the runner never waits on the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.config import Settings
from bot.lifecycle import Phase, Status
from bot.runner import JobRunner
from server.served_storage import ServedStorage
from server.store import Result, StatusStore
from server.urls import player_url, stream_url

log = logging.getLogger("meetbot.reporter")

_Item = tuple[Phase, float] | Result


def result_of(body: dict[str, Any]) -> Result:
    """The store's view of a callback body (``callbacks.payloads``)."""
    data = body.get("data") or {}
    return Result(status=Status(body["status"]), reason=body["reason"], error=body.get("error"),
                  speaker_timeline=data.get("speaker_timeline"), stream_url=data.get("stream_url"),
                  player_url=data.get("player_url"), recording_url=body.get("recording_url"),
                  duration=body.get("duration"))


class StoreReporter:
    def __init__(self, store: StatusStore, meeting_id: str, live_urls: dict[str, str]) -> None:
        self.store, self.meeting_id = store, meeting_id
        self._live_urls = live_urls
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task = asyncio.create_task(self._drain(), name="store-reporter")

    @classmethod
    def attach(cls, runner: JobRunner, settings: Settings, store: StatusStore | None) -> StoreReporter | None:
        """Serve the runner's files over http when a server runs; report to ``store`` if given."""
        job, base = runner.job, settings.public_url
        urls: dict[str, str] = {}
        if base:
            runner.storage = ServedStorage(runner.output_dir, base_url=base, video_id=job.video_id)
            urls = {"stream_url": stream_url(base, job.video_id),
                    "player_url": player_url(base, job.video_id)}
        if store is None:
            return None
        reporter = cls(store, job.meeting_id, urls)
        runner.state.on_change(reporter.on_phase)
        runner.result_listeners.append(reporter.on_result)
        return reporter

    def on_phase(self, old: Phase, new: Phase, at: float) -> None:
        self._queue.put_nowait((new, at))

    def on_result(self, body: dict[str, Any]) -> None:
        self._queue.put_nowait(result_of(body))

    async def _drain(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, Result):
                    await self.store.finish(self.meeting_id, item)
                else:
                    phase, at = item
                    live = self._live_urls if phase is Phase.IN_CALL_RECORDING else None
                    await self.store.record_phase(self.meeting_id, phase, at, live)
            except Exception:
                log.warning("status store not updated", exc_info=True)
            finally:
                self._queue.task_done()

    async def aclose(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
