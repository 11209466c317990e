"""The RTStream lifecycle: connect, stop (pause), start (resume), export, time ranges.

Source streams are ingested here, one ffmpeg per connected stream (``Ingest``). A meeting's
stream is its bot's capture: ``stop``/``start`` set what the stream should do (``want``) and the
bot follows within half a second, keeping the call. Calls on one stream are serialised (a lock
per stream), so two ingests never run for one stream, and export never sees a half-stopped one.

Storage: each stream has a location (local directory or S3 prefix) holding ``hls/<segment>`` and
its live playlist; an export is a video asset with an MP4 remuxed from the span's stored
segments (never re-encoded) and a playlist that points at those segments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

from bot.leases import leased_tempdir
from callbacks.factory import url_policy
from callbacks.guard import UnsafeUrlError, check_url
from core.errors import MeetbotError
from core.settings import Settings
from core.urls import media_url, player_url
from media.ffmpeg import probe
from media.hls import Segment, concat_to_mp4, parse_playlist, render_playlist, runs_of
from server.errors import ApiError
from server.streams.ingest import Ingest
from status import StatusStore
from status.streams import (
    Span,
    StreamRecord,
    VideoRecord,
    create_stream,
    create_video,
    get_stream,
    list_streams,
    update_stream,
)
from storage import Storage, local_file, location, open_storage

log = logging.getLogger("meetbot.streams")

SOURCE_SCHEMES = {"rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443, "http": 80, "https": 443}
LIVE_PLAYLIST = "hls/index.m3u8"


class StreamManager:
    def __init__(self, store: StatusStore, settings: Settings, *, public_url: str | None = None) -> None:
        self.store, self.settings = store, settings
        self.public_url = public_url
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._ingests: dict[str, Ingest] = {}
        self._segments: dict[str, list[Segment]] = {}
        self._writes: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- helpers ------------------------------------------------------------------------------
    def storage(self, record: StreamRecord) -> Storage:
        return open_storage(record.storage, self.settings, public_url=self.public_url, asset_id=record.id)

    def playlist_key(self, record: StreamRecord) -> str:
        return LIVE_PLAYLIST if record.kind == "source" else "hls/playlist.m3u8"

    def urls(self, record: StreamRecord) -> dict[str, str | None]:
        base = self.public_url or ""
        return {"stream_url": media_url(base, record.id, self.playlist_key(record)),
                "player_url": player_url(base, record.id) if "video" in record.media_types else None}

    async def get(self, stream_id: str) -> StreamRecord:
        record = await get_stream(self.store, stream_id)
        if record is None:
            raise ApiError(404, f"RTStream {stream_id} not found.", "rtstream_not_found")
        return record

    async def list(self) -> list[StreamRecord]:
        return await list_streams(self.store)

    async def segments(self, record: StreamRecord) -> list[Segment]:
        """The stream's stored segments: kept in memory for ingested streams, read back from the
        playlist otherwise (a meeting's, or after a restart)."""
        if record.id in self._segments:
            return self._segments[record.id]
        try:
            text = (await self.storage(record).get_bytes(self.playlist_key(record))).decode()
        except MeetbotError:
            return []
        return parse_playlist(text)

    # -- connect --------------------------------------------------------------------------------
    async def connect(self, *, url: str, name: str, media_types: list[str], sample_rate: int | None,
                      store: bool | None, collection_id: str) -> StreamRecord:
        try:
            await check_url(url, url_policy(self.settings), schemes=SOURCE_SCHEMES)
        except UnsafeUrlError as exc:
            code = "unsupported_source" if "scheme" in exc.reason else "unsafe_source"
            raise ApiError(400, f"Stream source refused: {exc}", code) from exc
        if url.startswith(("http://", "https://")) and ".m3u8" not in url.split("?")[0]:
            raise ApiError(400, "An http(s) stream source must be an HLS playlist (.m3u8).",
                           "unsupported_source")
        record = StreamRecord(name=name, url=url, media_types=media_types,  # type: ignore[arg-type]
                              sample_rate=sample_rate or 30, store=bool(store),
                              collection_id=collection_id, storage="", status="connected")
        record.storage = location(self.settings, "streams", record.id)
        record.spans = [Span(index=0, started_at=time.time())]
        await create_stream(self.store, record)
        self._segments[record.id] = []
        self._start_ingest(record, span=0)
        log.info("rtstream connected", extra={"rtstream": record.id, "store": record.store})
        return record

    async def create_for_meeting(self, *, meeting_id: str, name: str, storage: str,
                                 collection_id: str) -> StreamRecord:
        """A meeting's capture as a stream: stopped until its bot starts recording."""
        record = StreamRecord(name=name, kind="meeting", meeting_id=meeting_id, store=True,
                              storage=storage, status="stopped", collection_id=collection_id)
        await create_stream(self.store, record)
        return record

    # -- start / stop ------------------------------------------------------------------------------
    async def set_status(self, stream_id: str, action: str) -> StreamRecord:
        if action not in ("start", "stop"):
            raise ApiError(400, f"action must be start or stop, not {action!r}.", "invalid_action")
        async with self._locks[stream_id]:
            record = await self.get(stream_id)
            if record.kind == "meeting":
                return await self._set_meeting(record, action)
            if action == "stop":
                if record.want == "stopped":
                    raise ApiError(409, f"RTStream {stream_id} is already stopped.", "rtstream_stopped")
                await self._stop_ingest(record)
            else:
                if record.want == "connected":
                    raise ApiError(409, f"RTStream {stream_id} is already {record.status}; stop it first.",
                                   "rtstream_connected")
                span = len(record.spans)
                record = await update_stream(self.store, stream_id, lambda r: r.model_copy(update={
                    "want": "connected", "status": "connected", "error": None,
                    "spans": [*r.spans, Span(index=span, started_at=time.time())]})) or record
                self._start_ingest(record, span=span)
            return await self.get(stream_id)

    def _start_ingest(self, record: StreamRecord, *, span: int) -> None:
        segments = self._segments.setdefault(record.id, [])
        first_run = (segments[-1].run + 1) if segments else 0
        ingest = Ingest(record, self.storage(record), self.settings, span=span, first_run=first_run,
                        first_n=len(segments),
                        on_segment=lambda seg: self._on_segment(record.id, seg),
                        on_status=lambda status, error: self._on_status(record.id, status, error))
        self._ingests[record.id] = ingest
        ingest.start()

    async def _stop_ingest(self, record: StreamRecord) -> None:
        ingest = self._ingests.pop(record.id, None)
        if ingest is not None:
            await ingest.stop(timeout=self.settings.stream_stop_timeout)
        await update_stream(self.store, record.id, lambda r: r.model_copy(update={
            "want": "stopped", "status": "stopped", "error": None,
            "spans": [*r.spans[:-1], r.spans[-1].model_copy(update={"stopped_at": time.time()})]
            if r.open_span else r.spans}))
        log.info("rtstream stopped", extra={"rtstream": record.id})

    async def _on_segment(self, stream_id: str, seg: Segment) -> None:
        async with self._writes[stream_id]:
            record = await get_stream(self.store, stream_id)
            if record is None:
                return
            segments = self._segments.setdefault(stream_id, [])
            segments.append(seg)
            storage = self.storage(record)
            window = None if record.store else self.settings.stream_live_window
            if window and len(segments) > window:
                for old in segments[:-window]:
                    with contextlib.suppress(MeetbotError):
                        await storage.delete(f"hls/{old.name}")
                del segments[:-window]
            await storage.put_bytes(LIVE_PLAYLIST, render_playlist(segments, ended=False,
                                                                   window=window).encode())

            def counted(r: StreamRecord) -> StreamRecord:
                spans = list(r.spans)
                if spans and spans[-1].index == seg.span:
                    spans[-1] = spans[-1].model_copy(update={"segments": spans[-1].segments + 1})
                update: dict[str, Any] = {"spans": spans}
                if r.status == "error" and r.want == "connected":
                    update.update(status="connected", error=None)  # the source is back
                return r.model_copy(update=update)

            await update_stream(self.store, stream_id, counted)

    async def _on_status(self, stream_id: str, status: str, error: str | None) -> None:
        await update_stream(self.store, stream_id, lambda r: r.model_copy(
            update={"status": status, "error": error}) if r.want == "connected" else r)

    async def _set_meeting(self, record: StreamRecord, action: str) -> StreamRecord:
        want = "connected" if action == "start" else "stopped"
        if record.want == want:
            state = "recording" if want == "connected" else "stopped"
            raise ApiError(409, f"RTStream {record.id} is already {state}.",
                           "rtstream_connected" if want == "connected" else "rtstream_stopped")
        await update_stream(self.store, record.id, lambda r: r.model_copy(update={"want": want}))
        # The bot follows within half a second; answer once it has, or say what is pending.
        deadline = time.time() + self.settings.stream_stop_timeout + 2
        while time.time() < deadline:
            record = await self.get(record.id)
            if record.status == ("connected" if want == "connected" else "stopped"):
                break
            await asyncio.sleep(0.1)
        return record

    # -- export and ranges ---------------------------------------------------------------------
    async def export(self, stream_id: str, name: str | None) -> VideoRecord:
        async with self._locks[stream_id]:
            record = await self.get(stream_id)
            if record.want == "connected" or record.status == "connected":
                raise ApiError(409, f"RTStream {stream_id} is connected: stop it before exporting.",
                               "rtstream_connected")
            if not record.store:
                raise ApiError(400, f"RTStream {stream_id} was connected with store=false: its media is "
                               "not kept, so there is nothing to export (connect with store=true).",
                               "rtstream_not_stored")
            span = record.last_completed_span
            if span is None:
                raise ApiError(409, f"RTStream {stream_id} has no completed recording to export.",
                               "rtstream_empty")
            if span.video_id is not None:
                from status.streams import get_video

                existing = await get_video(self.store, span.video_id)
                if existing is not None:
                    return existing  # idempotent: the same asset on every call
            segments = [s for s in await self.segments(record) if s.span == span.index]
            if not segments:
                raise ApiError(409, f"RTStream {stream_id}'s last recording has no stored media.",
                               "rtstream_empty")
            video = await self._export_span(record, segments, name or f"{record.name} - Recording")
            await update_stream(self.store, stream_id, lambda r: r.model_copy(update={"spans": [
                s.model_copy(update={"video_id": video.id}) if s.index == span.index else s
                for s in r.spans]}))
            return video

    async def _export_span(self, record: StreamRecord, segments: list[Segment], name: str) -> VideoRecord:
        started = time.time()
        video = VideoRecord(name=name, storage="", length=0.0, media_types=record.media_types,
                            rtstream_id=record.id, span=segments[0].span,
                            collection_id=record.collection_id)
        video.storage = location(self.settings, "videos", video.id)
        source = self.storage(record)
        target = open_storage(video.storage, self.settings, public_url=self.public_url, asset_id=video.id)
        with leased_tempdir(self.settings.runtime_dir / "leases", f"export-{video.id}-") as work:
            runs = runs_of(segments)
            files = [[await local_file(source, f"hls/{seg.name}", work) for seg in run] for run in runs]
            mp4 = work / "recording.mp4"
            await concat_to_mp4(files, mp4, lengths=[sum(s.duration for s in run) for run in runs])
            info = await probe(mp4)
            video.length = round(float(info["format"]["duration"]), 3)
            await target.put_file("recording.mp4", mp4)
        # Its stream: the span's segments where they are stored (never copied).
        base = self.public_url or ""
        linked = [Segment(media_url(base, record.id, f"hls/{s.name}"), s.duration, s.start, s.span, s.run)
                  for s in segments]
        await target.put_bytes("hls/index.m3u8", render_playlist(linked, ended=True).encode())
        await create_video(self.store, video)
        took = round(time.time() - started, 3)
        log.info("rtstream exported", extra={"rtstream": record.id, "video": video.id,
                                             "segments": len(segments), "seconds": took})
        return video

    async def range_playlist(self, stream_id: str, start: float, end: float) -> str:
        """A VOD playlist of what the stream holds between two Unix times; its key."""
        record = await self.get(stream_id)
        if end <= start:
            raise ApiError(400, "end must be after start (both Unix seconds).", "invalid_range")
        chosen = [s for s in await self.segments(record) if s.end > start and s.start < end]
        if not chosen:
            raise ApiError(404, f"RTStream {stream_id} holds no media between {start:g} and {end:g}.",
                           "range_empty")
        key = f"hls/range_{int(start)}_{int(end)}.m3u8"
        await self.storage(record).put_bytes(key, render_playlist(chosen, ended=True).encode())
        return key

    # -- the server's life ----------------------------------------------------------------------
    async def start(self) -> None:
        """Pick up source streams that should be ingesting (the server restarted): the span that
        was open ends at its last stored segment; a new one starts."""
        for record in await list_streams(self.store):
            if record.kind != "source" or record.want != "connected":
                continue
            segments = await self.segments(record)
            self._segments[record.id] = segments
            last = segments[-1].end if segments else time.time()
            span = len(record.spans)
            record = await update_stream(self.store, record.id, lambda r, last=last, span=span: r.model_copy(
                update={"spans": [*[s if s.stopped_at else s.model_copy(update={"stopped_at": last})
                                    for s in r.spans], Span(index=span, started_at=time.time())]})) or record
            self._start_ingest(record, span=span)
            log.info("rtstream resumed", extra={"rtstream": record.id})

    async def aclose(self) -> None:
        """Stop every ingest; streams stay connected in the store, to be resumed by the next start."""
        for stream_id, ingest in list(self._ingests.items()):
            await ingest.stop(timeout=self.settings.stream_stop_timeout)
            self._ingests.pop(stream_id, None)
