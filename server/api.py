"""The VideoDB-compatible API (``../shared/reference/videodb-api.md``): collections, meetings, videos.

Every answer is the envelope ``{"success": true, "data": {...}}`` or
``{"success": false, "message": ..., "error_code": ...}``; never a top-level ``status``.
Routes have no trailing slash; ``default`` is the collection's id and alias.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import platforms
from callbacks.factory import url_policy
from callbacks.guard import UnsafeUrlError, check_url
from core.errors import MeetbotError
from core.job import Job
from core.lifecycle import Phase
from core.settings import Settings
from core.urls import media_url, player_url
from indexes.fts import SearchIndex
from server.errors import ApiError
from server.events import event_stream
from server.indexing import Indexer
from server.launchers import BotLauncher, record_of
from server.metrics import CONTENT_TYPE_LATEST
from server.scheduler import POLL_S, Scheduler
from server.streams.index_routes import add_stream_index_routes
from server.streams.indexing import StreamIndexer
from server.streams.manager import StreamManager
from server.streams.routes import add_stream_routes
from server.video_routes import add_video_routes
from status import MeetingRecord, StatusStore
from status.events import events_after
from status.streams import VideoRecord
from status.streams import get_video as get_exported_video
from storage import location

COLLECTION = {"id": "default", "name": "Default Collection",
              "description": "Meetings recorded by this meetbot server.", "is_public": False}


class RecordMeeting(BaseModel):
    """The body the SDK's ``record_meeting`` sends (every key, ``null`` for what it lacks)."""

    model_config = ConfigDict(extra="ignore")
    meeting_url: str
    bot_name: str | None = None
    bot_image_url: str | None = None
    meeting_title: str | None = None
    callback_url: str | None = None
    callback_data: dict[str, Any] | None = None
    time_zone: str | None = "UTC"
    transcribe: bool | None = None
    """Our extension (the SDKs never send it): default ``MEETBOT_TRANSCRIBE_MEETINGS``."""
    live_transcript: bool | None = None
    transcript_events: bool | None = None
    transcript_source: str | None = None
    captions_language: str | None = None
    """Our extension: transcript events while the meeting is on, and where the transcript comes
    from: the platform's captions or the local engine (see ``core/job.py``)."""
    read_chat: bool | None = None
    chat_on_join: str | None = None
    """Our extension: the meeting's chat read, a notice posted in it once admitted."""
    audio_only: bool | None = None
    """Our extension: record the sound only (``player_url`` None)."""
    video_width: int | None = None
    video_height: int | None = None
    video_fps: int | None = None
    """Our extension: the capture's size and rate (default the server's, 1280x720 at 15 fps)."""
    join_at: float | str | None = None
    """Our extension: when to be in the meeting (Unix seconds, or ISO 8601 with a zone); the
    meeting is ``initializing`` / phase ``scheduled`` until its bot starts. Past: at once."""


class Envelope(BaseModel):
    success: bool = True
    data: dict[str, Any] = Field(default_factory=dict)


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


def meeting_data(r: MeetingRecord) -> dict[str, Any]:
    """The SDK's seven attributes plus ``meeting_id``; no ``id``/``collection_id`` (a TypeError there)."""
    return {"meeting_id": r.meeting_id, "bot_name": r.bot_name, "meeting_title": r.meeting_title,
            "meeting_url": r.meeting_url, "status": r.status.value, "time_zone": r.time_zone,
            "video_id": r.video_id, "speaker_timeline": r.speaker_timeline,
            # our extras
            "phase": r.phase, "reason": r.reason, "error": r.error,
            "phases": [m.model_dump() for m in r.phases], "stream_url": r.stream_url,
            "player_url": r.player_url, "duration": r.duration, "created_at": r.created_at,
            "rtstream_id": r.rtstream_id, "join_at": r.join_at}


def video_data(r: MeetingRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": r.video_id, "collection_id": r.collection_id, "meeting_id": r.meeting_id,
        "name": r.meeting_title or f"Meeting recorded by {r.bot_name}", "description": None,
        "stream_url": r.stream_url, "player_url": r.player_url, "thumbnail_url": None,
        "recording_url": r.recording_url, "speaker_timeline": r.speaker_timeline,
        "transcript": None, "scenes": None}
    if r.duration is not None:
        data["length"] = r.duration  # a number or absent, never null
    return data


def exported_video_data(base: str, v: VideoRecord) -> dict[str, Any]:
    return {"id": v.id, "collection_id": v.collection_id, "name": v.name, "description": None,
            "stream_url": media_url(base, v.id, "hls/index.m3u8"),
            "player_url": player_url(base, v.id) if "video" in v.media_types else None,
            "thumbnail_url": None, "recording_url": media_url(base, v.id, "recording.mp4"),
            "length": v.length, "rtstream_id": v.rtstream_id, "transcript": None, "scenes": None}


def create_app(*, store: StatusStore, bots: BotLauncher, settings: Settings,
               streams: StreamManager, indexer: Indexer | None = None,
               stream_indexer: StreamIndexer | None = None, scheduler: Scheduler | None = None) -> FastAPI:
    keys = [k.get_secret_value() for k in settings.api_keys]
    scheduler = scheduler or Scheduler(store, bots, settings)

    async def authorize(token: str | None = Depends(APIKeyHeader(name="x-access-token", auto_error=False))
                        ) -> None:
        token = token or ""
        if not any(secrets.compare_digest(token.encode(), k.encode()) for k in keys):
            raise ApiError(401, "Invalid or missing API key (x-access-token).", "unauthorized")

    api = APIRouter(dependencies=[Depends(authorize)])

    def collection(cid: str) -> str:
        if cid != COLLECTION["id"]:
            raise ApiError(404, f"Collection {cid} not found.", "collection_not_found")
        return cid

    async def meeting(cid: str, meeting_id: str) -> MeetingRecord:
        collection(cid)
        record = await store.get(meeting_id)
        if record is None:
            raise ApiError(404, f"Meeting {meeting_id} not found.", "meeting_not_found")
        return record

    @api.get("/collection/{cid}", response_model=Envelope, tags=["collections"])
    async def get_collection(cid: str) -> dict[str, Any]:
        collection(cid)
        return ok(dict(COLLECTION))

    async def check_at_the_door(job: Job) -> None:
        """The address rules, now rather than at delivery: a URL the bot would refuse to call is
        a 400 naming the field and the rule. A host that does not resolve right now passes (DNS
        may recover; delivery checks again)."""
        for field in ("callback_url", "bot_image_url"):
            url = getattr(job, field)
            if url is None:
                continue
            try:
                await check_url(str(url), url_policy(settings))
            except UnsafeUrlError as exc:
                if not exc.retryable:
                    raise ApiError(400, f"{field} refused: {exc.reason} ({exc.host}); private "
                                   "addresses need MEETBOT_ALLOW_PRIVATE_URLS", "unsafe_url") from exc

    @api.post("/collection/{cid}/meeting/record", response_model=Envelope, tags=["meetings"])
    async def record_meeting(cid: str, body: RecordMeeting) -> dict[str, Any]:
        """Send a bot to the meeting. It queues when all bots are busy (status ``initializing``)."""
        collection(cid)
        try:
            platforms.resolve(body.meeting_url)
            fields = {k: v for k, v in body.model_dump().items() if v is not None}
            fields.setdefault("transcribe", settings.transcribe_meetings)
            job = Job.parse(fields)
        except MeetbotError as exc:
            raise ApiError(400, exc.message, exc.code.value) from exc
        if job.join_at is not None and job.join_at - time.time() > settings.join_at_horizon:
            raise ApiError(400, f"join_at is more than {settings.join_at_horizon / 86400:g} days ahead "
                           "(MEETBOT_JOIN_AT_HORIZON)", "invalid_job")
        await check_at_the_door(job)
        where = location(settings, "recordings", job.meeting_id)
        stream = await streams.create_for_meeting(
            meeting_id=job.meeting_id, name=job.meeting_title or f"Meeting {job.meeting_id}",
            storage=where, collection_id=cid)
        job = job.model_copy(update={"output_dir": (settings.output_dir / job.meeting_id).resolve(),
                                     "storage_uri": where, "rtstream_id": stream.id})
        scheduled = job.join_at is not None and job.join_at > time.time() + POLL_S
        record = record_of(job, collection_id=cid, scheduled=scheduled)
        await store.create(record)
        if not scheduled:
            bots.submit(job)
        return ok(meeting_data(record))

    @api.get("/collection/{cid}/meeting/{meeting_id}", response_model=Envelope, tags=["meetings"])
    async def get_meeting(cid: str, meeting_id: str) -> dict[str, Any]:
        return ok(meeting_data(await meeting(cid, meeting_id)))

    @api.get("/collection/{cid}/meeting/{meeting_id}/events", tags=["meetings"],
             response_class=StreamingResponse)
    async def meeting_events(cid: str, meeting_id: str, request: Request,
                             after: int = 0) -> StreamingResponse:
        """Our extension: the meeting's live events (``transcript.data``) as server-sent events,
        from ``after`` (or ``Last-Event-ID``) on, until the meeting is over."""
        await meeting(cid, meeting_id)
        last = request.headers.get("last-event-id", "")
        start = int(last) if last.isdigit() else after
        return StreamingResponse(event_stream(store, meeting_id, start), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.get("/collection/{cid}/meeting/{meeting_id}/chat", response_model=Envelope, tags=["meetings"])
    async def meeting_chat(cid: str, meeting_id: str) -> dict[str, Any]:
        """Our extension: the meeting's chat as its bot read it so far (a job with ``read_chat``),
        oldest first: sender, text, ``at`` on the recording's clock, ``from_bot``."""
        await meeting(cid, meeting_id)
        events = await events_after(store, meeting_id, 0)
        messages = [e["data"] for e in events if e.get("event") == "chat.message"]
        return ok({"meeting_id": meeting_id, "messages": messages})

    @api.post("/collection/{cid}/meeting/{meeting_id}/leave", response_model=Envelope, tags=["meetings"])
    @api.delete("/collection/{cid}/meeting/{meeting_id}", response_model=Envelope, tags=["meetings"])
    async def leave_meeting(cid: str, meeting_id: str) -> dict[str, Any]:
        """Our extension: the bot leaves now, stores what it recorded and calls back (``stopped``);
        a scheduled meeting is called off (``stopped``, called back) before its bot starts."""
        record = await meeting(cid, meeting_id)
        if record.phase == Phase.SCHEDULED.value and await scheduler.cancel(meeting_id):
            return ok(meeting_data(await meeting(cid, meeting_id)))
        if record.is_terminal or not await bots.leave(meeting_id):
            raise ApiError(409, f"Meeting {meeting_id} has no running bot ({record.status.value}).",
                           "meeting_not_active")
        return ok(meeting_data(await meeting(cid, meeting_id)))

    async def video(video_id: str, collection_id: str | None) -> MeetingRecord:
        record = await store.get_by_video(video_id)
        if record is None or record.stream_url is None or \
                collection_id not in (None, COLLECTION["id"], record.collection_id):
            raise ApiError(404, f"Video {video_id} not found.", "video_not_found")
        return record

    @api.get("/video/{video_id}", response_model=Envelope, tags=["videos"])
    async def get_video(video_id: str, collection_id: str | None = None) -> dict[str, Any]:
        exported = await get_exported_video(store, video_id)
        if exported is not None:
            return ok(exported_video_data(streams.public_url or "", exported))
        return ok(video_data(await video(video_id, collection_id)))

    @api.get("/video/{video_id}/meeting", response_model=Envelope, tags=["videos"])
    async def get_video_meeting(video_id: str, collection_id: str | None = None) -> dict[str, Any]:
        return ok(meeting_data(await video(video_id, collection_id)))

    app = FastAPI(title="meetbot", version="0.1.0", redirect_slashes=False,
                  description="A self-hosted implementation of VideoDB's meeting-recording API.")
    indexer = indexer or Indexer(store, settings, SearchIndex(settings.data_dir / "search.db"))
    add_stream_index_routes(api, stream_indexer or StreamIndexer(store, settings, streams, indexer.search))
    add_stream_routes(api, streams)
    add_video_routes(api, store, indexer, indexer.search, lambda: streams.public_url, settings)
    app.include_router(api)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus: bots running and queued, their CPU, memory and losses, how they ended."""
        return Response(await bots.exposition(), media_type=CONTENT_TYPE_LATEST)

    install_error_handlers(app)
    return app


def install_error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str, code: str) -> JSONResponse:
        return JSONResponse({"success": False, "message": message, "error_code": code}, status_code=status)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.message, exc.error_code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error(exc.status_code, str(exc.detail), codes.get(exc.status_code, "http_error"))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        return error(400, f"Invalid request: {problems}", "invalid_request")
