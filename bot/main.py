"""The bot process: one job, from ``MEETBOT_JOB`` (``python -m bot``) or from ``meetbot run``.

Wires the parts: the store the recording goes to, the status store a server or worker reads, the
callback deliverer, the reporter and the runner. The first SIGTERM/SIGINT stops gracefully
(leave, store, call back); a second one stops at once, still releasing every resource and
reporting what was recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

import httpx

from bot.recording_store import RecordingStore
from bot.reporting import JobResult, Reporter
from bot.runner import JobRunner
from callbacks.factory import build_deliverer
from core import log as botlog
from core.errors import JobError
from core.job import Job
from core.lifecycle import Status
from core.settings import Settings, get_settings
from status import open_store
from storage import open_storage

log = logging.getLogger("meetbot.bot")


async def run_job(job: Job, settings: Settings) -> JobResult:
    uri = job.storage_uri or (job.output_dir or settings.output_dir / job.meeting_id).resolve().as_uri()
    storage = open_storage(uri, settings, asset_id=job.video_id,
                           public_url=str(settings.public_url) if settings.public_url else None)
    files = RecordingStore(storage, audio_bitrate=settings.audio_bitrate)
    store = open_store(settings)
    loop = asyncio.get_running_loop()
    signals_seen = 0
    runner: JobRunner | None = None

    def on_signal() -> None:
        nonlocal signals_seen
        signals_seen += 1
        if runner is None:
            return
        if signals_seen == 1:
            runner.request_stop()
        else:
            runner.cancel()

    try:
        async with httpx.AsyncClient() as http:
            reporter = Reporter(job, settings, files=files, deliverer=build_deliverer(settings, client=http),
                                store=store)
            runner = JobRunner(job, settings=settings, recordings=files,
                               capture_control=reporter.wanted_state, on_span=reporter.span_changed,
                               on_live=reporter.live_event)
            runner.state.on_change(reporter.phase_changed)
            reporter.capture_figures = runner.health.figures
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal)
            try:
                await reporter.start()
                result = await runner.run()
                await reporter.report(result)
            finally:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
                await reporter.aclose()
    finally:
        if store is not None:
            await store.aclose()
    return result


def summary(result: JobResult, job: Job, settings: Settings) -> str:
    output_dir = (job.output_dir or settings.output_dir / job.meeting_id).resolve()
    return json.dumps({"status": result.status.value, "reason": result.outcome.value,
                       "meeting_id": result.meeting_id, "output_dir": str(output_dir)})


def main() -> int:
    """``python -m bot``: the job in MEETBOT_JOB. Exit 0 done, 1 failed, 2 malformed job."""
    settings = get_settings()
    botlog.configure(settings.log_level, settings.log_json)
    try:
        job = Job.parse(os.environ.get("MEETBOT_JOB") or "")
    except JobError as exc:
        print(f"meetbot: {exc.message}", file=sys.stderr)
        return 2
    result = asyncio.run(run_job(job, settings))
    print(summary(result, job, settings))
    return 0 if result.status is Status.DONE else 1
