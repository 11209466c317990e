"""What every way of launching bots shares: the bot's command and environment, the record <-> job
conversion, running one bot process to its end with a crash handled (the meeting settled from
what the bot stored), and releasing what dead bots left on the machine.

Launchers: ``EmbeddedLauncher`` (``meetbot serve`` runs bot processes itself), ``QueueLauncher``
(jobs go to Redis for ``meetbot worker`` consumers, which run bot processes the same way) and
``KubernetesLauncher`` (one Job, hence one pod, per meeting). Bots report their phases, result and
heartbeat to the status store themselves, whatever launched them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from core.job import Job
from core.lifecycle import Phase
from core.outcomes import Outcome
from core.settings import Settings
from server.launchers.recovery import fail_meeting, settle_lost
from server.metrics import health_path
from status import MeetingRecord, StatusStore

log = logging.getLogger("meetbot.launch")


class BotLauncher(Protocol):
    """Starts a bot per job and stops it on request."""

    public_url: str | None
    """The server's base URL, for the bots' stream and player URLs (set once the API listens)."""

    async def start(self) -> None:
        """Begin taking jobs (and pick up those a previous server accepted but never started)."""
        ...

    def submit(self, job: Job) -> None: ...

    async def leave(self, meeting_id: str) -> bool:
        """Make the bot leave (stored, called back: ``stopped``); False when nothing runs."""
        ...

    async def aclose(self) -> None:
        """Stop taking jobs; running bots stop gracefully where this launcher can reach them."""
        ...

    async def exposition(self) -> bytes:
        """Its Prometheus metrics (server/metrics.py), current."""
        ...


# -- the bot process ----------------------------------------------------------------------------
def bot_command(settings: Settings) -> list[str]:
    """``python -m bot`` (tests swap in a stand-in through ``MEETBOT_BOT_COMMAND``)."""
    return list(settings.bot_command or [sys.executable, "-m", "bot"])


def bot_env(job: Job, settings: Settings, *, public_url: str | None = None,
            launched_by: str = "embedded") -> dict[str, str]:
    """The variables a bot needs beyond the launcher's own: its job, where to report, the URLs it
    is served at, who launched it."""
    env = {"MEETBOT_JOB": job.model_dump_json(), "MEETBOT_LAUNCHED_BY": launched_by,
           "MEETBOT_HEALTH_FILE": str(health_path(settings.runtime_dir, job.meeting_id))}
    if settings.redis_url:
        env["MEETBOT_REDIS_URL"] = str(settings.redis_url)
    elif settings.status_db:
        env["MEETBOT_STATUS_DB"] = str(settings.status_db)
    if public_url:
        env["MEETBOT_PUBLIC_URL"] = public_url
    return env


async def run_bot_process(job: Job, settings: Settings, store: StatusStore, *,
                          env: dict[str, str], log_file: Path | None = None,
                          preexec_fn: Callable[[], None] | None = None,
                          on_started: Callable[[asyncio.subprocess.Process], None] | None = None,
                          stopped: Callable[[], bool] = lambda: False) -> int:
    """Run one bot to its end; if it ended without its record ending, fail the meeting for it.

    ``stopped``: whether a leave was asked (a bot stopped before it could handle the signal ends
    ``stopped``, not ``internal_error``).
    """
    if job.output_dir is not None:
        job.output_dir.mkdir(parents=True, exist_ok=True)
    out = log_file.open("ab") if log_file else None
    try:
        proc = await asyncio.create_subprocess_exec(
            *bot_command(settings), env={**os.environ, **env}, preexec_fn=preexec_fn,
            stdout=out, stderr=asyncio.subprocess.STDOUT if out else None)
    finally:
        if out is not None:
            out.close()
    log.info("bot started", extra={"meeting_id": job.meeting_id, "pid": proc.pid})
    if on_started is not None:
        on_started(proc)
    rc = await proc.wait()
    record = await store.get(job.meeting_id)
    log.info("bot exited", extra={"meeting_id": job.meeting_id, "rc": rc,
                                  "status": record.status.value if record else None})
    if record is not None and not record.is_terminal:
        if stopped():
            await fail_meeting(store, settings, job, Outcome.STOPPED,
                               "stopped before the bot started; nothing was recorded")
        else:
            # What it stored before it died is still a recording.
            await settle_lost(store, settings, record, Outcome.INTERNAL_ERROR, "the bot process ended "
                              f"unexpectedly (exit status {rc}) in phase {record.phase}", job=job)
    return rc


# -- records and jobs ---------------------------------------------------------------------------
CAPTURE_FIELDS = ("audio_only", "video_width", "video_height", "video_fps")

def record_of(job: Job, *, collection_id: str = "default", scheduled: bool = False) -> MeetingRecord:
    """The status record a new job starts as (``scheduled``: waiting for its ``join_at``)."""
    return MeetingRecord(
        meeting_id=job.meeting_id, video_id=job.video_id, collection_id=collection_id,
        meeting_url=job.meeting_url, bot_name=job.bot_name, meeting_title=job.meeting_title,
        time_zone=job.time_zone, callback_url=str(job.callback_url) if job.callback_url else None,
        callback_data=job.callback_data, output_dir=str(job.output_dir), storage=job.storage_uri,
        rtstream_id=job.rtstream_id, join_at=job.join_at, job=job.model_dump(mode="json"),
        phase=Phase.SCHEDULED.value if scheduled else Phase.CREATED.value,
        capture={k: v for k in CAPTURE_FIELDS if (v := getattr(job, k)) not in (None, False)})


def job_of(record: MeetingRecord) -> Job:
    """The job a stored meeting was created from (to run it, or fail it, elsewhere)."""
    if record.job is not None:
        return Job.parse(record.job)
    return Job.parse({"meeting_url": record.meeting_url, "bot_name": record.bot_name,
                      "meeting_title": record.meeting_title, "callback_url": record.callback_url,
                      "callback_data": record.callback_data, "time_zone": record.time_zone,
                      "meeting_id": record.meeting_id, "video_id": record.video_id,
                      "output_dir": record.output_dir, "storage_uri": record.storage,
                      "rtstream_id": record.rtstream_id, "join_at": record.join_at, **record.capture})


async def reap_leftovers(settings: Settings) -> list[str]:
    """Displays and sinks whose bot is gone (SIGKILLed with its host process): released when a
    server or worker starts, as every bot does when it starts."""
    from bot.audio import pulse_server
    from bot.leases import reap_stale

    try:
        return await asyncio.to_thread(reap_stale, settings.runtime_dir / "leases",
                                       pulse_server(settings.pulse_runtime_path))
    except Exception:
        log.warning("leftovers not reaped", exc_info=True)
        return []
