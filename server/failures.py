"""Failing a meeting from outside its bot: the status store and the failure callback a dead bot
could not send (a crash, a lost worker, a stop before it started)."""

from __future__ import annotations

import logging
import time

from bot.config import Settings
from bot.job import Job
from bot.lifecycle import Status
from bot.outcomes import MESSAGES, Outcome
from bot.webhooks import build_deliverer
from callbacks.payloads import FailurePayload, to_wire
from server.store import MeetingRecord, Result, StatusStore

log = logging.getLogger("meetbot.failures")


async def fail_meeting(store: StatusStore, settings: Settings, job: Job | MeetingRecord,
                       outcome: Outcome, error: str) -> bool:
    """End the meeting as failed, once; then call back. False if it had already ended."""
    ended = await store.finish(job.meeting_id, Result(status=Status.FAILED, reason=outcome.value,
                                                      error=error))
    if ended:
        log.warning("meeting failed", extra={"meeting_id": job.meeting_id, "code": outcome.value,
                                             "error": error})
        if job.callback_url is not None:
            await send_failure_callback(settings, job, outcome, error)
    return ended


async def send_failure_callback(settings: Settings, job: Job | MeetingRecord, outcome: Outcome,
                                error: str) -> None:
    """Durable: written to the outbox first, so a delivery that runs out of grace is retried."""
    body = to_wire(FailurePayload(
        status="failed", error_code=outcome.value, error=error or MESSAGES[outcome],
        meeting_id=job.meeting_id, callback_data=job.callback_data, reason=outcome.value,
        meeting_url=job.meeting_url, bot_name=job.bot_name, meeting_title=job.meeting_title))
    async with build_deliverer(settings) as deliverer:
        pending = await deliverer.enqueue(str(job.callback_url), body, event="callback",
                                          meeting_id=job.meeting_id)
        await deliverer.deliver(pending, give_up_at=time.time() + settings.callback_grace)


def job_of(record: MeetingRecord) -> Job:
    """The job a stored meeting was created from (to run it, or fail it, elsewhere)."""
    return Job.parse({"meeting_url": record.meeting_url, "bot_name": record.bot_name,
                      "meeting_title": record.meeting_title, "callback_url": record.callback_url,
                      "callback_data": record.callback_data, "time_zone": record.time_zone,
                      "meeting_id": record.meeting_id, "video_id": record.video_id,
                      "output_dir": record.output_dir})
