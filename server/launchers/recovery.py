"""Meetings whose bot is gone: adopted again if it is alive after all, else settled from storage.

A bot stores each segment and the playlist (with who the page showed speaking in each segment)
as it records, so when it dies with its host what it stored is still a recording: the segments
are joined into the MP4, the timeline is read back from the playlist, and the meeting ends
``done`` / ``recording_interrupted`` with a warning. Only a bot that stored nothing ends
``failed``. Either way the callback goes out, so no record stays non-final without an owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

from bot.leases import leased_tempdir, process_alive
from callbacks.factory import build_deliverer
from core.errors import MeetbotError
from core.job import Job
from core.lifecycle import UNSTARTED, Status
from core.outcomes import MESSAGES, Outcome
from core.payloads import FailurePayload, RecordingData, SpeakerSegment, SuccessPayload, to_wire
from core.settings import Settings
from media.ffmpeg import probe
from media.hls import Segment, concat_to_mp4, parse_playlist, runs_of
from status import MeetingRecord, Result, StatusStore
from status.streams import update_stream
from storage import local_file, open_storage

log = logging.getLogger("meetbot.recovery")

PLAYLIST = "hls/playlist.m3u8"


def owner_alive(owner: str, host: str | None = None) -> bool | None:
    """Whether the bot process a heartbeat names (``host:pid:start``) still runs: True or False
    on this host, None for another host (only its heartbeat can tell)."""
    try:
        name, pid, started = owner.rsplit(":", 2)
        pid_n, started_at = int(pid), float(started)
    except ValueError:
        return None
    if name != (host or socket.gethostname()):
        return None
    return process_alive(pid_n, started_at)


async def recover_meetings(store: StatusStore, settings: Settings) -> dict[str, str]:
    """At start: each started, non-final meeting is adopted (its bot still runs) or settled.
    Meetings not yet started stay with their launcher (requeued, or waiting in the queue)."""
    outcome: dict[str, str] = {}
    for record in await store.active():
        if record.phase in UNSTARTED:
            continue
        owner = await store.heartbeat_of(record.meeting_id)
        alive = owner_alive(owner) if owner else False
        if alive or (alive is None and owner):
            outcome[record.meeting_id] = "adopted"
            log.info("meeting adopted: its bot still runs", extra={"meeting_id": record.meeting_id,
                                                                  "owner": owner})
            continue
        error = (f"the server restarted and the bot recording it (phase {record.phase}) was gone")
        outcome[record.meeting_id] = await settle_lost(store, settings, record,
                                                       Outcome.SERVER_RESTARTED, error)
    return outcome


async def reap_lost(store: StatusStore, settings: Settings) -> list[str]:
    """Settle the started meetings whose bot stopped renewing its heartbeat (a killed bot, pod,
    worker or machine): noticed within ``heartbeat_ttl`` plus one reaper pass."""
    lost = []
    for record in await store.active():
        started = record.phase not in UNSTARTED
        stale = time.time() - record.updated_at > settings.heartbeat_ttl
        if started and stale and await store.heartbeat_of(record.meeting_id) is None:
            error = f"no heartbeat from its bot for {settings.heartbeat_ttl:g} s (phase {record.phase})"
            if await settle_lost(store, settings, record, Outcome.WORKER_LOST, error) != "already_ended":
                lost.append(record.meeting_id)
    return lost


async def settle_lost(store: StatusStore, settings: Settings, record: MeetingRecord,
                      outcome: Outcome, error: str, *, job: Job | None = None) -> str:
    """End a meeting whose bot is gone: ``done`` with what it stored, else ``failed``. The
    callback goes where ``job`` says when the launcher still has it, else where the record says."""
    target: Job | MeetingRecord = job or record
    try:
        salvaged = await salvage(record, settings)
    except (MeetbotError, OSError) as exc:
        log.warning("stored segments could not be joined", extra={
            "meeting_id": record.meeting_id, "error": str(exc)})
        salvaged = None
    if salvaged is None:
        await fail_meeting(store, settings, target, outcome, error)
        return "failed"
    data, duration, origin, recording_url = salvaged
    warning = (f"{error}; the recording holds the {duration:.1f} s it had stored (at most its last "
               f"{settings.segment_seconds} s segment and the end of the meeting are missing)")
    ended = await store.finish(record.meeting_id, Result(
        status=Status.DONE, reason=Outcome.RECORDING_INTERRUPTED.value,
        speaker_timeline=[s.model_dump() for s in data.speaker_timeline],
        stream_url=data.stream_url, recording_url=recording_url, duration=duration))
    if not ended:
        return "already_ended"
    log.warning("meeting settled from storage", extra={
        "meeting_id": record.meeting_id, "duration_s": duration, "error": error})
    await _stop_stream(store, record.rtstream_id, error)
    if target.callback_url:
        body = to_wire(SuccessPayload(
            status="done", data=data, meeting_id=record.meeting_id, callback_data=target.callback_data,
            reason=Outcome.RECORDING_INTERRUPTED.value, meeting_url=record.meeting_url,
            bot_name=record.bot_name, meeting_title=record.meeting_title, duration=duration,
            recording_started_at=origin, recording_url=recording_url, rtstream_id=record.rtstream_id,
            warnings=[warning]))
        async with build_deliverer(settings) as deliverer:
            pending = await deliverer.enqueue(str(target.callback_url), body, event="callback",
                                              meeting_id=record.meeting_id)
            await deliverer.deliver(pending, give_up_at=time.time() + settings.callback_grace)
    return "salvaged"


async def salvage(record: MeetingRecord,
                  settings: Settings) -> tuple[RecordingData, float, float, str] | None:
    """The recording a lost bot had stored: (data, duration, t=0 on the wall clock, MP4 URL), or
    None when it stored no segment."""
    storage = open_storage(record.storage_uri, settings, asset_id=record.video_id)
    if not await storage.exists(PLAYLIST):
        return None
    segments = parse_playlist((await storage.get_bytes(PLAYLIST)).decode())
    present = [s for s in segments if await storage.exists(f"hls/{s.name}")]
    if not present:
        return None
    runs = runs_of(present)
    with leased_tempdir(settings.runtime_dir / "leases", f"salvage-{record.meeting_id}-") as work:
        files = [[await local_file(storage, f"hls/{s.name}", work) for s in run] for run in runs]
        mp4 = work / "recording.mp4"
        await concat_to_mp4(files, mp4, lengths=[sum(s.duration for s in run) for run in runs],
                            audio_bitrate=settings.audio_bitrate)
        duration = round(float((await probe(mp4))["format"]["duration"]), 3)
        recording_url = await storage.put_file("recording.mp4", mp4)
    timeline = timeline_of(runs, merge_gap=settings.speaker_merge_gap)
    await storage.put_bytes("timeline.json",
                            json.dumps([s.model_dump() for s in timeline], indent=2).encode())
    data = RecordingData(video_id=record.video_id, speaker_timeline=timeline,
                         stream_url=storage.url(PLAYLIST), player_url=record.player_url)
    return data, duration, present[0].start, recording_url


def timeline_of(runs: list[list[Segment]], *, merge_gap: float) -> list[SpeakerSegment]:
    """Who the page showed speaking, from the turns each segment carries, on the recording's
    clock (the runs back to back); a turn split by a segment's edge is one turn again."""
    out: list[SpeakerSegment] = []
    last: dict[str, SpeakerSegment] = {}  # each speaker's latest turn
    offset = 0.0
    for run in runs:
        for seg in run:
            for name, start, end in seg.speaking:
                s, e = round(offset + seg.start - run[0].start + start, 3), \
                    round(offset + seg.start - run[0].start + end, 3)
                prev = last.get(name)
                if prev is not None and s - prev.end_time_seconds <= merge_gap:
                    prev.end_time_seconds = max(prev.end_time_seconds, e)
                else:
                    last[name] = SpeakerSegment(speaker_name=name, start_time_seconds=s,
                                                end_time_seconds=e)
                    out.append(last[name])
        offset += sum(s.duration for s in run)
    return sorted(out, key=lambda s: s.start_time_seconds)


# -- failing a meeting from outside its bot -------------------------------------------------------
async def fail_meeting(store: StatusStore, settings: Settings, job: Job | MeetingRecord,
                       outcome: Outcome, error: str,
                       background: set[asyncio.Task[None]] | None = None) -> bool:
    """End the meeting as failed, once; then call back (in a task added to ``background`` when
    given, so the caller does not wait on the receiver). False if it had already ended."""
    ended = await store.finish(job.meeting_id, Result(status=Status.FAILED, reason=outcome.value,
                                                      error=error))
    if ended:
        await _stop_stream(store, job.rtstream_id, error)
    if ended:
        log.warning("meeting failed", extra={"meeting_id": job.meeting_id, "code": outcome.value,
                                             "error": error})
        if job.callback_url is not None:
            call_back = _call_back(settings, job, outcome, error)
            if background is None:
                await call_back
            else:
                task = asyncio.create_task(call_back, name="failure-callback")
                background.add(task)
                task.add_done_callback(background.discard)
    return ended


async def _call_back(settings: Settings, job: Job | MeetingRecord, outcome: Outcome, error: str) -> None:
    try:
        await send_failure_callback(settings, job, outcome, error)
    except Exception:
        log.exception("failure callback not sent", extra={"meeting_id": job.meeting_id})


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


async def _stop_stream(store: StatusStore, rtstream_id: str | None, error: str) -> None:
    """The meeting's stream stops with it; what its bot stored stays exportable."""
    if rtstream_id:
        await update_stream(store, rtstream_id, lambda r: r.model_copy(update={
            "status": "stopped", "want": "stopped", "error": error,
            "spans": [s if s.stopped_at else s.model_copy(update={"stopped_at": time.time()})
                      for s in r.spans]}))
