"""The RTStream routes as both official SDKs speak them (``../shared/reference/videodb-streams.md``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from core.urls import media_url, player_url
from server.errors import ApiError
from server.streams.manager import StreamManager
from status.streams import StreamRecord, VideoRecord


class ConnectBody(BaseModel):
    """``coll.connect_rtstream(url, name, media_types, sample_rate, store, enable_transcript,
    ws_connection_id)``; the npm SDK leaves out what it lacks, the Python one sends nulls."""

    model_config = ConfigDict(extra="ignore")
    collection_id: str | None = "default"
    url: str = Field(min_length=1, max_length=4096)
    name: str = Field(min_length=1, max_length=500)
    media_types: list[Literal["video", "audio"]] | None = None
    sample_rate: int | None = Field(None, ge=1, le=120)
    store: bool | None = None
    enable_transcript: bool | None = None
    ws_connection_id: str | None = None


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: str


class ExportBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(None, max_length=500)


def stream_data(manager: StreamManager, r: StreamRecord) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "collection_id": r.collection_id, "created_at": r.created_at,
            "sample_rate": r.sample_rate, "status": r.status, "channel_id": None,
            **manager.urls(r), "media_types": r.media_types,
            # our extras
            "url": r.url, "store": r.store, "error": r.error, "kind": r.kind, "meeting_id": r.meeting_id,
            "spans": [s.model_dump() for s in r.spans]}


def export_data(base: str, v: VideoRecord) -> dict[str, Any]:
    return {"video_id": v.id, "stream_url": media_url(base, v.id, "hls/index.m3u8"),
            "player_url": player_url(base, v.id) if "video" in v.media_types else None,
            "name": v.name, "duration": v.length}


def add_stream_routes(api: APIRouter, manager: StreamManager) -> None:
    def base() -> str:
        return manager.public_url or ""

    @api.post("/rtstream", tags=["rtstreams"])
    async def connect(body: ConnectBody) -> dict[str, Any]:
        """Connect a live source (RTSP, RTMP, HLS): ingestion starts at once (``connected``)."""
        record = await manager.connect(
            url=body.url.strip(), name=body.name, media_types=list(body.media_types or ["video"]),
            sample_rate=body.sample_rate, store=body.store, collection_id=body.collection_id or "default")
        return {"success": True, "data": stream_data(manager, record)}

    @api.get("/rtstream", tags=["rtstreams"])
    async def list_all(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
                       status: str | None = None, name: str | None = None,
                       ordering: str | None = None) -> dict[str, Any]:
        records = await manager.list()
        if status:
            records = [r for r in records if r.status == status]
        if name:
            records = [r for r in records if name.lower() in r.name.lower()]
        key = (ordering or "-created_at").lstrip("-")
        if key not in ("created_at", "name", "status", "updated_at"):
            raise ApiError(400, f"ordering must be one of created_at, name, status, updated_at "
                           f"(with - for descending), not {ordering!r}.", "invalid_ordering")
        records.sort(key=lambda r: getattr(r, key), reverse=(ordering or "-created_at").startswith("-"))
        page = records[offset: offset + limit]
        return {"success": True, "data": {"results": [stream_data(manager, r) for r in page],
                                          "count": len(records)}}

    @api.get("/rtstream/{stream_id}", tags=["rtstreams"])
    async def get_one(stream_id: str) -> dict[str, Any]:
        return {"success": True, "data": stream_data(manager, await manager.get(stream_id))}

    @api.patch("/rtstream/{stream_id}/status", tags=["rtstreams"])
    async def set_status(stream_id: str, body: ActionBody) -> dict[str, Any]:
        """``stop`` pauses ingestion within a second (the stream stays configured); ``start``
        resumes it. On a meeting's stream the bot pauses and resumes its recording, in the call."""
        record = await manager.set_status(stream_id, body.action)
        return {"success": True, "data": stream_data(manager, record)}

    @api.post("/rtstream/{stream_id}/export", tags=["rtstreams"])
    async def export(stream_id: str, body: ExportBody | None = None) -> dict[str, Any]:
        """The latest completed start -> stop as a video asset; the same asset on every call."""
        video = await manager.export(stream_id, body.name if body else None)
        return {"success": True, "data": export_data(base(), video)}

    @api.get("/rtstream/{stream_id}/stream", tags=["rtstreams"])
    async def time_range(stream_id: str, start: float, end: float) -> dict[str, Any]:
        """What the stream holds between two Unix times, as a playable (VOD) stream."""
        key = await manager.range_playlist(stream_id, start, end)
        record = await manager.get(stream_id)
        return {"success": True, "data": {
            "stream_url": media_url(base(), stream_id, key),
            "player_url": (f"{player_url(base(), stream_id)}&start={int(start)}&end={int(end)}"
                           if "video" in record.media_types else None)}}
