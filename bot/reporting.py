"""Reporting a job: its phases, its heartbeat and its result, to the status store and the callback.

The runner produces typed facts (phase changes, a ``JobResult``); this turns them into what
others read: status-change events (when the job asks for them), the status store's record (when a
server or worker started the bot), the bot's own heartbeat (so a lost bot is noticed in every
launch mode), the callback payload (VideoDB's keys first, durable through the outbox), and the
result, stats and delivery files beside the recording. Nothing here waits on a receiver for long:
progress events go out in the background, and the result's delivery is bounded by a grace period
after which the outbox takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import psutil
from pydantic import BaseModel

from bot.recording_store import Recording, RecordingStore
from bot.usage import Usage
from callbacks.delivery import Deliverer, DeliveryReport
from core.aio import bounded, cancel_and_wait
from core.health import process_tree_usage, update_health
from core.job import Job
from core.lifecycle import Phase, Status
from core.outcomes import MESSAGES, Outcome
from core.payloads import (
    CallbackPayload,
    ChatMessage,
    FailurePayload,
    LiveData,
    LiveEvent,
    LiveKind,
    ParticipantCount,
    RecordingData,
    SpeakerChange,
    StatusChangeEvent,
    SuccessPayload,
    to_wire,
)
from core.settings import Settings
from core.urls import player_url, stream_url
from status import Result, StatusStore
from status.events import events_kind
from status.streams import Span, StreamRecord, get_stream, update_stream

log = logging.getLogger("meetbot.reporting")


class JobResult(BaseModel):
    """How one job went, as the runner saw it."""

    meeting_id: str
    video_id: str
    status: Status
    outcome: Outcome
    error: str | None = None
    recording: Recording | None = None
    warnings: list[str] = []
    usage: Usage = Usage()
    timings: dict[str, float] = {}
    chat_messages: list[ChatMessage] = []
    av_offset_ms: float | None = None
    av_correction_ms: float | None = None
    observed: dict[str, str] = {}
    """What the page showed that decided things (admission and speaking signals)."""
    phases: list[tuple[str, float]] = []


class SpanChange(BaseModel):
    """A recording span began (``stopped_at`` None) or ended."""

    index: int
    started_at: float
    stopped_at: float | None = None
    segments: int = 0


def owner_id() -> str:
    """This bot process, as its heartbeat names it: host, PID and the PID's start time (a PID alone
    can be reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{psutil.Process().create_time():.2f}"


class Reporter:
    def __init__(self, job: Job, settings: Settings, *, files: RecordingStore, deliverer: Deliverer,
                 store: StatusStore | None = None) -> None:
        self.job, self.settings = job, settings
        self.files, self.deliverer, self.store = files, deliverer, store
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        """Status changes, sent in memory only: useless late, never after the result."""
        self._live_events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        """Live events, sent durably: a transcript is worth its retries."""
        self._seq = 0
        self._held: list[tuple[LiveKind, LiveData]] = []
        self._waiting_origin: asyncio.Task[None] | None = None
        self._writes: asyncio.Queue[tuple[Phase, float] | Result | SpanChange | dict[str, Any]] = \
            asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        base = settings.public_url
        self._live = ({"stream_url": stream_url(str(base), job.video_id)} if base else {})
        if base and not job.audio_only:  # nothing to watch in a sound-only recording
            self._live["player_url"] = player_url(str(base), job.video_id)
        self._phase = Phase.CREATED
        self._cpu_seen: tuple[float, float] | None = None
        self.capture_figures: Callable[[], dict[str, float]] = dict
        """The recorder's live losses (the runner's capture health), for the heartbeat's figures."""

    # -- while the job runs -------------------------------------------------------------------
    async def start(self) -> None:
        await self.files.put_json("job.json", self.job.model_dump(mode="json"))
        if self.job.status_events and self.job.callback_url:
            self._tasks.append(asyncio.create_task(self._send(self._events, durable=False),
                                                   name="status-events"))
        if self.job.transcript_events and self.job.callback_url:
            self._tasks.append(asyncio.create_task(self._send(self._live_events, durable=True),
                                                   name="live-events"))
        if self.store is not None:
            # The first beat is written before the job goes on: a bot is alive from its start,
            # not from whenever a background task first gets scheduled.
            await self._beat()
            self._tasks.append(asyncio.create_task(self._write_store(), name="status-store"))
            self._tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))

    def phase_changed(self, old: Phase, new: Phase, at: float) -> None:
        self._phase = new
        if self.job.status_events and self.job.callback_url:
            self._events.put_nowait(StatusChangeEvent(
                meeting_id=self.job.meeting_id, callback_data=self.job.callback_data,
                status=new.status.value, phase=new.value, previous_phase=old.value,
                at=at).model_dump(mode="json"))
        if self.store is not None:
            self._writes.put_nowait((new, at))

    async def _send(self, queue: asyncio.Queue[dict[str, Any]], *, durable: bool) -> None:
        """In order, in the background: the job never waits on the receiver for these."""
        url = str(self.job.callback_url)
        while True:
            body = await queue.get()
            try:
                await self.deliverer.send(url, body, event=body["event"], meeting_id=self.job.meeting_id,
                                          durable=durable,
                                          give_up_at=time.time() + self.settings.callback_status_grace)
            except Exception:
                log.warning("event not delivered", extra={"event": body["event"]}, exc_info=True)
            finally:
                queue.task_done()

    def live_event(self, kind: LiveKind, data: LiveData) -> None:
        """A live event (speaker and participant changes dated on the wall clock, utterances on the
        recording's): numbered and placed on the recording's clock once its first frame is known,
        then written to the status store for ``serve``'s event stream and sent to ``callback_url``
        with ``transcript_events``, each in order, in the background."""
        if self.store is None and not (self.job.transcript_events and self.job.callback_url):
            return  # nobody to tell
        self._held.append((kind, data))
        if self.files.origin is not None and self._waiting_origin is None:
            self._release()
        elif self._waiting_origin is None:
            self._waiting_origin = asyncio.create_task(self._release_at_origin(), name="live-origin")
            self._tasks.append(self._waiting_origin)

    async def _release_at_origin(self, timeout: float = 30.0) -> None:
        with contextlib.suppress(TimeoutError):
            await bounded(self.files.origin_known(), timeout)
        self._waiting_origin = None
        self._release()

    def _release(self) -> None:
        origin = self.files.origin
        held, self._held = self._held, []
        for kind, data in held:
            if isinstance(data, SpeakerChange | ParticipantCount | ChatMessage):
                data = data.model_copy(update={"at": round(self.files.recording_time(data.at), 3)})
            self._seq += 1
            event = LiveEvent(event=kind, meeting_id=self.job.meeting_id,
                              callback_data=self.job.callback_data, seq=self._seq,
                              recording_started_at=origin, data=data, at=round(time.time(), 3))
            body = event.model_dump(mode="json")
            if self.store is not None:
                self._writes.put_nowait(body)
            if self.job.transcript_events and self.job.callback_url:
                self._live_events.put_nowait(body)

    def span_changed(self, change: SpanChange) -> None:
        """The meeting's RTStream follows its recording spans (connected while one is open)."""
        if self.store is not None and self.job.rtstream_id:
            self._writes.put_nowait(change)

    async def wanted_state(self) -> str | None:
        """What the meeting's RTStream asks for ("connected" or "stopped"), if it has one."""
        if self.store is None or not self.job.rtstream_id:
            return None
        record = await get_stream(self.store, self.job.rtstream_id)
        return record.want if record else None

    async def _write_span(self, change: SpanChange) -> None:
        assert self.store is not None and self.job.rtstream_id

        def apply(r: StreamRecord) -> StreamRecord:
            spans = [s for s in r.spans if s.index != change.index]
            spans.append(Span(index=change.index, started_at=change.started_at,
                              stopped_at=change.stopped_at, segments=change.segments))
            spans.sort(key=lambda s: s.index)
            return r.model_copy(update={"spans": spans,
                                        "status": "connected" if change.stopped_at is None else "stopped"})

        await update_stream(self.store, self.job.rtstream_id, apply)

    async def _write_store(self) -> None:
        assert self.store is not None
        while True:
            item = await self._writes.get()
            try:
                if isinstance(item, dict):  # a live event
                    await self.store.put_doc(events_kind(self.job.meeting_id), f"{item['seq']:09d}",
                                             json.dumps(item), float(item["seq"]))
                elif isinstance(item, SpanChange):
                    await self._write_span(item)
                elif isinstance(item, Result):
                    await self.store.finish(self.job.meeting_id, item)
                    if self.job.rtstream_id:  # the meeting is over: so is its stream
                        await update_stream(self.store, self.job.rtstream_id, lambda r: r.model_copy(
                            update={"want": "stopped", "status": "stopped"}))
                else:
                    phase, at = item
                    live = self._live if phase is Phase.IN_CALL_RECORDING else None
                    await self.store.record_phase(self.job.meeting_id, phase, at, live)
            except Exception:
                log.warning("status store not updated", exc_info=True)
            finally:
                self._writes.task_done()

    async def _beat(self) -> None:
        assert self.store is not None
        try:
            try:
                figures: dict[str, Any] | None = await self._figures()
            except Exception:  # figures are for metrics: never worth a missed heartbeat
                log.warning("bot figures not measured", exc_info=True)
                figures = None
            await self.store.beat(self.job.meeting_id, owner_id(), self.settings.heartbeat_ttl, figures)
        except Exception:
            log.warning("heartbeat not written", exc_info=True)

    async def _figures(self) -> dict[str, Any]:
        """What every server's ``/metrics`` shows of this bot, however it was launched: its
        process tree's CPU since the last beat and memory (PSS), its phase, its capture's losses."""
        seconds, pss, started = await asyncio.to_thread(process_tree_usage, os.getpid())
        now = time.time()
        t0, s0 = self._cpu_seen or (started or now, 0.0)
        self._cpu_seen = (now, seconds)
        out: dict[str, Any] = {"launcher": self.settings.launched_by, "host": socket.gethostname(),
                               "pid": os.getpid(), "phase": self._phase.value, "memory_bytes": pss,
                               "at": round(now, 3)}
        if now > t0:
            out["cpu_cores"] = round(max(0.0, (seconds - s0) / (now - t0)), 4)
        capture = self.capture_figures()
        for key, name in (("last_window_lost", "frames_lost_ratio"),
                          ("last_window_sound_lost", "sound_lost_ratio")):
            if isinstance(capture.get(key), int | float):
                out[name] = capture[key]
        return out

    async def _heartbeat(self) -> None:
        """The bot itself says it is alive: whoever launched it need not stand in between."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            await self._beat()

    # -- the result ---------------------------------------------------------------------------
    def payload(self, result: JobResult) -> CallbackPayload:
        job, rec = self.job, result.recording
        data = None
        if rec is not None and (rec.recording_url or rec.stream_url):
            data = RecordingData(video_id=job.video_id, speaker_timeline=rec.timeline,
                                 stream_url=rec.stream_url,
                                 player_url=self._live.get("player_url"))
        common: dict[str, Any] = dict(
            meeting_id=job.meeting_id, callback_data=job.callback_data, reason=result.outcome.value,
            meeting_url=job.meeting_url, bot_name=job.bot_name, meeting_title=job.meeting_title,
            duration=rec.duration if rec else None, recording_started_at=rec.origin if rec else None,
            recording_url=rec.recording_url if rec else None, warnings=result.warnings,
            rtstream_id=job.rtstream_id, pauses=rec.pauses if rec else [],
            transcript=rec.transcript if rec else None, chat_messages=result.chat_messages,
            av_offset_ms=result.av_offset_ms, av_correction_ms=result.av_correction_ms,
        )
        if result.status is Status.DONE and data is not None:
            return SuccessPayload(status="done", data=data, **common)
        return FailurePayload(status="failed", error_code=result.outcome.value,
                              error=result.error or MESSAGES[result.outcome], data=data, **common)

    async def report(self, result: JobResult) -> DeliveryReport | None:
        """Store the result, tell the status store, then deliver the callback (durably)."""
        body = to_wire(self.payload(result))
        update_health(self.settings.health_file, outcome=result.outcome.value)
        await self.files.put_json("result.json", body)
        await self.files.put_json("stats.json", {
            "usage": result.usage.model_dump(), "timings": result.timings, "observed": result.observed,
            "phases": result.phases})
        if self.store is not None:
            data = body.get("data") or {}
            self._writes.put_nowait(Result(
                status=result.status, reason=result.outcome.value, error=body.get("error"),
                speaker_timeline=data.get("speaker_timeline"), stream_url=data.get("stream_url"),
                player_url=data.get("player_url"), recording_url=body.get("recording_url"),
                duration=body.get("duration")))
        if not self.job.callback_url:
            return None
        url, mid = str(self.job.callback_url), self.job.meeting_id
        pending = None
        try:
            # On disk before anything else, so no exit from here on loses the callback; held back
            # while the progress events drain, so a receiver never sees "in_call" after the result.
            pending = await self.deliverer.enqueue(
                url, body, event="callback", meeting_id=mid,
                not_before=time.time() + self.settings.callback_status_grace)
        except OSError:
            log.error("callback outbox not writable; sending without it", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await bounded(self._events.join(), self.settings.callback_status_grace)
        with contextlib.suppress(TimeoutError):  # the call's last words before its result
            await bounded(self._live_events.join(), self.settings.callback_status_grace)
        give_up = time.time() + self.settings.callback_grace
        if pending is not None:
            await self.deliverer.release(pending)
            delivery = await self.deliverer.deliver(pending, give_up_at=give_up)
        else:
            delivery = await self.deliverer.send(url, body, event="callback", meeting_id=mid,
                                                 durable=False, give_up_at=give_up)
        if not delivery.delivered:
            log.warning("callback not delivered yet; left in the outbox",
                        extra={"delivery_id": delivery.id, "state": str(delivery.state)})
        else:
            # From the moment the bot stopped recording (left, or failed) to the receiver's 2xx.
            ended = next((at for p, at in result.phases if p in ("leaving", "uploading", "failed")), None)
            if ended is not None:
                update_health(self.settings.health_file, callback_latency_s=round(time.time() - ended, 3))
        await self.files.put_json("delivery.json", delivery.model_dump(mode="json"))
        return delivery

    async def aclose(self, timeout: float = 10.0) -> None:
        """Let the store writes drain (the result among them), then stop the background tasks."""
        with contextlib.suppress(TimeoutError):
            await bounded(self._writes.join(), timeout)
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
