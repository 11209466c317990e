"""What happens to the media after capture: segments stored as they close, then the MP4, the
recording's clock and its speaker timeline.

Segments go to the store the moment ffmpeg closes them, with a playlist that lists only stored
segments, so a killed bot loses at most the segment in progress. A recording paused through its
RTStream (``stop``) and resumed (``start``) has several spans: the playlist marks each new one
with a discontinuity, and the MP4 puts them back to back, so the pause is cut out of the video and
the speaker timeline is shifted to match (turns during the pause are dropped). At the end the
segments are remuxed (never re-encoded) into an MP4 whose t=0 is placed on the wall clock from
the first frame's capture time; the speaker timeline is put on that clock.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.recorder import Recorder
from bot.timeline import SpeakerTimeline
from core.errors import MeetbotError, RecordingError, StorageError
from core.payloads import Pause, SpeakerSegment, TranscriptLine
from media.ffmpeg import probe, stream_of
from media.hls import (
    Segment,
    Turns,
    concat_to_mp4,
    render_master,
    render_playlist,
    render_subtitles,
    segment_durations,
)
from storage import Storage
from transcription.attribution import SpokenWord, attribute, utterances, webvtt
from transcription.process import transcribe_in_process

log = logging.getLogger("meetbot.recording")

PLAYLIST_KEY = "hls/playlist.m3u8"
SUBTITLES_KEY = "hls/subtitles.m3u8"
MASTER_KEY = "hls/master.m3u8"
"""With a transcript, the stream's URL: the media playlist and the transcript as its subtitles."""


class Recording(BaseModel):
    """A capture, finished and stored."""

    duration: float
    origin: float
    """Wall-clock time of the MP4's t=0 (of its first span, when paused and resumed)."""
    timeline: list[SpeakerSegment]
    stream_url: str | None = None
    recording_url: str | None = None
    first_frame_at: float | None = None
    """Wall-clock capture time of the first frame."""
    recorder_wall_s: float | None = None
    pauses: list[Pause] = []
    warnings: list[str] = []
    transcript: list[TranscriptLine] | None = None


@dataclass(frozen=True, slots=True)
class LiveWords:
    """What the live transcript said: its words (with speakers) and utterances, on the
    recording's clock, and the engine that heard them."""

    engine: str
    words: list[SpokenWord]
    lines: list[TranscriptLine]


@dataclass
class _Span:
    recorder: Recorder
    index: int
    stored: int = 0


def segment_name(span: int, n: int) -> str:
    return f"s{span:03d}r{span:03d}_{n:06d}.ts"


class RecordingStore:
    def __init__(self, storage: Storage, *, audio_bitrate: str = "128k") -> None:
        self.storage = storage
        self.audio_bitrate = audio_bitrate
        """For the sound of a recording with pauses, re-encoded to stay with the picture."""
        self.full: str | None = None
        """Why the store refused a segment for lack of room (the recording should stop)."""
        self.segments: list[Segment] = []
        self._spans: list[_Span] = []

    async def put_json(self, key: str, value: Any) -> None:
        """A small JSON file beside the recording (job, result, stats); failures are logged."""
        try:
            await self.storage.put_bytes(key, json.dumps(value, indent=2, default=str).encode())
        except MeetbotError as exc:
            log.error("file not stored", extra={"key": key, "error": exc.message})

    # -- while recording ----------------------------------------------------------------------
    def span_started(self, recorder: Recorder) -> int:
        """A new span (the first, or one after a resume); its index."""
        self._spans.append(_Span(recorder, len(self._spans)))
        return self._spans[-1].index

    @property
    def origin(self) -> float | None:
        """Wall-clock time of the recording's t=0 (its first frame), once known."""
        if self.segments:
            return self.segments[0].start
        return self._spans[0].recorder.first_frame_at if self._spans else None

    async def origin_known(self) -> None:
        """Until the recording's first frame is captured (at once if it is, or if nothing records)."""
        if self.origin is None and self._spans:
            await self._spans[0].recorder.first_frame.wait()

    def recording_time(self, wall: float) -> float:
        """A wall-clock time on the recording's clock, as far as it is stored: seconds of the
        spans before its own plus its time into that span (the MP4 has the pauses cut out)."""
        offset = 0.0
        spans = sorted({s.span for s in self.segments})
        for i, span in enumerate(spans):
            mine = [s for s in self.segments if s.span == span]
            if i == len(spans) - 1 or wall < mine[-1].end:
                return offset + wall - mine[0].start
            offset += sum(s.duration for s in mine)
        return wall - (self.origin or wall)

    async def segment_closed(self, path: Path,
                             speaking: Callable[[float, float], Turns] | None = None) -> None:
        """Store a finished segment of the current span, then the playlist up to it. ``speaking``
        names who was shown speaking during a time range (the playlist notes it per segment)."""
        span = self._spans[-1]
        durations = segment_durations(path.parent / "playlist.m3u8")
        duration = durations.get(path.name, 0.0)
        same = [s for s in self.segments if s.span == span.index]
        if same:
            start = same[-1].end
        else:
            start = span.recorder.first_frame_at or (time.time() - duration)
        seg = Segment(segment_name(span.index, len(self.segments)), duration, start, span.index, span.index,
                      speaking(start, start + duration) if speaking else ())
        try:
            await self.storage.put_file(f"hls/{seg.name}", path)
            self.segments.append(seg)
            span.stored += 1
            await self.storage.put_bytes(PLAYLIST_KEY, render_playlist(self.segments, ended=False).encode())
        except MeetbotError as exc:
            if isinstance(exc, StorageError) and exc.full:
                self.full = self.full or exc.message
                log.error("the store is full: the recording stops with what it stored",
                          extra={"segment": path.name, "error": exc.message})
                return
            # Kept on local disk; stored again when the recording is finalized.
            log.warning("segment not stored yet", extra={"segment": path.name, "error": exc.message})

    # -- at the end ---------------------------------------------------------------------------
    async def finalize(self, timeline: SpeakerTimeline, *, gate_by_sound: bool,
                       stuck_after: float, transcribe_nice: int | None = None,
                       live: LiveWords | None = None) -> Recording:
        """Remux, measure and store the recording; place the timeline on its clock.

        ``gate_by_sound``: the platform only shows who spoke last, so turns are cut to the
        sounding parts; otherwise a turn shown over ``stuck_after`` seconds of silence is cut as a
        stuck signal and reported in the warnings. ``transcribe_nice``: transcribe the MP4 at this
        niceness and attribute its words (None: no transcript); ``live``: the transcript made
        while the call went on, which is then the recording's (no second pass: one transcript in
        the callback, the files, the subtitles and the index).
        """
        spans = [s for s in self._spans if s.recorder.segments]
        if not spans:
            raise RecordingError("the recorder produced no media")
        warnings: list[str] = []
        if self.full is None:
            await self._store_leftovers(spans)
        work = Path(tempfile.mkdtemp(prefix="meetbot-final-", dir=spans[0].recorder.dir.parent))
        mp4 = work / "recording.mp4"
        await concat_to_mp4([s.recorder.segments for s in spans], mp4,
                            lengths=[sum(segment_durations(s.recorder.playlist).values()) for s in spans],
                            audio_bitrate=self.audio_bitrate)
        info = await probe(mp4)
        duration = float(info["format"]["duration"])
        video = stream_of(info, "video")
        v_start = float(video.get("start_time", 0.0)) if video else 0.0
        timeline_out: list[SpeakerSegment] = []
        pauses: list[Pause] = []
        offset = 0.0  # where each span starts in the MP4
        ranges: list[tuple[float, float]] = []
        first_origin = prev_end = 0.0
        for i, span in enumerate(spans):
            rec = span.recorder
            # A span's t=0 on the wall clock: its first frame's capture time (the MP4's own first
            # pts for the first span, which x264 may shift by a frame).
            first = rec.first_frame_at or rec.started_at or time.time()
            origin = first - (v_start if i == 0 else 0.0)
            length = sum(segment_durations(rec.playlist).values()) if i < len(spans) - 1 else \
                max(0.0, duration - offset)
            if i == 0:
                first_origin = origin
            else:
                # From where the previous span's picture ends, not from when it was stopped: a
                # recorder that died lost what it had not yet put in a segment.
                pauses.append(Pause(at=round(offset, 3), duration=round(max(0.0, first - prev_end), 3)))
            # Never after its recorder stopped: a capture whose first frame came late (ffmpeg was
            # 4.2 s opening its inputs once) has its listed length counted from its first sound,
            # and the pause after it read 0.66 s where it was 5 s.
            prev_end = origin + length if rec.stopped_at is None else min(origin + length, rec.stopped_at)
            for seg in timeline.segments(origin=origin, end=origin + length, sound=rec.sound,
                                         gate=gate_by_sound, stuck_after=stuck_after):
                timeline_out.append(seg.model_copy(update={
                    "start_time_seconds": round(seg.start_time_seconds + offset, 3),
                    "end_time_seconds": round(seg.end_time_seconds + offset, 3)}))
            for stuck in timeline.stuck:
                stuck.at_seconds = round(stuck.at_seconds + offset, 3)
                log.warning("stuck speaking signal cut", extra={
                    "speaker": stuck.name, "at_s": stuck.at_seconds, "silence_s": stuck.silence})
                warnings.append(stuck.describe())
            ranges.append((offset, offset + length))
            offset += length
        stream_url = self.storage.url(PLAYLIST_KEY)
        recording_url: str | None = None
        try:
            await self.storage.put_bytes(PLAYLIST_KEY, render_playlist(self.segments, ended=True).encode())
            recording_url = await self.storage.put_file("recording.mp4", mp4)
        except StorageError as exc:
            if not exc.full:
                raise
            # The playlist as last stored lists exactly the segments that were stored.
            warnings.append(f"the store is full: recording.mp4 was not stored; the {len(self.segments)} "
                            f"stored segments play from stream_url ({exc.message})")
            log.error("recording not stored: the store is full", extra={"error": exc.message})
        transcript = None
        if live is not None and live.lines:
            transcript = await self._store_transcript(live.engine, live.words, live.lines)
        elif transcribe_nice is not None:
            transcript = await self._transcript(mp4, timeline_out, transcribe_nice, warnings)
        if transcript and recording_url is not None:
            stream_url = await self._subtitled(spans, ranges, transcript) or stream_url
        mp4.unlink(missing_ok=True)
        await self.put_json("timeline.json", [s.model_dump() for s in timeline_out])
        last = spans[-1].recorder
        first_rec = spans[0].recorder
        wall = round(last.stopped_at - first_rec.started_at, 3) if last.stopped_at and first_rec.started_at \
            else None
        return Recording(duration=round(duration, 3), origin=round(first_origin, 4), timeline=timeline_out,
                         stream_url=stream_url, recording_url=recording_url,
                         first_frame_at=first_rec.first_frame_at, recorder_wall_s=wall, pauses=pauses,
                         warnings=warnings, transcript=transcript)

    async def _transcript(self, mp4: Path, timeline: list[SpeakerSegment], nice: int,
                          warnings: list[str]) -> list[TranscriptLine] | None:
        """transcript.json (engine, attributed words, lines) and captions.vtt; a failure is a
        warning, never the job's."""
        started = time.time()
        try:
            words, engine = await transcribe_in_process(mp4, nice=nice)
        except MeetbotError as exc:
            log.warning("no transcript", extra={"error": exc.message})
            warnings.append(f"no transcript: {exc.message}")
            return None
        spoken = attribute(words, timeline)
        lines = await self._store_transcript(engine, spoken, utterances(spoken))
        log.info("transcribed", extra={"engine": engine, "words": len(spoken), "lines": len(lines),
                                       "seconds": round(time.time() - started, 2)})
        return lines

    async def _store_transcript(self, engine: str, spoken: list[SpokenWord],
                                lines: list[TranscriptLine]) -> list[TranscriptLine]:
        """transcript.json and captions.vtt."""
        await self.put_json("transcript.json", {"engine": engine, "words": [w.model_dump() for w in spoken],
                                                "lines": [u.model_dump() for u in lines]})
        try:
            await self.storage.put_bytes("captions.vtt", webvtt(lines).encode())
        except MeetbotError as exc:
            log.error("file not stored", extra={"key": "captions.vtt", "error": exc.message})
        return lines

    async def _subtitled(self, spans: list[_Span], ranges: list[tuple[float, float]],
                         lines: list[TranscriptLine]) -> str | None:
        """The transcript as the HLS stream's subtitles: a WebVTT segment per span (its cues timed
        from the span's start, mapped to its first MPEG-TS time), their playlist, and a
        multivariant playlist holding both; its URL, or None (nothing lost but the subtitles)."""
        try:
            parts: list[tuple[str, float]] = []
            for span, window in zip(spans, ranges, strict=True):
                first = await probe(span.recorder.segments[0])
                mpegts = round(float(first["format"]["start_time"]) * 90_000)
                name = f"subtitles_{span.index:03d}.vtt"
                vtt = webvtt(lines, window=window, mpegts=mpegts)
                await self.storage.put_bytes(f"hls/{name}", vtt.encode())
                listed = sum(s.duration for s in self.segments if s.span == span.index)
                parts.append((name, listed or window[1] - window[0]))
            await self.storage.put_bytes(SUBTITLES_KEY, render_subtitles(parts).encode())
            peak = 0.0  # BANDWIDTH is the peak bit rate of any segment
            for span in spans:
                listed = segment_durations(span.recorder.playlist)
                for path in span.recorder.segments:
                    if (d := listed.get(path.name)) and path.exists():
                        peak = max(peak, path.stat().st_size * 8 / d)
            master = render_master(PLAYLIST_KEY.removeprefix("hls/"), SUBTITLES_KEY.removeprefix("hls/"),
                                   bandwidth=round(peak))
            await self.storage.put_bytes(MASTER_KEY, master.encode())
        except (MeetbotError, KeyError, ValueError, IndexError) as exc:
            log.error("subtitles not stored", extra={"error": str(exc)})
            return None
        return self.storage.url(MASTER_KEY)

    async def _store_leftovers(self, spans: list[_Span]) -> None:
        """Segments that could not be stored while recording (the store was down) go up now."""
        listed = {s.name for s in self.segments}
        for span in spans:
            for path in span.recorder.segments[span.stored:]:
                if path.name in listed:
                    continue
                durations = segment_durations(span.recorder.playlist)
                prev = [s for s in self.segments if s.span == span.index]
                start = prev[-1].end if prev else (span.recorder.first_frame_at or time.time())
                seg = Segment(segment_name(span.index, len(self.segments)), durations.get(path.name, 0.0),
                              start, span.index, span.index)
                await self.storage.put_file(f"hls/{seg.name}", path)
                self.segments.append(seg)
                span.stored += 1
