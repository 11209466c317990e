"""JobRunner: one recording job end to end, every resource released whatever happens.

Order: validate URL -> camera image -> display -> sink -> browser -> join -> (lobby) -> record
-> leave -> stop ffmpeg -> release browser, sink, display -> remux -> store -> result + callback.
The runner owns the policies (timeouts, auto-leave); the adapter only reads and drives the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

import platforms
from bot.aio import cleanup_step
from bot.audio import AudioSink, pulse_server
from bot.avatar import prepare_camera
from bot.browser import BrowserSession
from bot.config import Settings
from bot.display import VirtualDisplay
from bot.errors import JobError, JoinError, MeetbotError, RecordingError
from bot.job import Job
from bot.leases import reap_stale
from bot.lifecycle import JobStateMachine, Phase, Status
from bot.media import probe, remux_to_mp4, stream_of
from bot.outcomes import MESSAGES, Outcome
from bot.recorder import PLAYLIST, Recorder
from bot.storage import LocalStorage, Storage
from bot.timeline import SpeakerSegment, SpeakerTimeline, SpeakingChange
from bot.usage import Usage, sample_usage
from bot.webhooks import build_deliverer, url_policy
from callbacks.delivery import Deliverer, DeliveryReport
from callbacks.guard import GuardedTransport, UnsafeUrlError, check_url
from callbacks.payloads import (
    CallbackPayload,
    FailurePayload,
    RecordingData,
    StatusChangeEvent,
    SuccessPayload,
    to_wire,
)
from platforms.base import (
    Admitted,
    MeetingEnded,
    MeetingEvent,
    ParticipantCount,
    PlatformAdapter,
    SpeakerSignal,
    SpeakingChanged,
)

log = logging.getLogger("meetbot.runner")


class Recording(BaseModel):
    mp4: Path | None = None
    duration: float | None = None
    origin: float | None = None
    """Wall-clock time of the MP4's t=0."""
    timeline: list[SpeakerSegment] = []
    stream_url: str | None = None
    recording_url: str | None = None


class JobResult(BaseModel):
    meeting_id: str
    video_id: str
    status: Status
    outcome: Outcome
    error: str | None
    payload: dict[str, Any]
    output_dir: Path | None
    recording: Recording | None
    usage: Usage
    timings: dict[str, float]
    delivery: DeliveryReport | None = None


class JobRunner:
    def __init__(self, job: Job, *, settings: Settings, storage: Storage | None = None) -> None:
        self.job = job
        self.settings = settings
        self.output_dir = (job.output_dir or settings.output_dir / job.meeting_id).resolve()
        self.storage: Storage = storage or LocalStorage(self.output_dir)
        self.state = JobStateMachine()
        self.state.on_change(self._log_phase)
        self.timeline = SpeakerTimeline(merge_gap=settings.speaker_merge_gap)
        self.usage = Usage()
        self.warnings: list[str] = []
        self._stop = asyncio.Event()
        self._stop_outcome = Outcome.STOPPED
        self._recorder: Recorder | None = None
        self._stored_segments: set[str] = set()
        self._gate_by_sound = False
        self._admitted_at: float | None = None
        self._observed: dict[str, str] = {}
        """What the adapter saw that decided things (admission and speaking signals), for stats."""
        """Wall-clock time the page showed the bot in the call."""
        self._timings: dict[str, float] = {}
        self._started = time.time()
        self._status_events: asyncio.Queue[StatusChangeEvent] = asyncio.Queue()
        self.result_listeners: list[Callable[[dict[str, Any]], None]] = []
        """Hear the result body as soon as it is stored, before the callback is delivered."""

    # -- control ------------------------------------------------------------------------------
    def request_stop(self, outcome: Outcome = Outcome.STOPPED) -> None:
        """Graceful stop: leave, finalize, store and call back. Safe to call more than once."""
        if not self._stop.is_set():
            log.info("stop requested", extra={"reason": outcome.value, "phase": self.state.phase.value})
            self._stop_outcome = outcome
            self._stop.set()

    def _log_phase(self, old: Phase, new: Phase, at: float) -> None:
        self._timings[new.value] = round(at - self._started, 3)
        log.info("phase changed", extra={"meeting_id": self.job.meeting_id, "phase": new.value,
                                         "status": new.status.value, "from": old.value})
        if self.job.status_events and self.job.callback_url:
            self._status_events.put_nowait(StatusChangeEvent(
                meeting_id=self.job.meeting_id, callback_data=self.job.callback_data,
                status=new.status.value, phase=new.value, previous_phase=old.value, at=at))

    async def _send_status_events(self, deliverer: Deliverer) -> None:
        """In order, in the background: the job never waits on the receiver for these."""
        url = str(self.job.callback_url)
        while True:
            event = await self._status_events.get()
            try:
                await deliverer.send(url, event.model_dump(mode="json"), event="status_change",
                                     meeting_id=self.job.meeting_id, durable=False,
                                     give_up_at=time.time() + self.settings.callback_status_grace)
            except Exception:
                log.warning("status event not delivered", exc_info=True)
            finally:
                self._status_events.task_done()

    # -- the job ------------------------------------------------------------------------------
    async def run(self) -> JobResult:
        outcome = Outcome.INTERNAL_ERROR
        error: str | None = None
        recording: Recording | None = None
        work = Path(tempfile.mkdtemp(prefix=f"meetbot-{self.job.meeting_id}-"))
        keep_work = False
        policy = url_policy(self.settings)
        async with httpx.AsyncClient() as http, \
                httpx.AsyncClient(transport=GuardedTransport(policy)) as images:
            deliverer = build_deliverer(self.settings, client=http)
            sender = asyncio.create_task(self._send_status_events(deliverer), name="status-events")
            try:
                outcome, recording = await self._record(work, images)
            except MeetbotError as exc:
                outcome, error = exc.code, exc.message
                log.warning("job failed", extra={"code": exc.code.value, "error": exc.message})
            except asyncio.CancelledError:
                outcome, error = Outcome.STOPPED, "cancelled"
                raise
            except Exception as exc:
                outcome, error = Outcome.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"
                log.exception("job crashed")
            finally:
                if self._recorder is not None and recording is None:
                    # Something failed after recording began: keep what was captured.
                    recording, keep_work = await self._salvage()
                result = await self._conclude(outcome, error, recording, deliverer, sender)
                if not keep_work:
                    shutil.rmtree(work, ignore_errors=True)
        return result

    async def _record(self, work: Path, images: httpx.AsyncClient) -> tuple[Outcome, Recording]:
        """``images``: the SSRF-guarded client the bot's picture is fetched with."""
        s, job = self.settings, self.job
        self.state.move(Phase.STARTING)
        await self.storage.put_bytes("job.json", job.model_dump_json(indent=2).encode())
        adapter_cls, ref = platforms.resolve(job.meeting_url)  # before any resource starts
        await self._check_callback_url()
        log.info("meeting resolved", extra={"platform": ref.platform, "meeting": ref.meeting_id})
        camera, warning = await prepare_camera(
            bot_name=job.bot_name, image_url=str(job.bot_image_url) if job.bot_image_url else None,
            work_dir=work, client=images,
        )
        if warning:
            self.warnings.append(f"bot_image_url not used: {warning}")
        leases = s.runtime_dir / "leases"
        await asyncio.to_thread(reap_stale, leases, pulse_server(s.pulse_runtime_path))
        async with AsyncExitStack() as stack:
            display = await stack.enter_async_context(
                VirtualDisplay(width=s.video_width, height=s.video_height, lease_dir=leases))
            sink = await stack.enter_async_context(
                AudioSink(runtime_path=s.pulse_runtime_path, lease_dir=leases))
            browser = await stack.enter_async_context(BrowserSession(
                executable=s.chromium_path, display=display.name, audio_env=sink.client_env(),
                width=s.video_width, height=s.video_height, fake_camera=camera,
                host_overrides=s.host_overrides,
            ))
            assert browser.page is not None
            adapter = adapter_cls(ref, browser.page)
            self.state.move(Phase.JOINING)
            admitted_at = await self._join(adapter)
            # Recording starts the moment the page shows the bot in the call; what is left of
            # joining (computer audio, dialogs, camera) runs beside it, never before it.
            self.state.move(Phase.IN_CALL_RECORDING)
            self._recorder = await stack.enter_async_context(Recorder(
                display=display.name, width=s.video_width, height=s.video_height,
                fps=s.video_fps, audio_env=sink.client_env(), monitor=sink.monitor,
                work_dir=work / "hls", preset=s.x264_preset, audio_bitrate=s.audio_bitrate,
                segment_seconds=s.segment_seconds, stop_timeout=s.ffmpeg_stop_timeout,
                audio_delay=s.audio_delay_ms / 1000, on_segment=self._store_segment,
            ))
            self._admitted_at = admitted_at
            side = asyncio.create_task(adapter.after_admission(), name="after-admission")
            stack.push_async_callback(_cancel, side)
            sampler = asyncio.create_task(sample_usage(self.usage), name="usage")
            stack.push_async_callback(_cancel, sampler)
            self._gate_by_sound = not adapter.SPEAKER_ENDS_VISIBLE
            outcome = await self._in_call(adapter, self._recorder)
            self.state.move(Phase.LEAVING)
            await cleanup_step("leave meeting", adapter.leave(), s.leave_timeout)
            await self._recorder.stop()
        # Browser, sink and display are released: the remux gets the CPU to itself.
        self.state.move(Phase.UPLOADING)
        return outcome, await self._finalize(self._recorder)

    async def _check_callback_url(self) -> None:
        if self.job.callback_url is None:
            return
        try:
            await check_url(str(self.job.callback_url), url_policy(self.settings))
        except UnsafeUrlError as exc:
            if not exc.retryable:  # an unresolvable host may come back; a private one will not
                raise JobError(Outcome.INVALID_JOB, f"callback_url refused: {exc}") from exc

    async def _join(self, adapter: PlatformAdapter) -> float:
        """Join and wait for admission; the wall-clock time the page showed the bot in the call."""
        job, s = self.job, self.settings
        loop = asyncio.get_running_loop()
        started = loop.time()
        lobby_since: list[float] = []

        def on_waiting_room() -> None:
            lobby_since.append(loop.time())
            self.state.move(Phase.IN_WAITING_ROOM)

        async def flow() -> Admitted:
            await adapter.join(bot_name=job.bot_name)
            return await adapter.wait_admitted(on_waiting_room)

        task = asyncio.create_task(flow(), name="join")
        stop = asyncio.create_task(self._stop.wait(), name="stop-wait")
        try:
            while True:
                done, _ = await asyncio.wait({task, stop}, timeout=0.25,
                                             return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    admitted = task.result()
                    self._observed["admission_signal"] = admitted.signal
                    self._timings["admitted_after_s"] = round(loop.time() - started, 3)
                    # The page clock is the wall clock of the same machine, give or take a
                    # millisecond; measured properly once recording runs.
                    return admitted.page_time
                if stop in done:
                    raise JoinError(self._stop_outcome, "stopped before the bot was admitted")
                now = loop.time()
                if lobby_since and now - lobby_since[0] > job.waiting_room_timeout:
                    raise JoinError(Outcome.WAITING_ROOM_TIMEOUT,
                                    f"not admitted within {job.waiting_room_timeout:g} s")
                if not lobby_since and now - started > s.join_timeout:
                    raise JoinError(Outcome.INTERNAL_ERROR,
                                    f"neither in the call nor in the waiting room after {s.join_timeout:g} s")
        finally:
            await _cancel(task)
            await _cancel(stop)

    async def _in_call(self, adapter: PlatformAdapter, recorder: Recorder) -> Outcome:
        job = self.job
        loop = asyncio.get_running_loop()
        offset = await adapter.page_clock_offset()
        self._timings["page_clock_offset_ms"] = round(offset * 1000, 2)
        if self._admitted_at is not None:
            self._admitted_at += offset
            self._timings["admitted_at_epoch"] = round(self._admitted_at, 4)
        stuck_logged: set[tuple[str, float]] = set()
        began = loop.time()
        alone_since: float | None = None
        others_seen = False  # from the count, or anyone speaking
        count_known = False
        events = adapter.watch()
        nxt: asyncio.Task[MeetingEvent] | None = None
        stop = asyncio.create_task(self._stop.wait(), name="stop-wait")
        try:
            while True:
                if nxt is None:
                    nxt = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({nxt, stop}, timeout=0.5,
                                             return_when=asyncio.FIRST_COMPLETED)
                if stop in done:
                    return self._stop_outcome
                if nxt in done:
                    try:
                        ev = nxt.result()
                    except StopAsyncIteration:
                        return Outcome.MEETING_ENDED
                    nxt = None
                    if isinstance(ev, SpeakerSignal):
                        if ev.signal:
                            self._observed["speaking_signal"] = ev.signal
                    elif isinstance(ev, SpeakingChanged):
                        others_seen = True
                        self.timeline.add(SpeakingChange(ev.name, ev.speaking, ev.page_time + offset))
                    elif isinstance(ev, ParticipantCount):
                        log.info("participants", extra={"count": ev.count})
                        count_known = True
                        others_seen = others_seen or ev.count > 1
                        alone_since = (alone_since or loop.time()) if ev.count <= 1 else None
                    elif isinstance(ev, MeetingEnded):
                        log.info("meeting ended", extra={"reason": ev.outcome.value, "text": ev.detail})
                        return ev.outcome
                now = loop.time()
                if alone_since is not None:
                    if others_seen and now - alone_since >= job.everyone_left_timeout:
                        return Outcome.EVERYONE_LEFT
                    if not others_seen and count_known and now - began >= job.noone_joined_timeout:
                        return Outcome.NOONE_JOINED_TIMEOUT
                if now - began >= job.max_duration:
                    return Outcome.MAX_DURATION_REACHED
                silent = recorder.silent_since
                if silent is not None and time.time() - silent >= job.silence_timeout:
                    return Outcome.SILENCE_TIMEOUT
                if silent is not None and not self._gate_by_sound:
                    self._log_stuck(silent, stuck_logged)
                if not recorder.running:
                    raise RecordingError("ffmpeg exited during the call: " + " | ".join(recorder.tail()[-3:]))
        finally:
            await _cancel(stop)
            if nxt is not None:
                await _cancel(nxt)
            await events.aclose()

    def _log_stuck(self, silent_since: float, logged: set[tuple[str, float]]) -> None:
        """Say so as soon as a speaker is shown speaking over several seconds of silence."""
        quiet = time.time() - silent_since
        if quiet < self.settings.stuck_signal_silence:
            return
        for name, since in self.timeline.speaking_since().items():
            key = (name, since)
            limit = self.settings.stuck_signal_silence
            if key not in logged and time.time() - max(since, silent_since) >= limit:
                logged.add(key)
                log.warning("stuck speaking signal: shown speaking over silence",
                            extra={"speaker": name, "silent_s": round(quiet, 1)})

    # -- storage ------------------------------------------------------------------------------
    async def _store_segment(self, path: Path) -> None:
        """Store a finished segment, then a playlist that lists only stored segments."""
        try:
            await self.storage.put_file(f"hls/{path.name}", path)
            self._stored_segments.add(path.name)
            lines = path.parent.joinpath(PLAYLIST).read_text().splitlines()
            cut = next((i for i, ln in enumerate(lines) if ln.strip() == path.name), len(lines) - 1)
            await self.storage.put_bytes("hls/" + PLAYLIST, ("\n".join(lines[: cut + 1]) + "\n").encode())
        except MeetbotError as exc:
            # Kept on local disk; stored again when the recording is finalized.
            log.warning("segment not stored yet", extra={"segment": path.name, "error": exc.message})

    async def _finalize(self, recorder: Recorder) -> Recording:
        mp4 = recorder.dir.parent / "recording.mp4"
        if not recorder.segments:
            raise RecordingError("the recorder produced no media")
        await remux_to_mp4(recorder.playlist, mp4)
        info = await probe(mp4)
        duration = float(info["format"]["duration"])
        video = stream_of(info, "video")
        v_start = float(video.get("start_time", 0.0)) if video else 0.0
        # The MP4's t=0 on the wall clock: the first frame's capture time minus its pts in the file.
        first = recorder.first_frame_at or recorder.started_at or time.time()
        origin = first - v_start
        segments = self.timeline.segments(
            origin=origin, end=origin + duration, sound=recorder.sound, gate=self._gate_by_sound,
            stuck_after=self.settings.stuck_signal_silence)
        for stuck in self.timeline.stuck:
            log.warning("stuck speaking signal cut", extra={
                "speaker": stuck.name, "at_s": stuck.at_seconds, "silence_s": stuck.silence})
            self.warnings.append(stuck.describe())
        rec = Recording(mp4=mp4, duration=round(duration, 3), origin=round(origin, 4), timeline=segments)
        for seg in recorder.segments:
            if seg.name not in self._stored_segments:
                await self.storage.put_file(f"hls/{seg.name}", seg)
        rec.stream_url = await self.storage.put_file("hls/" + PLAYLIST, recorder.playlist)
        rec.recording_url = await self.storage.put_file("recording.mp4", mp4)
        await self.storage.put_bytes("timeline.json", json.dumps(
            [s.model_dump() for s in segments], indent=2).encode())
        self._timings["recording_origin_epoch"] = origin
        if recorder.first_frame_at is not None and self._admitted_at is not None:
            delay = recorder.first_frame_at - self._admitted_at
            self._timings["admission_to_first_frame_s"] = round(delay, 3)
        self._timings["recording_duration_s"] = round(duration, 3)
        if recorder.started_at and recorder.stopped_at:
            self._timings["recorder_wall_s"] = round(recorder.stopped_at - recorder.started_at, 3)
        return rec

    async def _salvage(self) -> tuple[Recording | None, bool]:
        """After a failure mid-call: finalize what ffmpeg wrote, so the user still gets it."""
        recorder = self._recorder
        assert recorder is not None
        try:
            if recorder.running:
                await recorder.stop()
            return await self._finalize(recorder), False
        except Exception as exc:
            log.error("recording could not be finalized; segments kept on disk",
                      extra={"dir": str(recorder.dir), "error": str(exc)})
            self.warnings.append(f"segments kept at {recorder.dir}: {exc}")
            return None, True

    # -- result -------------------------------------------------------------------------------
    async def _conclude(self, outcome: Outcome, error: str | None, recording: Recording | None,
                        deliverer: Deliverer, sender: asyncio.Task[None]) -> JobResult:
        has_media = recording is not None and recording.recording_url is not None
        done = outcome.is_success and has_media
        if outcome.is_success and not has_media and error is None:
            error = MESSAGES[outcome] + " Nothing was recorded."
        if not self.state.phase.is_terminal:
            self.state.move(Phase.DONE if done else Phase.FAILED)
        payload = self._payload(outcome, error, recording, done)
        body = to_wire(payload)
        try:
            await self.storage.put_bytes("result.json", json.dumps(body, indent=2).encode())
        except MeetbotError as exc:
            log.error("result not stored", extra={"error": exc.message})
        for listener in self.result_listeners:
            listener(body)
        pending = None
        if self.job.callback_url:
            # On disk before anything else, so no exit from here on loses the callback; held back
            # while the progress events drain, so a receiver never sees "in_call" after the result.
            try:
                pending = await deliverer.enqueue(
                    str(self.job.callback_url), body, event="callback", meeting_id=self.job.meeting_id,
                    not_before=time.time() + self.settings.callback_status_grace)
            except OSError:
                log.error("callback outbox not writable; sending without it", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._status_events.join(), self.settings.callback_status_grace)
        await _cancel(sender)
        delivery = None
        if pending is not None:
            await deliverer.release(pending)
            delivery = await deliverer.deliver(pending, give_up_at=time.time() + self.settings.callback_grace)
        elif self.job.callback_url:
            delivery = await deliverer.send(str(self.job.callback_url), body, event="callback",
                                            meeting_id=self.job.meeting_id, durable=False,
                                            give_up_at=time.time() + self.settings.callback_grace)
        if delivery is not None:
            if not delivery.delivered:
                log.warning("callback not delivered yet; left in the outbox",
                            extra={"delivery_id": delivery.id, "state": str(delivery.state)})
            with contextlib.suppress(MeetbotError):
                await self.storage.put_bytes("delivery.json", delivery.model_dump_json(indent=2).encode())
        result = JobResult(
            meeting_id=self.job.meeting_id, video_id=self.job.video_id,
            status=Status.DONE if done else Status.FAILED, outcome=outcome, error=error,
            payload=body, output_dir=self.output_dir if isinstance(self.storage, LocalStorage) else None,
            recording=recording, usage=self.usage, timings=self._timings, delivery=delivery,
        )
        with contextlib.suppress(MeetbotError):
            await self.storage.put_bytes("stats.json", json.dumps(
                {"usage": self.usage.model_dump(), "timings": self._timings, "observed": self._observed,
                 "phases": [(p.value, t) for p, t in self.state.history]}, indent=2).encode())
        log.info("job finished", extra={"status": result.status.value, "reason": outcome.value})
        return result

    def _payload(self, outcome: Outcome, error: str | None, rec: Recording | None,
                 done: bool) -> CallbackPayload:
        job = self.job
        data = None
        if rec is not None and rec.recording_url:
            data = RecordingData(video_id=job.video_id, speaker_timeline=rec.timeline,
                                 stream_url=rec.stream_url, player_url=self._player_url())
        common: dict[str, Any] = dict(
            meeting_id=job.meeting_id, callback_data=job.callback_data, reason=outcome.value,
            meeting_url=job.meeting_url, bot_name=job.bot_name, meeting_title=job.meeting_title,
            duration=rec.duration if rec else None,
            recording_started_at=rec.origin if rec else None,
            recording_url=rec.recording_url if rec else None, warnings=self.warnings,
        )
        if done and data is not None:
            return SuccessPayload(status="done", data=data, **common)
        return FailurePayload(status="failed", error_code=outcome.value,
                              error=error or MESSAGES[outcome], data=data, **common)


    def _player_url(self) -> str | None:
        base = self.settings.public_url
        return f"{base.rstrip('/')}/watch?v={self.job.video_id}" if base else None


async def _cancel(task: asyncio.Future[Any]) -> None:
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception, StopAsyncIteration):
        await task
