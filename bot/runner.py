"""JobRunner: one recording job, in order: join, record, watch, leave. Every resource is released
whatever happens.

Order: validate the URL -> camera image -> display -> sink -> browser -> join -> (lobby) ->
record from admission -> watch -> leave -> stop ffmpeg -> release browser, sink, display ->
finalize the recording. The runner owns the policies (timeouts, auto-leave); the adapter reads and
drives the page; what happens to the media is the RecordingStore's, and reporting the result is
the Reporter's (``bot.main`` wires them together).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from playwright.async_api import Page

import platforms
from bot.audio import AudioSink, pulse_server
from bot.av_selftest import AV_BOUND_S, AvPath, describe, measure_av_path
from bot.avatar import prepare_camera
from bot.browser import BrowserSession
from bot.captions import CaptionFollower
from bot.capture_health import CaptureHealth
from bot.chat import ChatFollower, post_message
from bot.display import VirtualDisplay
from bot.leases import Lease, reap_stale
from bot.live_transcript import LiveTranscriber
from bot.page_audio import audio_paths, keep_reviving_page_audio
from bot.recorder import Recorder
from bot.recording_store import LiveWords, Recording, RecordingStore
from bot.reporting import JobResult, SpanChange
from bot.timeline import SpeakerTimeline, SpeakingChange
from bot.usage import Usage, sample_usage
from callbacks.factory import url_policy
from callbacks.guard import GuardedTransport, UnsafeUrlError, check_url
from core.aio import bounded, cancel_and_wait, cleanup_step, log_pending_tasks, where_waiting
from core.errors import JobError, JoinError, MeetbotError, RecordingError
from core.health import update_health
from core.job import Job
from core.lifecycle import JobStateMachine, Phase, Status
from core.outcomes import MESSAGES, Outcome
from core.payloads import ChatMessage, LiveData, LiveKind, SpeakerChange
from core.payloads import ParticipantCount as Participants
from core.settings import Settings
from platforms.base import (
    Admitted,
    ChatState,
    MeetingEnded,
    MeetingEvent,
    ParticipantCount,
    PlatformAdapter,
    SpeakerSignal,
    SpeakingChanged,
)
from transcription.process import TranscriptionWorker
from transcription.wer import wer, words_of

MAX_RECORDER_RESTARTS = 3
STOP_HONOURED_S = 15.0
AUDIO_PATHS_FIRST_S, AUDIO_PATHS_EVERY_S = 5.0, 30.0
ADMISSION_CENSUS_S = 0.3
"""At most this long for the page's audio paths at admission, before the recording starts."""
log = logging.getLogger("meetbot.runner")


async def _kept_aside(path: Path) -> None:
    """The self-test's segments stay out of the recording's store."""


def numeric_timings(timings: Mapping[str, object]) -> dict[str, float]:
    """The figures that are numbers; any other is logged and left out, so that a bad figure never
    costs the job its result and callback (a None once did, in a benchmark)."""
    out: dict[str, float] = {}
    bad: list[str] = []
    for key, value in timings.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
        else:
            bad.append(key)
    if bad:
        log.error("figures left out of stats: not numbers", extra={"keys": bad})
    return out


class JobRunner:
    def __init__(self, job: Job, *, settings: Settings, recordings: RecordingStore,
                 capture_control: Callable[[], Awaitable[str | None]] | None = None,
                 on_span: Callable[[SpanChange], None] | None = None,
                 on_live: Callable[[LiveKind, LiveData], None] | None = None) -> None:
        """``capture_control``: what the meeting's RTStream wants ("connected"/"stopped"), polled
        in the call; ``on_span``: hears each recording span start and stop; ``on_live``: what
        happens in the call as it happens (speakers, participants and, with ``live_transcript``,
        each utterance once transcribed)."""
        self.job = job
        self.settings = settings
        self.recordings = recordings
        self._control = capture_control
        self._on_span = on_span
        self._on_live = on_live
        self._live: LiveTranscriber | None = None
        self._live_standby: Callable[[], None] | None = None
        """Starts the local live transcript where the captions were to be its source and are not."""
        self._live_whole = True
        """Whether the live transcript heard the whole call (else the recording is transcribed
        after it, when the job asks for a transcript)."""
        self._captions: CaptionFollower | None = None
        self._captions_task: asyncio.Task[None] | None = None
        self._chat: ChatFollower | None = None
        self.state = JobStateMachine()
        self.state.on_change(self._log_phase)
        self.timeline = SpeakerTimeline(merge_gap=settings.speaker_merge_gap)
        self.usage = Usage()
        self.warnings: list[str] = []
        self._av_offset_ms: float | None = None
        self._av_correction_ms = 0.0
        """The A/V offset the self-test measured, and how much earlier the sound was placed."""
        self._sound_late = 0.0
        """How much earlier the sound is placed (the self-test's figure, adjusted to the page's path)."""
        self._stop = asyncio.Event()
        self._stop_outcome = Outcome.STOPPED
        self._stop_error: str | None = None
        self._job_task: asyncio.Task[tuple[Outcome, Recording]] | None = None
        self._recorder: Recorder | None = None
        """The current span's recorder (None before admission, or while paused)."""
        self._recorders: list[Recorder] = []
        self._new_recorder: Callable[[], Awaitable[Recorder]] | None = None
        self._recorder_restarts = 0
        self._sink: AudioSink | None = None
        self._page: Page | None = None
        self._side: set[asyncio.Task[object]] | None = None
        """Tasks beside the call, cancelled when it ends (None outside it)."""
        self._gate_by_sound = False
        self._admitted_at: float | None = None
        """Wall-clock time the page showed the bot in the call."""
        self._observed: dict[str, str] = {}
        """What the adapter saw that decided things (admission and speaking signals), for stats."""
        # The job's capture options win over the settings' defaults.
        self.width = job.video_width or settings.video_width
        self.height = job.video_height or settings.video_height
        self.fps = job.video_fps or settings.video_fps
        self.health = CaptureHealth(fps=None if job.audio_only else self.fps)
        self._timings: dict[str, float] = {}
        self._started = time.time()

    # -- control ------------------------------------------------------------------------------
    def request_stop(self, outcome: Outcome = Outcome.STOPPED, error: str | None = None) -> None:
        """Graceful stop: leave, finalize, store and call back. Safe to call more than once.
        ``error``: why, when the stop is a failure (the callback's ``error``)."""
        if not self._stop.is_set():
            log.info("stop requested", extra={"reason": outcome.value, "phase": self.state.phase.value})
            self._stop_outcome = outcome
            self._stop_error = error
            self._stop.set()
            with contextlib.suppress(RuntimeError):  # no loop: nothing running to wait for
                asyncio.get_running_loop().call_later(STOP_HONOURED_S, self._stop_honoured,
                                                      self.state.phase)

    def _stop_honoured(self, phase: Phase) -> None:
        # A stop leaves the phase it came in within seconds; when it does not, something waits
        # for what will not come (twice in CI: 3 minutes, then the bot was killed), and where it
        # waits is the one clue.
        if self.state.phase is phase and phase not in (Phase.DONE, Phase.FAILED):
            log_pending_tasks(f"a stop asked {STOP_HONOURED_S:g} s ago has not left {phase.value}")

    def _page_crashed(self) -> None:
        # Every later look at the page would fail or read nothing: that must not pass for the
        # meeting's end. What was recorded up to here is kept and reported.
        at = round(time.time() - (self._admitted_at or self._started), 1)
        log.error("the meeting page crashed (Chromium's renderer died)", extra={"after_s": at})
        self.request_stop(Outcome.INTERNAL_ERROR, f"the meeting page crashed {at} s into the call; "
                                                  "the recording holds what came before")

    def _browser_lost(self, what: str) -> None:
        """The page or the whole browser went away without the bot closing it (Chromium killed,
        its display gone): the meeting did not end, the bot lost it. Reported as a failure with
        the recording so far, never as the meeting's end."""
        if self.state.phase is not Phase.IN_CALL_RECORDING or self._stop.is_set():
            return  # our own leave closes the page too
        at = round(time.time() - (self._admitted_at or self._started), 1)
        log.error("the browser was lost mid-call", extra={"what": what, "after_s": at})
        self.request_stop(Outcome.INTERNAL_ERROR, f"{what} {at} s into the call; the recording "
                                                  "holds what came before")

    def cancel(self) -> None:
        """Hard stop: cancel what is running now; resources are still released and what was
        recorded is still finalized and reported."""
        if self._job_task is not None:
            self._job_task.cancel()

    def _log_phase(self, old: Phase, new: Phase, at: float) -> None:
        self._timings[new.value] = round(at - self._started, 3)
        log.info("phase changed", extra={"meeting_id": self.job.meeting_id, "phase": new.value,
                                         "status": new.status.value, "from": old.value})

    # -- the job ------------------------------------------------------------------------------
    async def run(self) -> JobResult:
        outcome = Outcome.INTERNAL_ERROR
        error: str | None = None
        recording: Recording | None = None
        work = Path(tempfile.mkdtemp(prefix=f"meetbot-{self.job.meeting_id}-"))
        lease = Lease(self.settings.runtime_dir / "leases", "dir", path=str(work), name=work.name)
        keep_work = False
        try:
            async with httpx.AsyncClient(transport=GuardedTransport(url_policy(self.settings))) as images:
                self._job_task = asyncio.create_task(self._record(work, images), name="job")
                try:
                    outcome, recording = await self._job_task
                    if not outcome.is_success:
                        error = self._stop_error
                except asyncio.CancelledError:
                    me = asyncio.current_task()
                    if me is not None and me.cancelling():
                        raise
                    outcome, error = Outcome.STOPPED, "cancelled"
                except MeetbotError as exc:
                    outcome, error = exc.code, exc.message
                    log.warning("job failed", extra={"code": exc.code.value, "error": exc.message})
                except Exception as exc:
                    outcome, error = Outcome.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"
                    log.exception("job crashed")
            if self._recorders and recording is None:
                # Something failed after recording began: keep what was captured.
                recording, keep_work = await self._salvage()
        finally:
            if not keep_work:
                shutil.rmtree(work, ignore_errors=True)
            lease.release()  # a directory kept on purpose is not a leftover
        return self._result(outcome, error, recording)

    async def _segment_closed(self, path: Path) -> None:
        stored = len(self.recordings.segments)
        await self.recordings.segment_closed(path, self.timeline.speaking_during)
        if self._live is not None and len(self.recordings.segments) > stored and self._recorder is not None:
            seg = self.recordings.segments[-1]
            self._live.segment(path, start=seg.start, duration=seg.duration, span=seg.span,
                               sound=self._recorder.sound)
        if self.recordings.full and not self._stop.is_set():
            # Recording on would only fill the local disk too; what was stored stays playable.
            self.request_stop(Outcome.STORAGE_ERROR, f"recording stopped: the store is full "
                                                     f"({self.recordings.full})")

    async def _record(self, work: Path, images: httpx.AsyncClient) -> tuple[Outcome, Recording]:
        """``images``: the SSRF-guarded client the bot's picture is fetched with."""
        s, job = self.settings, self.job
        if job.join_at is not None:  # far ahead (``meetbot run``, a queue job): nothing held yet
            await self._until(job.join_at - job.join_lead - s.join_startup_s, "start")
        self.state.move(Phase.STARTING)
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
                VirtualDisplay(width=self.width, height=self.height, lease_dir=leases))
            sink = await stack.enter_async_context(
                AudioSink(runtime_path=s.pulse_runtime_path, lease_dir=leases, realtime=s.realtime_audio))
            browser = await stack.enter_async_context(BrowserSession(
                executable=s.chromium_path, display=display.name,
                audio_env=sink.client_env(latency_ms=s.chromium_pulse_latency_ms),
                width=self.width, height=self.height, fake_camera=camera,
                host_overrides=s.host_overrides, lease_dir=leases, extra_args=s.chromium_extra_args,
                realtime_audio=s.realtime_audio,
            ))
            assert browser.page is not None
            self._sink, self._page = sink, browser.page
            browser.page.on("crash", lambda _page: self._page_crashed())
            browser.page.on("close", lambda _page: self._browser_lost("the meeting page closed"))
            def recorder_in(where: Path, on_segment: Callable[[Path], Awaitable[None]],
                            sound_late: float) -> Recorder:
                return Recorder(
                    display=display.name, width=self.width, height=self.height, fps=self.fps,
                    audio_only=job.audio_only, audio_env=sink.client_env(), monitor=sink.monitor,
                    work_dir=where, preset=s.x264_preset,
                    audio_bitrate=s.audio_bitrate, segment_seconds=s.segment_seconds,
                    stop_timeout=s.ffmpeg_stop_timeout, sound_late=sound_late,
                    grab_hz=s.grab_hz,
                    on_segment=on_segment)

            # The self-test's capture is uncorrected: it measures what the correction will be.
            av = await self._measure_av(
                browser.page, lambda where: recorder_in(where, _kept_aside, 0.0), work, sink)
            adapter = adapter_cls(ref, browser.page)
            self.state.move(Phase.JOINING)
            if job.join_at is not None:  # ready early: ask to join at join_at, not before
                await self._until(job.join_at - job.join_lead, "join")
            admitted_at = await self._join(adapter)
            # Recording starts the moment the page shows the bot in the call; what is left of
            # joining (computer audio, dialogs, camera) runs beside it, never before it.
            self.state.move(Phase.IN_CALL_RECORDING)

            async def new_recorder() -> Recorder:
                """A recording span: the first at admission, one more after each resume."""
                recorder = recorder_in(work / f"hls{len(self._recorders)}", self._segment_closed,
                                       self._sound_late)
                await stack.enter_async_context(recorder)
                self._recorders.append(recorder)
                index = self.recordings.span_started(recorder)
                if self._on_span is not None:
                    self._on_span(SpanChange(index=index, started_at=recorder.started_at or time.time()))
                return recorder

            self._new_recorder = new_recorder
            if av is not None:
                await self._adjust_to_page_path(browser.page, av)
            self._recorder = await new_recorder()
            self._admitted_at = admitted_at
            side = asyncio.create_task(adapter.after_admission(), name="after-admission")
            stack.push_async_callback(cancel_and_wait, side)
            self._side = set()
            stack.push_async_callback(self._end_side_tasks)
            sampler = asyncio.create_task(sample_usage(self.usage), name="usage")
            stack.push_async_callback(cancel_and_wait, sampler)
            waits = asyncio.create_task(self._follow_sink_latency(sink), name="sink-latency")
            stack.push_async_callback(cancel_and_wait, waits)
            captions = job.transcript_source != "local" and (job.live_transcript or job.transcribe)
            if job.live_transcript and self._on_live is not None:
                await self._start_live_transcript(stack, work, now=not captions)
            if captions:
                self._captions_task = asyncio.create_task(self._follow_captions(adapter), name="captions")
                self._side.add(self._captions_task)
            if job.read_chat or job.chat_on_join:
                self._side.add(asyncio.create_task(self._follow_chat(adapter), name="chat"))
            self._gate_by_sound = not adapter.SPEAKER_ENDS_VISIBLE
            outcome = await self._in_call(adapter)
            await self._last_captions(adapter)
            await self._last_chat(adapter)
            if browser.audio_threads is not None:
                self._timings["audio_threads_realtime"] = browser.audio_threads.raised
            self.state.move(Phase.LEAVING)
            await cleanup_step("leave meeting", adapter.leave(), s.leave_timeout)
            await self._pause()
            if self._live is not None:
                await cleanup_step("transcribe the call's last words", self._live.finish(), 60)
        # Browser, sink and display are released: the remux gets the CPU to itself.
        self.state.move(Phase.UPLOADING)
        return outcome, await self._finalize()

    def _live_event(self, kind: LiveKind, data: LiveData) -> None:
        """Speaker and participant changes go with their wall-clock time (the reporter places
        them on the recording's clock once its first frame is known)."""
        if self._on_live is not None:
            self._on_live(kind, data)

    async def _start_live_transcript(self, stack: AsyncExitStack, work: Path, *, now: bool) -> None:
        """The call transcribed as it goes (bot/live_transcript.py), by a worker process of its
        own at the indexes' niceness: the recording keeps the CPU first. Not ``now``: held ready
        for the captions failing (``_live_standby``)."""
        on_live = self._on_live
        assert on_live is not None
        worker = TranscriptionWorker(nice=self.settings.index_nice)
        stack.push_async_callback(worker.aclose)
        live = LiveTranscriber(worker, work=work, emit=lambda said: on_live("transcript.data", said),
                               speakers=self._speaking_during, clock=self.recordings.recording_time)
        tasks: list[asyncio.Task[None]] = []

        async def stop() -> None:
            for task in tasks:
                await cancel_and_wait(task)

        stack.push_async_callback(stop)
        stack.callback(lambda: self._timings.update(live.figures()) if tasks else None)

        def start() -> None:
            self._live_standby = None
            tasks.append(asyncio.create_task(live.run(), name="live-transcript"))
            self._live = live

        if now:
            start()
        else:
            self._live_standby = start

    def _speaking_during(self, start: float, end: float) -> tuple[tuple[str, float, float], ...]:
        """Who the page showed speaking (``SpeakerTimeline.speaking_during``); on a page that only
        says who spoke last, only while there was sound, as the recording's timeline will say."""
        sound = self._recorder.sound if self._gate_by_sound and self._recorder is not None else None
        return self.timeline.speaking_during(start, end, sound=sound)

    async def _follow_captions(self, adapter: PlatformAdapter) -> None:
        """The platform's captions turned on and followed (bot/captions.py); where the page has
        none or refuses them, said in the warnings and the local engine does the work."""
        job = self.job
        state = await adapter.enable_captions(job.captions_language)
        self._timings["captions_on"] = 1.0 if state.on else 0.0
        if not state.on:
            instead = "the local engine transcribes the call"
            if self._live_standby is not None:
                self._live_whole = False
                self._live_standby()
                instead += " from now on"
            self.warnings.append(f"the platform's captions are not used ({state.note}): {instead}")
            log.warning("captions not used", extra={"why": state.note})
            return
        log.info("captions on", extra={"note": state.note})
        if state.note:
            self.warnings.append(state.note)
        on_live = self._on_live if job.live_transcript else None
        self._captions = CaptionFollower(
            adapter.read_captions, speakers=self._speaking_during,
            emit=(lambda said: on_live("transcript.data", said)) if on_live else (lambda _said: None),
            clock=self.recordings.recording_time, source=f"captions-{adapter.name}",
            ready=lambda: self.recordings.origin is not None)
        await self._captions.run()

    async def _follow_chat(self, adapter: PlatformAdapter) -> None:
        """The meeting's chat opened, the job's notice posted, then read (bot/chat.py); a chat the
        page does not offer, or closes to guests, is said in the warnings."""
        job = self.job
        state = await adapter.open_chat()
        self._timings["chat_open"] = 1.0 if state.readable else 0.0
        if not state.readable:
            self.warnings.append(f"the meeting's chat is not read: {state.note}")
            log.warning("chat not read", extra={"why": state.note})
            return
        log.info("chat open", extra={"can_post": state.can_post, "max_chars": state.max_chars})
        reading = None
        if job.read_chat:  # read from now on, while the notice is typed
            on_live = self._on_live
            self._chat = ChatFollower(adapter.read_chat, emit=(lambda m: on_live("chat.message", m))
                                      if on_live else (lambda _m: None))
            reading = asyncio.create_task(self._chat.run(), name="chat-read")
        try:
            await self._post_notice(adapter, state)
            if reading is not None:
                await reading
        finally:
            if reading is not None:
                await cancel_and_wait(reading)

    async def _post_notice(self, adapter: PlatformAdapter, state: ChatState) -> None:
        job = self.job
        if job.chat_on_join:
            if not state.can_post:
                self.warnings.append(f"the join notice was not posted: {state.note}")
            else:
                parts, refused = await post_message(adapter.post_chat, job.chat_on_join, state.max_chars)
                self._timings["chat_notice_parts"] = parts
                if refused:
                    self.warnings.append(f"the join notice was posted in part ({parts} messages): {refused}")
        elif not state.can_post and state.note:
            self.warnings.append(state.note)

    async def _last_chat(self, adapter: PlatformAdapter) -> None:
        """The call is over: one more look, for what was posted since the last one."""
        if self._chat is None:
            return
        with contextlib.suppress(TimeoutError):
            if (lines := await bounded(adapter.read_chat(), 2.0)) is not None:
                self._chat.observe(lines, time.time())

    async def _last_captions(self, adapter: PlatformAdapter) -> None:
        """The call is over: the captions as the page last shows them are final."""
        follower, task = self._captions, self._captions_task
        if follower is None:
            return
        if task is not None:
            await cancel_and_wait(task)
        with contextlib.suppress(TimeoutError):  # a page that does not answer shows nothing more
            if (blocks := await bounded(adapter.read_captions(), 2.0)) is not None:
                follower.observe(blocks, time.time())
        follower.finish()
        self._timings.update(follower.figures())

    async def _measure_av(self, page: Page, make: Callable[[Path], Recorder], work: Path,
                          sink: AudioSink) -> AvPath | None:
        """The self-test of this recording's A/V path (bot/av_selftest.py), before joining; None
        (and a warning: the sound stays as late as it comes) when it is off or failed."""
        if not self.settings.av_selftest:
            return None
        where = work / "av-selftest"
        step = ["starting"]
        test = asyncio.create_task(measure_av_path(page, make, where, audio_only=self.job.audio_only,
                                                   sink_latency=sink.input_latency,
                                                   on_step=lambda now: step.__setitem__(0, now)),
                                   name="av-selftest")
        stop = asyncio.create_task(self._stop.wait(), name="stop-wait")
        try:
            await asyncio.wait({test, stop}, timeout=self.settings.av_selftest_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
            if not test.done() and stop.done():
                log.info("A/V self-test abandoned: the job was stopped", extra={"step": step[0]})
                return None  # nothing will be recorded: no correction to miss
            if not test.done():
                log.error("A/V self-test stuck", extra={"step": step[0], "awaiting": where_waiting(test)})
                raise RecordingError(f"the self-test did not finish within "
                                     f"{self.settings.av_selftest_timeout:g} s ({step[0]})")
            av = test.result()
        except RecordingError as exc:
            log.warning("A/V self-test failed; the sound is not corrected", extra={"error": exc.message})
            self.warnings.append(f"A/V sync not measured, the sound is not corrected: {exc.message}")
            return None
        finally:
            await cancel_and_wait(stop)
            if not test.done():
                # Its capture is released by its own context manager; a step that ignores the
                # cancellation is not waited for past a few seconds (the join must go on).
                test.cancel()
                await asyncio.wait({test}, timeout=10)
                if not test.done():
                    log.error("the A/V self-test did not end when cancelled", extra={"step": step[0]})
            await asyncio.to_thread(shutil.rmtree, where, True)
        figures = describe(av)
        log.info("A/V path measured", extra=figures)
        self._timings.update({f"av_{k}" if not k.startswith("av_") else k: v
                              for k, v in figures.items() if v is not None})
        self._av_offset_ms, self._av_correction_ms = figures["av_offset_ms"], figures["sound_late_ms"]
        if av.spread > AV_BOUND_S:
            self.warnings.append(
                f"A/V sync uncertain: the self-test's tones came {av.spread * 1000:.0f} ms apart in "
                f"lateness (the sound was placed {av.sound_late * 1000:.0f} ms earlier, their median)")
        return av

    async def _adjust_to_page_path(self, page: Page, av: AvPath) -> None:
        """The self-test timed an AudioContext of the bot's own, straight and through a MediaStream
        into an ``<audio>`` element; what the page plays through, read at admission, picks which:
        - elements with a MediaStream not received by WebRTC, muted or not (Zoom unmutes its
          players once computer audio is joined, after admission): the element's lateness
          (measured: such a page's sound came 51-74 ms late after the context's correction);
        - its own contexts only: the context's, plus the difference of the output latencies
          Chromium reports for them (a ``playback`` context reports 62-69 ms where the self-test's
          reports 36, and its sound came 37-39 ms late after the self-test's correction);
        - anything else (WebRTC into ``<audio>``, files) reports no such figure: the context's
          lateness stands, and ``page_audio_*`` in stats.json says what the page used."""
        self._sound_late = av.sound_late
        started = time.monotonic()
        paths = await audio_paths(page, timeout=ADMISSION_CENSUS_S, stats=False)
        self._timings["av_page_census_ms"] = round((time.monotonic() - started) * 1000, 1)
        if paths.elements_page_stream and not paths.elements_remote and not paths.elements_file:
            if av.element_stream_late is None:
                return
            adjust, why = av.element_stream_late - av.sound_late, "the page's <audio> with a MediaStream"
        elif paths.contexts and not paths.elements_stream and not paths.elements_file \
                and paths.context_output_ms is not None and av.output_latency is not None:
            adjust, why = paths.context_output_ms / 1000 - av.output_latency, "the page's AudioContexts"
        else:
            return
        self._sound_late = av.sound_late + adjust
        self._av_correction_ms = round(self._sound_late * 1000, 1)
        self._timings["av_page_path_adjust_ms"] = round(adjust * 1000, 1)
        log.info(f"sound correction follows {why}",
                 extra={"adjust_ms": round(adjust * 1000, 1), "sound_late_ms": self._av_correction_ms})

    async def _follow_sink_latency(self, sink: AudioSink, every: float = 10.0) -> None:
        """What PulseAudio says the call's sound waits in it, through the call (stats.json): the
        self-test read it as its tones played; a client that underran under load waits longer."""
        waits: list[float] = []
        while True:
            wait = await sink.input_latency()
            if wait is not None:
                waits.append(wait)
                self._timings["sink_latency_first_ms"] = round(waits[0] * 1000, 1)
                self._timings["sink_latency_median_ms"] = round(statistics.median(waits) * 1000, 1)
                self._timings["sink_latency_max_ms"] = round(max(waits) * 1000, 1)
            await asyncio.sleep(every)

    async def _end_side_tasks(self) -> None:
        tasks, self._side = self._side or set(), None
        for task in tasks:
            await cancel_and_wait(task)

    async def _pause(self) -> None:
        """End the current span: ffmpeg closes its last segment. The bot stays in the call."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        try:
            await recorder.stop()
        finally:
            if self._on_span is not None:
                index = len(self._recorders) - 1
                self._on_span(SpanChange(index=index, started_at=recorder.started_at or 0.0,
                                         stopped_at=recorder.stopped_at or time.time(),
                                         segments=len(recorder.segments)))

    async def _restart_recorder(self, dead: Recorder, why: str | None = None) -> None:
        """ffmpeg died under the bot (killed, out of memory, a device error), or its sound did
        (PulseAudio went away: ffmpeg goes on with the picture alone): what it stored stays and a
        new span starts at once, so the meeting loses a second or two, not the rest. The gap is in
        the callback's ``pauses``; after MAX_RECORDER_RESTARTS the job fails."""
        why = why or " | ".join(dead.tail()[-3:]) or f"exit status {dead.returncode}"
        self._recorder_restarts += 1
        if self._recorder_restarts > MAX_RECORDER_RESTARTS or self._new_recorder is None:
            raise RecordingError(
                f"the recorder stopped during the call ({self._recorder_restarts} times): {why}")
        log.warning("the recorder stopped during the call; recording again",
                    extra={"restart": self._recorder_restarts, "why": why})
        try:
            await self._pause()
        except RecordingError:
            pass  # it died before its first segment: nothing of it to keep
        # ffmpeg also ends when PulseAudio dies: then the sink is gone, and the page's players
        # were stopped by Chromium; both are brought back before recording again.
        if self._sink is not None and await self._sink.restore():
            if self._page is not None and self._side is not None:
                self._side.add(asyncio.create_task(keep_reviving_page_audio(self._page),
                                                   name="revive-page-audio"))
            self.warnings.append(
                "PulseAudio restarted during the call: the bot's audio sink was created again and "
                "the page's audio players started again; the gap is listed in pauses")
        self._recorder = await self._new_recorder()
        self.warnings.append(f"the recorder stopped during the call ({why[:200]}) and was started "
                             "again; the gap is listed in pauses")

    async def _follow_control(self) -> None:
        """Pause or resume as the meeting's RTStream asks (``stop``/``start`` through the API)."""
        if self._control is None or self._new_recorder is None:
            return
        try:
            want = await bounded(self._control(), 2.0)
        except Exception:
            log.debug("stream control not read", exc_info=True)
            return
        if want == "stopped" and self._recorder is not None:
            log.info("recording paused (rtstream stopped)")
            await self._pause()
        elif want == "connected" and self._recorder is None:
            log.info("recording resumed (rtstream started)")
            self._recorder = await self._new_recorder()

    async def _check_callback_url(self) -> None:
        if self.job.callback_url is None:
            return
        try:
            await check_url(str(self.job.callback_url), url_policy(self.settings))
        except UnsafeUrlError as exc:
            if not exc.retryable:  # an unresolvable host may come back; a private one will not
                raise JobError(Outcome.INVALID_JOB, f"callback_url refused: {exc}") from exc

    async def _until(self, at: float, what: str) -> None:
        """Wait until wall time ``at`` (for a ``join_at``); a stop meanwhile ends the job."""
        wait = at - time.time()
        if wait <= 0:
            return
        log.info("waiting for the meeting's join_at", extra={"until": what, "wait_s": round(wait, 2),
                                                             "join_at": self.job.join_at})
        self._timings[f"held_before_{what}_s"] = round(wait, 3)
        try:
            await bounded(self._stop.wait(), wait)
        except TimeoutError:
            return
        raise JoinError(self._stop_outcome, f"stopped while waiting for its join_at ({what})")

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
            await adapter.join(bot_name=job.bot_name, ask_at=job.join_at)
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
            await cancel_and_wait(task)
            await cancel_and_wait(stop)

    async def _in_call(self, adapter: PlatformAdapter) -> Outcome:
        job = self.job
        loop = asyncio.get_running_loop()
        offset = await adapter.page_clock_offset()
        self._timings["page_clock_offset_ms"] = round(offset * 1000, 2)
        if self._admitted_at is not None:
            self._admitted_at += offset
            self._timings["admitted_at_epoch"] = round(self._admitted_at, 4)
        if self._side is not None:
            self._side.add(asyncio.create_task(self._follow_audio_paths(adapter.page), name="audio-paths"))
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
                        if adapter.page.is_closed():  # Chromium died: not the meeting's end
                            self._browser_lost("the browser exited")
                            return self._stop_outcome
                        return Outcome.MEETING_ENDED
                    nxt = None
                    if isinstance(ev, SpeakerSignal):
                        if ev.signal:
                            self._observed["speaking_signal"] = ev.signal
                    elif isinstance(ev, SpeakingChanged):
                        others_seen = True
                        self.timeline.add(SpeakingChange(ev.name, ev.speaking, ev.page_time + offset))
                        self._live_event("speaker.changed", SpeakerChange(
                            speaker=ev.name, speaking=ev.speaking, at=ev.page_time + offset))
                    elif isinstance(ev, ParticipantCount):
                        log.info("participants", extra={"count": ev.count})
                        self._live_event("participants.changed", Participants(count=ev.count, at=time.time()))
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
                await self._follow_control()
                recorder = self._recorder
                if recorder is None:
                    continue  # paused: nothing to check on the media
                silent = recorder.silent_since
                if silent is not None and time.time() - silent >= job.silence_timeout:
                    return Outcome.SILENCE_TIMEOUT
                if silent is not None and not self._gate_by_sound:
                    self._log_stuck(silent, stuck_logged)
                if self._sink is not None and self._sink.lost:
                    await self._restart_recorder(recorder, "PulseAudio went away")
                    continue
                if not recorder.running:
                    await self._restart_recorder(recorder)
                    continue
                if self.health.sample(recorder.health(), (recorder.dropouts, recorder.dropout_s)):
                    update_health(self.settings.health_file, **self.health.figures())
        finally:
            await cancel_and_wait(stop)
            if nxt is not None:
                await cancel_and_wait(nxt)
            await events.aclose()

    async def _follow_audio_paths(self, page: Page) -> None:
        """What the page plays its sound through and the latencies Chromium reports for it, from
        AUDIO_PATHS_FIRST_S into the call and every AUDIO_PATHS_EVERY_S after: in stats.json and
        the log (the self-test measured one path, an AudioContext's; the others differ)."""
        await asyncio.sleep(AUDIO_PATHS_FIRST_S)
        while True:
            paths = await audio_paths(page)
            if paths.contexts or paths.elements_stream or paths.elements_file or paths.receivers:
                self._timings.update(paths.figures())
                log.info("page audio paths", extra=paths.figures())
            await asyncio.sleep(AUDIO_PATHS_EVERY_S)

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

    # -- after capture ------------------------------------------------------------------------
    async def _finalize(self) -> Recording:
        job, captions = self.job, self._captions
        live = None
        if captions is not None and captions.said and job.transcript_source == "captions":
            live = LiveWords(captions.engine, captions.spoken, captions.said)
        elif self._live is not None and self._live.engine and (self._live_whole or not job.transcribe):
            live = LiveWords(self._live.engine, self._live.spoken, self._live.said)
        local_after = job.transcribe or (job.transcript_source == "both" and captions is not None)
        recording = await self.recordings.finalize(
            self.timeline, gate_by_sound=self._gate_by_sound,
            stuck_after=self.settings.stuck_signal_silence,
            transcribe_nice=self.settings.index_nice if local_after else None, live=live)
        if captions is not None and captions.said:
            await self.recordings.put_json("captions.json", [line.model_dump() for line in captions.said])
            if job.transcript_source == "both" and recording.transcript:
                local = words_of(" ".join(line.text for line in recording.transcript))
                heard = words_of(" ".join(line.text for line in captions.said))
                self._timings["captions_vs_local_wer"] = round(wer(local, heard), 3)
        self._timings["recording_origin_epoch"] = recording.origin
        self._timings["recording_duration_s"] = recording.duration
        if recording.recorder_wall_s is not None:
            self._timings["recorder_wall_s"] = recording.recorder_wall_s
        if recording.first_frame_at is not None and self._admitted_at is not None:
            delay = recording.first_frame_at - self._admitted_at
            self._timings["admission_to_first_frame_s"] = round(delay, 3)
        return recording

    async def _salvage(self) -> tuple[Recording | None, bool]:
        """After a failure mid-call: finalize what ffmpeg wrote, so the user still gets it."""
        try:
            if self._recorder is not None and self._recorder.running:
                await self._pause()
            return await self._finalize(), False
        except Exception as exc:
            where = self._recorders[-1].dir if self._recorders else "?"
            log.error("recording could not be finalized; segments kept on disk",
                      extra={"dir": str(where), "error": str(exc)})
            self.warnings.append(f"segments kept at {where}: {exc}")
            return None, True

    def _result(self, outcome: Outcome, error: str | None, recording: Recording | None) -> JobResult:
        has_media = recording is not None and recording.recording_url is not None
        done = outcome.is_success and has_media
        if outcome.is_success and not has_media and error is None:
            error = MESSAGES[outcome] + " Nothing was recorded."
        if not self.state.phase.is_terminal:
            self.state.move(Phase.DONE if done else Phase.FAILED)
        if self._recorders:
            now = time.time()
            self.health.conclude(sum(r.dropouts for r in self._recorders),
                                 sum(r.dropout_s for r in self._recorders),
                                 sum((r.stopped_at or now) - (r.started_at or now) for r in self._recorders))
            update_health(self.settings.health_file, **self.health.figures())
        warnings = self.warnings + self.health.warnings + (recording.warnings if recording else [])
        self._timings.update({f"capture_{k}": v for k, v in self.health.figures().items()})
        log.info("job finished", extra={"status": "done" if done else "failed", "reason": outcome.value})
        return JobResult(
            meeting_id=self.job.meeting_id, video_id=self.job.video_id,
            status=Status.DONE if done else Status.FAILED, outcome=outcome, error=error,
            recording=recording, warnings=warnings, usage=self.usage, timings=numeric_timings(self._timings),
            av_offset_ms=self._av_offset_ms,
            av_correction_ms=self._av_correction_ms,
            observed=self._observed, phases=[(p.value, t) for p, t in self.state.history],
            chat_messages=self._chat_messages())

    def _chat_messages(self) -> list[ChatMessage]:
        """What the chat showed, dated on the recording's clock."""
        if self._chat is None:
            return []
        return [m.model_copy(update={"at": round(self.recordings.recording_time(m.at), 3)})
                for m in self._chat.messages]
