"""Video routes beyond the meeting: spoken-word index, transcript, search, shots and compile,
as both SDKs speak them (``../shared/reference/videodb-streams.md`` section 3).

Search is keyword search (SQLite FTS5, BM25 with a coverage score): ``search_type`` "semantic" and
"keyword" both map to it (this machine has no embedding model; the answer's ``warnings`` say so).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict

from core.payloads import SpeakerSegment
from core.urls import media_url, player_url
from indexes.fts import SearchIndex
from indexes.transcripts import segment
from media.hls import clip, parse_playlist, render_playlist
from server.errors import ApiError
from server.indexing import SPOKEN_INDEX, Indexer, transcript_or_409
from status import StatusStore
from status.streams import get_video
from storage import open_storage

SEMANTIC_WARNING = ("semantic search runs as keyword search here (no embedding model is configured): "
                    "results match the query's words")


@dataclass
class VideoView:
    id: str
    collection_id: str
    title: str
    length: float
    storage: str
    playlist: str
    timeline: list[SpeakerSegment]


class IndexBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index_type: str = SPOKEN_INDEX
    force: bool | None = None
    language_code: str | None = None
    callback_url: str | None = None


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str
    search_type: str | None = None
    index_type: str | None = None
    result_threshold: int | None = None
    score_threshold: float | None = None
    top_k: int | None = None


class StreamBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    timeline: list[tuple[float, float]] | None = None
    length: float | None = None


def add_video_routes(api: APIRouter, store: StatusStore, indexer: Indexer, search: SearchIndex,
                     public_url: Any, settings: Any) -> None:
    def base() -> str:
        return str(public_url() or "")

    async def view(video_id: str) -> VideoView:
        exported = await get_video(store, video_id)
        if exported is not None:
            return VideoView(video_id, exported.collection_id, exported.name, exported.length,
                             exported.storage, "hls/index.m3u8", [])
        record = await store.get_by_video(video_id)
        if record is None or record.stream_url is None:
            raise ApiError(404, f"Video {video_id} not found.", "video_not_found")
        if not record.is_terminal:
            raise ApiError(409, f"Video {video_id} is still recording.", "video_recording")
        timeline = [SpeakerSegment.model_validate(s) for s in record.speaker_timeline or []]
        return VideoView(video_id, record.collection_id, record.meeting_title or record.bot_name,
                         record.duration or 0.0, record.storage_uri, "hls/playlist.m3u8", timeline)

    async def index(v: VideoView) -> dict[str, Any]:
        """The long job the SDKs poll."""
        job = await indexer.start(v.id, v.timeline)
        return {"success": True, "status": "processing", "request_type": "sync",
                "data": {"id": job.id, "output_url": f"{base()}/async-response/{job.id}"}}

    async def _indexed(video_id: str) -> bool:
        from indexes.transcripts import load_transcript

        return await load_transcript(store, video_id) is not None

    @api.post("/video/{video_id}/index", tags=["indexes"])
    async def index_video(video_id: str, body: IndexBody) -> dict[str, Any]:
        """``index_spoken_words()``: transcribe and index; a long job the SDK polls."""
        if body.index_type != SPOKEN_INDEX:
            raise ApiError(400, f"index_type {body.index_type!r} is not supported on videos here "
                           "(spoken_word is).", "unsupported_index")
        v = await view(video_id)
        if not body.force and await _indexed(v.id):
            # As VideoDB answers (the SDK documents an InvalidRequestError).
            raise ApiError(400, f"Video {video_id} is already indexed (force=true indexes it again).",
                           "already_indexed")
        return await index(v)

    @api.get("/async-response/{job_id}", tags=["indexes"])
    async def job_status(job_id: str) -> dict[str, Any]:
        job = await indexer.job(job_id)
        if job is None:
            raise ApiError(404, f"Job {job_id} not found.", "job_not_found")
        if job.status == "processing":
            return {"success": True, "status": "processing", "data": {"id": job.id}}
        if job.status == "failed":
            return {"success": False, "status": "failed", "message": job.error or "indexing failed"}
        return {"success": True, "status": "done",
                "data": {"video_id": job.asset_id, "index_type": SPOKEN_INDEX}}

    @api.get("/video/{video_id}/transcription", tags=["indexes"])
    async def transcription(video_id: str, start: float | None = None, end: float | None = None,
                            segmenter: str = Query("word"), length: float = Query(1, gt=0),
                            force: str | None = None) -> dict[str, Any]:
        """The transcript, cut by ``segmenter`` (word, sentence, time) and ``length``; starts the
        index job first when the video has none (a long job, as the SDK expects). ``force`` is the
        SDK's own cache bypass: it changes nothing here."""
        v = await view(video_id)
        if not await _indexed(v.id):
            return await index(v)
        t = await transcript_or_409(store, v.id)
        words = [w for w in t.words if (start is None or w.end > start) and (end is None or w.start < end)]
        try:
            entries = segment(words, segmenter, length)
        except ValueError as exc:
            raise ApiError(400, str(exc), "invalid_segmenter") from exc
        return {"success": True, "data": {
            "word_timestamps": [e.model_dump() for e in entries],
            "text": " ".join(w.text for w in words), "engine": t.engine}}

    async def hits_for(query: str, video_ids: list[str] | None, body: SearchBody) -> dict[str, Any]:
        if (body.index_type or SPOKEN_INDEX) not in (SPOKEN_INDEX, "spoken"):
            raise ApiError(400, f"index_type {body.index_type!r} is not searchable on videos here "
                           "(spoken_word is).", "unsupported_index")
        warnings = [] if body.search_type == "keyword" else [SEMANTIC_WARNING]
        hits = await search.search(query, asset_ids=video_ids, kinds=[SPOKEN_INDEX], limit=200)
        threshold = body.score_threshold if body.score_threshold is not None else 0.0
        hits = [h for h in hits if h.score >= threshold]
        per_video = body.result_threshold or body.top_k or 50
        results: list[dict[str, Any]] = []
        by_video: dict[str, list[Any]] = {}
        for h in hits:
            by_video.setdefault(h.asset_id, []).append(h)
        for vid, found in by_video.items():
            try:
                v = await view(vid)
            except ApiError:
                continue
            docs = [{"start": round(h.start, 3), "end": round(h.end, 3), "text": h.text, "score": h.score,
                     "speaker": h.speaker, "scene_index_id": None, "scene_index_name": None,
                     "metadata": {"speaker": h.speaker} if h.speaker else {}}
                    for h in found[:per_video]]
            results.append({"collection_id": v.collection_id, "video_id": vid, "length": v.length,
                            "title": v.title, "docs": docs, "max_score": docs[0]["score"]})
        results.sort(key=lambda r: -r["max_score"])
        return {"results": results, "warnings": warnings}

    async def require_index(video_id: str) -> VideoView:
        v = await view(video_id)
        await transcript_or_409(store, v.id)
        return v

    @api.post("/video/{video_id}/search", tags=["search"])
    async def search_video(video_id: str, body: SearchBody) -> dict[str, Any]:
        """Legacy search (``search_type``/``index_type``)."""
        await require_index(video_id)
        return {"success": True, "data": await hits_for(body.query, [video_id], body)}

    @api.post("/video/{video_id}/search/v2", tags=["search"])
    async def search_video_v2(video_id: str, body: SearchBody) -> dict[str, Any]:
        """Search V2: the same hits as ``shots``."""
        await require_index(video_id)
        found = await hits_for(body.query, [video_id], body)
        return {"success": True, "data": {"response_type": "shots", **found}}

    @api.post("/collection/{cid}/search", tags=["search"])
    async def search_collection(cid: str, body: SearchBody) -> dict[str, Any]:
        return {"success": True, "data": await hits_for(body.query, None, body)}

    @api.post("/collection/{cid}/search/v2", tags=["search"])
    async def search_collection_v2(cid: str, body: SearchBody) -> dict[str, Any]:
        found = await hits_for(body.query, None, body)
        return {"success": True, "data": {"response_type": "shots", **found}}

    async def clip_of(parts: list[tuple[str, list[tuple[float, float]]]]) -> dict[str, Any]:
        """A VOD playlist of the segments covering each video's ranges; stored beside the first."""
        chosen = []
        for vid, ranges in parts:
            v = await view(vid)
            text = (await open_storage(v.storage, settings).get_bytes(v.playlist)).decode()
            segs = parse_playlist(text)
            run_base = len({s.run for s in chosen})
            chosen += [s.__class__(s.name, s.duration, s.start, 0, s.run + run_base)
                       for s in clip(segs, ranges, base=media_url(base(), vid, "hls"))]
        if not chosen:
            raise ApiError(400, "The timeline selects nothing of the video.", "empty_timeline")
        first = parts[0][0]
        digest = hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:16]
        key = f"hls/clip_{digest}.m3u8"
        v = await view(first)
        await open_storage(v.storage, settings).put_bytes(key, render_playlist(chosen, ended=True).encode())
        return {"stream_url": media_url(base(), first, key),
                "player_url": f"{player_url(base(), first)}&clip={digest}"}

    @api.post("/video/{video_id}/stream", tags=["search"])
    async def video_stream(video_id: str, body: StreamBody) -> dict[str, Any]:
        """A playable stream of the timeline's ranges (seconds), cut on segment boundaries."""
        v = await view(video_id)
        ranges = body.timeline or [(0.0, v.length)]
        if any(e <= s for s, e in ranges):
            raise ApiError(400, "Each timeline range must be [start, end] with end after start.",
                           "invalid_timeline")
        return {"success": True, "data": await clip_of([(video_id, list(ranges))])}

    @api.post("/compile", tags=["search"])
    async def compile_shots(body: list[dict[str, Any]] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """``SearchResult.compile()``: the shots of several videos as one stream."""
        parts = [(str(item["video_id"]), [(float(s), float(e)) for s, e in item.get("shots", [])])
                 for item in body if item.get("shots")]
        if not parts:
            raise ApiError(400, "Nothing to compile: no shots.", "empty_timeline")
        return {"success": True, "data": await clip_of(parts)}
