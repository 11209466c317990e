"""RTStream and exported-video records, kept in the status store beside the meetings.

An RTStream ingests live media while ``connected``; ``stop`` pauses it (``stopped``, still
configured), ``start`` resumes it. Each start -> stop is a *span*: one recording, which ``export``
turns into a video asset. A meeting's capture is an RTStream too (``kind`` "meeting"): its bot
follows ``want`` (pause/resume) and reports the spans.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from status.store import StatusStore

StreamStatus = Literal["connected", "stopped", "error"]
MediaType = Literal["video", "audio"]


class Span(BaseModel):
    """One start -> stop of a stream: what ``export`` makes a video of."""

    index: int
    started_at: float
    stopped_at: float | None = None
    segments: int = 0
    """Segments stored for this span."""
    video_id: str | None = None
    """Its export, once made (export is idempotent: the same asset every time)."""


class StreamRecord(BaseModel):
    id: str = Field(default_factory=lambda: f"rts-{secrets.token_hex(8)}")
    collection_id: str = "default"
    name: str
    url: str | None = None
    """The source (RTSP, RTMP, HLS); None for a meeting's capture."""
    media_types: list[MediaType] = Field(default_factory=lambda: ["video", "audio"])
    sample_rate: int = 30
    store: bool = False
    """Keep the media for export (a live-only stream keeps a short window to play and index)."""
    kind: Literal["source", "meeting"] = "source"
    meeting_id: str | None = None
    storage: str
    """Where its segments and playlist are (a ``storage.location`` URI)."""
    status: StreamStatus = "connected"
    want: Literal["connected", "stopped"] = "connected"
    """What the API last asked for; the ingest (or the meeting's bot) follows it."""
    error: str | None = None
    spans: list[Span] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    @property
    def open_span(self) -> Span | None:
        return self.spans[-1] if self.spans and self.spans[-1].stopped_at is None else None

    @property
    def last_completed_span(self) -> Span | None:
        done = [s for s in self.spans if s.stopped_at is not None and s.segments > 0]
        return done[-1] if done else None


class VideoRecord(BaseModel):
    """A video asset made by exporting one span of a stream."""

    id: str = Field(default_factory=lambda: f"m-{secrets.token_hex(8)}")
    collection_id: str = "default"
    name: str
    storage: str
    length: float
    media_types: list[MediaType]
    rtstream_id: str
    span: int
    created_at: float = Field(default_factory=time.time)


async def create_stream(store: StatusStore, record: StreamRecord) -> None:
    await store.put_doc("stream", record.id, record.model_dump_json(), record.created_at)


async def get_stream(store: StatusStore, stream_id: str) -> StreamRecord | None:
    raw = await store.get_doc("stream", stream_id)
    return StreamRecord.model_validate_json(raw) if raw else None


async def update_stream(store: StatusStore, stream_id: str,
                        change: Callable[[StreamRecord], StreamRecord]) -> StreamRecord | None:
    def apply(raw: str) -> str:
        after = change(StreamRecord.model_validate_json(raw))
        return after.model_copy(update={"updated_at": time.time()}).model_dump_json()

    out = await store.update_doc("stream", stream_id, apply)
    return StreamRecord.model_validate_json(out[1]) if out else None


async def list_streams(store: StatusStore) -> list[StreamRecord]:
    return [StreamRecord.model_validate_json(raw) for raw in await store.list_docs("stream")]


async def create_video(store: StatusStore, record: VideoRecord) -> None:
    await store.put_doc("video", record.id, record.model_dump_json(), record.created_at)


async def get_video(store: StatusStore, video_id: str) -> VideoRecord | None:
    raw = await store.get_doc("video", video_id)
    return VideoRecord.model_validate_json(raw) if raw else None
