"""Stored media over HTTP: ``/media/<asset id>/hls/...`` and ``/media/<asset id>/recording.mp4``.

An asset is a meeting's recording (its video id), an RTStream (``rts-...``) or an exported video.
Files come from wherever the asset is stored: a local file is sent; on S3 the playlist is sent
(its segment names then resolve back here) and every other file is a redirect to a signed URL,
so players never need the bucket's credentials. Only media is served (never job.json or
result.json, which hold callback URLs and data). No API key: players and callback receivers
fetch these directly; the asset id is the capability.
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.errors import MeetbotError
from core.settings import Settings
from server.errors import ApiError
from status import StatusStore
from status.streams import get_stream, get_video
from storage import open_storage

_SERVABLE = re.compile(
    r"^(hls/[A-Za-z0-9_.-]+\.(m3u8|ts|vtt)|recording\.mp4|transcript\.json|captions\.vtt)$")
_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t", "mp4": "video/mp4",
          "json": "application/json", "vtt": "text/vtt"}


async def asset_location(store: StatusStore, asset_id: str) -> tuple[str, bool] | None:
    """Where an asset's files are, and whether it is still being written (live)."""
    if asset_id.startswith("rts-"):
        stream = await get_stream(store, asset_id)
        return (stream.storage, stream.want == "connected") if stream else None
    exported = await get_video(store, asset_id)
    if exported is not None:
        return exported.storage, False
    record = await store.get_by_video(asset_id)
    return (record.storage_uri, not record.is_terminal) if record else None


def media_router(store: StatusStore, settings: Settings) -> APIRouter:
    router = APIRouter(tags=["player"])

    @router.get("/media/{asset_id}/{key:path}", response_model=None)
    async def media(asset_id: str, key: str) -> Response:
        where = await asset_location(store, asset_id) if _SERVABLE.match(key) else None
        if where is None:
            raise ApiError(404, "Not found.", "not_found")
        uri, live = where
        kind = key.rsplit(".", 1)[1]
        cache = ("no-store" if live else "no-cache") if kind in ("m3u8", "json", "vtt") else "max-age=3600"
        headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": cache}
        storage = open_storage(uri, settings)
        path = storage.local_path(key)
        if path is not None and kind not in ("m3u8", "json", "vtt"):  # small, replaced: read whole
            if not path.is_file():
                raise ApiError(404, "Not found.", "not_found")
            return FileResponse(path, media_type=_TYPES[kind], headers=headers)
        try:
            if kind in ("m3u8", "json", "vtt"):
                return Response(await storage.get_bytes(key), media_type=_TYPES[kind], headers=headers)
            if not await storage.exists(key):
                raise ApiError(404, "Not found.", "not_found")
            signed = await storage.presign(key)
        except MeetbotError as exc:
            raise ApiError(404, f"Not found ({exc.message}).", "not_found") from exc
        return RedirectResponse(str(signed), status_code=302, headers=headers)

    return router
