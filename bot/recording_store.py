"""What happens to the media after capture: segments stored as they close, then the MP4, the
recording's clock and its speaker timeline.

Segments go to the store the moment ffmpeg closes them, with a playlist that lists only stored
segments, so a killed bot loses at most the segment in progress. At the end the segments are
remuxed (never re-encoded) into an MP4 whose t=0 is placed on the wall clock from the first frame's
capture time; the speaker timeline is put on that clock.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.recorder import PLAYLIST, Recorder
from bot.timeline import SpeakerTimeline
from core.errors import MeetbotError, RecordingError
from core.payloads import SpeakerSegment
from media.ffmpeg import probe, stream_of
from media.hls import playlist_upto, remux_to_mp4
from storage import Storage

log = logging.getLogger("meetbot.recording")


class Recording(BaseModel):
    """A capture, finished and stored."""

    duration: float
    origin: float
    """Wall-clock time of the MP4's t=0."""
    timeline: list[SpeakerSegment]
    stream_url: str | None = None
    recording_url: str | None = None
    first_frame_at: float | None = None
    """Wall-clock capture time of the first frame."""
    recorder_wall_s: float | None = None
    warnings: list[str] = []


class RecordingStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._stored: set[str] = set()

    async def put_json(self, key: str, value: Any) -> None:
        """A small JSON file beside the recording (job, result, stats); failures are logged."""
        try:
            await self.storage.put_bytes(key, json.dumps(value, indent=2, default=str).encode())
        except MeetbotError as exc:
            log.error("file not stored", extra={"key": key, "error": exc.message})

    async def segment_closed(self, path: Path) -> None:
        """Store a finished segment, then a playlist that lists only stored segments."""
        try:
            await self.storage.put_file(f"hls/{path.name}", path)
            self._stored.add(path.name)
            published = playlist_upto(path.parent / PLAYLIST, path.name)
            await self.storage.put_bytes("hls/" + PLAYLIST, published.encode())
        except MeetbotError as exc:
            # Kept on local disk; stored again when the recording is finalized.
            log.warning("segment not stored yet", extra={"segment": path.name, "error": exc.message})

    async def finalize(self, recorder: Recorder, timeline: SpeakerTimeline, *, gate_by_sound: bool,
                       stuck_after: float) -> Recording:
        """Remux, measure and store the recording; place the timeline on its clock.

        ``gate_by_sound``: the platform only shows who spoke last, so turns are cut to the
        sounding parts; otherwise a turn shown over ``stuck_after`` seconds of silence is cut as a
        stuck signal and reported in the warnings.
        """
        if not recorder.segments:
            raise RecordingError("the recorder produced no media")
        mp4 = recorder.dir.parent / "recording.mp4"
        await remux_to_mp4(recorder.playlist, mp4)
        info = await probe(mp4)
        duration = float(info["format"]["duration"])
        video = stream_of(info, "video")
        v_start = float(video.get("start_time", 0.0)) if video else 0.0
        # The MP4's t=0 on the wall clock: the first frame's capture time minus its pts in the file.
        first = recorder.first_frame_at or recorder.started_at or time.time()
        origin = first - v_start
        segments = timeline.segments(origin=origin, end=origin + duration, sound=recorder.sound,
                                     gate=gate_by_sound, stuck_after=stuck_after)
        warnings = []
        for stuck in timeline.stuck:
            log.warning("stuck speaking signal cut", extra={
                "speaker": stuck.name, "at_s": stuck.at_seconds, "silence_s": stuck.silence})
            warnings.append(stuck.describe())
        for seg in recorder.segments:
            if seg.name not in self._stored:
                await self.storage.put_file(f"hls/{seg.name}", seg)
        stream_url = await self.storage.put_file("hls/" + PLAYLIST, recorder.playlist)
        recording_url = await self.storage.put_file("recording.mp4", mp4)
        await self.put_json("timeline.json", [s.model_dump() for s in segments])
        wall = None
        if recorder.started_at and recorder.stopped_at:
            wall = round(recorder.stopped_at - recorder.started_at, 3)
        return Recording(duration=round(duration, 3), origin=round(origin, 4), timeline=segments,
                         stream_url=stream_url, recording_url=recording_url,
                         first_frame_at=recorder.first_frame_at, recorder_wall_s=wall, warnings=warnings)
