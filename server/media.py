"""The stored recording over HTTP: ``/media/<video_id>/hls/...`` and ``/media/<video_id>/recording.mp4``.

Only media is served (never job.json or result.json, which hold callback URLs and data). No API
key: players and callback receivers fetch these directly; the video id is the capability.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.api import ApiError
from status.store import StatusStore

_SERVABLE = re.compile(r"^(hls/[A-Za-z0-9_.-]+\.(m3u8|ts)|recording\.mp4)$")
_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".mp4": "video/mp4"}


def media_router(store: StatusStore) -> APIRouter:
    router = APIRouter(tags=["player"])

    @router.get("/media/{video_id}/{key:path}", response_class=FileResponse)
    async def media(video_id: str, key: str) -> FileResponse:
        record = await store.get_by_video(video_id)
        if record is None or not _SERVABLE.match(key):
            raise ApiError(404, "Not found.", "not_found")
        root = Path(record.output_dir).resolve()
        path = (root / key).resolve()
        if root not in path.parents or not path.is_file():
            raise ApiError(404, "Not found.", "not_found")
        live = path.suffix == ".m3u8" and not record.is_terminal
        headers = {"Cache-Control": "no-cache" if path.suffix == ".m3u8" else "max-age=3600",
                   "Access-Control-Allow-Origin": "*"}
        if live:
            headers["Cache-Control"] = "no-store"
        return FileResponse(path, media_type=_TYPES[path.suffix], headers=headers)

    return router
