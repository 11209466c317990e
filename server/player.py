"""``/watch?v=<video_id>`` and ``/embed?v=<video_id>``: the HLS stream and its speaker timeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from status.store import MeetingRecord, StatusStore

TEMPLATE = (Path(__file__).parent / "templates" / "player.html").read_text()
STATIC = Path(__file__).parent / "static"


def page_data(r: MeetingRecord) -> dict[str, Any]:
    return {"video_id": r.video_id, "meeting_id": r.meeting_id, "title": r.meeting_title or r.bot_name,
            "status": r.status.value, "stream_url": r.stream_url, "duration": r.duration,
            "speaker_timeline": r.speaker_timeline or []}


def render(r: MeetingRecord, *, embed: bool) -> str:
    data = json.dumps(page_data(r)).replace("</", "<\\/")
    title = (r.meeting_title or "Meeting recording").replace("&", "&amp;").replace("<", "&lt;")
    return (TEMPLATE.replace("{{TITLE}}", title).replace("{{DATA}}", data)
            .replace("{{MODE}}", "embed" if embed else "watch"))


def player_router(store: StatusStore) -> APIRouter:
    router = APIRouter(tags=["player"])

    async def page(v: str, embed: bool) -> HTMLResponse:
        record = await store.get_by_video(v)
        if record is None or record.stream_url is None:
            return HTMLResponse("<!doctype html><title>Not found</title><p>No such recording.</p>", 404)
        return HTMLResponse(render(record, embed=embed))

    @router.get("/watch", response_class=HTMLResponse)
    async def watch(v: str = Query(..., description="The video id")) -> HTMLResponse:
        return await page(v, embed=False)

    @router.get("/embed", response_class=HTMLResponse)
    async def embed(v: str = Query(..., description="The video id")) -> HTMLResponse:
        return await page(v, embed=True)

    return router
