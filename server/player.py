"""``/watch?v=<id>`` and ``/embed?v=<id>``: a recording (with its speaker timeline), an exported
video, or an RTStream, live while it ingests (``&start=&end=``: a time range of it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from core.urls import media_url
from status.store import MeetingRecord, StatusStore
from status.streams import get_stream, get_video

TEMPLATE = (Path(__file__).parent / "templates" / "player.html").read_text()
STATIC = Path(__file__).parent / "static"


def page_data(r: MeetingRecord) -> dict[str, Any]:
    return {"video_id": r.video_id, "meeting_id": r.meeting_id, "title": r.meeting_title or r.bot_name,
            "status": r.status.value, "stream_url": r.stream_url, "duration": r.duration,
            "speaker_timeline": r.speaker_timeline or []}


def render(r: MeetingRecord, *, embed: bool) -> str:
    return render_data(page_data(r), r.meeting_title or "Meeting recording", embed=embed)


def render_data(data: dict[str, Any], title: str, *, embed: bool) -> str:
    body = json.dumps(data).replace("</", "<\\/")
    title = title.replace("&", "&amp;").replace("<", "&lt;")
    return (TEMPLATE.replace("{{TITLE}}", title).replace("{{DATA}}", body)
            .replace("{{MODE}}", "embed" if embed else "watch"))


def player_router(store: StatusStore, public_url: Callable[[], str]) -> APIRouter:
    router = APIRouter(tags=["player"])
    missing = HTMLResponse("<!doctype html><title>Not found</title><p>No such recording.</p>", 404)

    async def page(v: str, embed: bool, start: int | None, end: int | None,
                   clip: str | None = None) -> HTMLResponse:
        base = public_url()
        if clip is not None:  # compiled shots of a video (POST video/{id}/stream, compile)
            if not clip.isalnum():
                return missing
            data = {"video_id": v, "title": "Shots", "status": "done", "live": False,
                    "stream_url": media_url(base, v, f"hls/clip_{clip}.m3u8"), "duration": None,
                    "speaker_timeline": []}
            return HTMLResponse(render_data(data, "Shots", embed=embed))
        if v.startswith("rts-"):
            stream = await get_stream(store, v)
            if stream is None:
                return missing
            key = f"hls/range_{start}_{end}.m3u8" if start is not None and end is not None else (
                "hls/index.m3u8" if stream.kind == "source" else "hls/playlist.m3u8")
            data = {"video_id": v, "title": stream.name, "status": stream.status, "live": start is None,
                    "stream_url": media_url(base, v, key), "duration": None, "speaker_timeline": []}
            return HTMLResponse(render_data(data, stream.name, embed=embed))
        exported = await get_video(store, v)
        if exported is not None:
            data = {"video_id": v, "title": exported.name, "status": "done", "live": False,
                    "stream_url": media_url(base, v, "hls/index.m3u8"), "duration": exported.length,
                    "speaker_timeline": []}
            return HTMLResponse(render_data(data, exported.name, embed=embed))
        record = await store.get_by_video(v)
        if record is None or record.stream_url is None:
            return missing
        data = page_data(record)
        if record.is_terminal:  # a transcribed meeting has these beside its recording
            data.update(transcript_url=media_url(base, v, "transcript.json"),
                        captions_url=media_url(base, v, "captions.vtt"))
        return HTMLResponse(render_data(data, record.meeting_title or "Meeting recording", embed=embed))

    @router.get("/watch", response_class=HTMLResponse)
    async def watch(v: str = Query(..., description="A video, or RTStream, id"), start: int | None = None,
                    end: int | None = None, clip: str | None = None) -> HTMLResponse:
        return await page(v, False, start, end, clip)

    @router.get("/embed", response_class=HTMLResponse)
    async def embed(v: str = Query(..., description="A video, or RTStream, id"), start: int | None = None,
                    end: int | None = None, clip: str | None = None) -> HTMLResponse:
        return await page(v, True, start, end, clip)

    return router
