"""RTStream indexes, events, alerts and search, as both official SDKs speak them
(``../shared/reference/videodb-streams.md`` §2 and §5). Registered before the plain stream routes:
``rtstream/event`` must not be read as a stream called "event"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from callbacks.factory import url_policy
from callbacks.guard import UnsafeUrlError, check_url
from indexes.events import check_prompt
from server.errors import ApiError
from server.streams.indexing import StreamIndexer, index_data
from status.stream_indexes import (
    AlertRecord,
    EventRecord,
    get_event,
    list_alerts,
    list_events,
    put_alert,
    put_event,
    update_alert,
)


class IndexBody(BaseModel):
    """``index_scenes`` / ``index_visuals`` / ``index_spoken_words`` / ``index_audio``: the Python SDK
    sends every key (nulls included), the npm SDK only what it has (``{model_config: {}}`` at least)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())
    extraction_type: str | None = None
    extraction_config: dict[str, Any] | None = None
    prompt: str | None = Field(None, max_length=4000)
    model_name: str | None = None
    model_config_: dict[str, Any] | None = Field(None, alias="model_config")
    name: str | None = Field(None, max_length=500)


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: str


class PromptBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str = Field(max_length=4000)


class EventBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_prompt: str = Field(min_length=1, max_length=2000)
    label: str = Field(min_length=1, max_length=200)


class AlertBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: str
    callback_url: str = Field(min_length=1, max_length=4096)
    ws_connection_id: str | None = None


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str = Field(min_length=1, max_length=2000)
    scene_index_id: str | None = None
    index_type: str | None = None
    result_threshold: int | None = Field(None, ge=1, le=1000)
    score_threshold: float | None = Field(None, ge=0)
    filter: list[Any] | None = None


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


def add_stream_index_routes(api: APIRouter, indexer: StreamIndexer) -> None:
    store, streams = indexer.store, indexer.streams

    # -- events (not under a stream) ------------------------------------------------------------
    @api.post("/rtstream/event", tags=["rtstream indexes"])
    async def create_event(body: EventBody) -> dict[str, Any]:
        """An event to watch for: ``re:<pattern>``, "quoted phrases", or content words."""
        try:
            check_prompt(body.event_prompt)
        except ValueError as exc:
            raise ApiError(400, str(exc), "invalid_event") from exc
        event = EventRecord(event_prompt=body.event_prompt, label=body.label)
        await put_event(store, event)
        return ok({"event_id": event.id, "event_prompt": event.event_prompt, "label": event.label})

    @api.get("/rtstream/event", tags=["rtstream indexes"])
    async def all_events() -> dict[str, Any]:
        return ok({"events": [{"event_id": e.id, "event_prompt": e.event_prompt, "label": e.label,
                               "created_at": e.created_at} for e in await list_events(store)]})

    # -- search across a collection's streams -----------------------------------------------------
    @api.post("/rtstream/collection/{collection_id}/search", tags=["rtstream indexes"])
    async def search_collection(collection_id: str, body: SearchBody) -> dict[str, Any]:
        owned = {s.id: s for s in await streams.list() if s.collection_id == collection_id}
        results = await _search(body, list(owned)) if owned else []
        for r in results:
            r["rtstream_name"] = owned[r["rtstream_id"]].name
        return ok({"results": results, "warnings": _warnings(body)})

    # -- indexes of one stream --------------------------------------------------------------------
    @api.post("/rtstream/{stream_id}/index/scene", tags=["rtstream indexes"])
    async def create_index(stream_id: str, body: IndexBody) -> dict[str, Any]:
        """Scenes (``extraction_type`` "time"/"time_based": a frame described every ``time`` s) or
        transcript windows ("transcript"); records appear as segments land."""
        record = await indexer.create(stream_id, extraction_type=body.extraction_type,
                                      extraction_config=body.extraction_config, prompt=body.prompt,
                                      name=body.name, model_name=body.model_name,
                                      model_config=body.model_config_)
        return ok(index_data(record))

    @api.get("/rtstream/{stream_id}/index/scene", tags=["rtstream indexes"])
    async def list_indexes(stream_id: str) -> dict[str, Any]:
        return ok({"scene_indexes": [index_data(r) for r in await indexer.list(stream_id)]})

    @api.get("/rtstream/{stream_id}/index/scene/{index_id}", tags=["rtstream indexes"])
    async def get_scenes(stream_id: str, index_id: str, page: int = Query(1, ge=1),
                         page_size: int = Query(100, ge=1, le=1000), start: float | None = None,
                         end: float | None = None) -> dict[str, Any]:
        """Records between two Unix times (both, or neither: the npm SDK sends ``start=0``)."""
        if start and end and end <= start:
            raise ApiError(400, "end must be after start (both Unix seconds).", "invalid_range")
        records, more = await indexer.records(stream_id, index_id, start=start or None, end=end or None,
                                              page=page, page_size=page_size)
        record = await indexer.get(stream_id, index_id)
        return ok({**index_data(record), "scene_index_records": records, "next_page": more})

    @api.patch("/rtstream/{stream_id}/index/scene/{index_id}", tags=["rtstream indexes"])
    async def update_prompt(stream_id: str, index_id: str, body: PromptBody) -> dict[str, Any]:
        record = await indexer.update_prompt(stream_id, index_id, body.prompt)
        return ok({**index_data(record), "data": {"prompt": record.prompt}})

    @api.patch("/rtstream/{stream_id}/index/scene/{index_id}/status", tags=["rtstream indexes"])
    async def set_status(stream_id: str, index_id: str, body: ActionBody) -> dict[str, Any]:
        """``stop`` pauses indexing while the stream goes on; ``start`` resumes it from now."""
        return ok(index_data(await indexer.set_status(stream_id, index_id, body.action)))

    @api.patch("/rtstream/{stream_id}/index/spoken/{index_id}/status", tags=["rtstream indexes"])
    async def set_spoken_status(stream_id: str, index_id: str, body: ActionBody) -> dict[str, Any]:
        return ok(index_data(await indexer.set_status(stream_id, index_id, body.action)))

    @api.get("/rtstream/{stream_id}/index/{index_id}", tags=["rtstream indexes"])
    async def get_index(stream_id: str, index_id: str) -> dict[str, Any]:
        return ok(index_data(await indexer.get(stream_id, index_id)))

    # -- alerts -----------------------------------------------------------------------------------
    @api.post("/rtstream/{stream_id}/index/{index_id}/alert", tags=["rtstream indexes"])
    async def create_alert(stream_id: str, index_id: str, body: AlertBody) -> dict[str, Any]:
        await indexer.get(stream_id, index_id)
        if await get_event(store, body.event_id) is None:
            raise ApiError(404, f"Event {body.event_id} not found.", "event_not_found")
        try:
            await check_url(body.callback_url, url_policy(indexer.settings))
        except UnsafeUrlError as exc:
            raise ApiError(400, f"callback_url refused: {exc}", "unsafe_url") from exc
        alert = AlertRecord(rtstream_id=stream_id, index_id=index_id, event_id=body.event_id,
                            callback_url=body.callback_url)
        await put_alert(store, alert)
        return ok({"alert_id": alert.id, "event_id": alert.event_id, "status": alert.status})

    @api.get("/rtstream/{stream_id}/index/{index_id}/alert", tags=["rtstream indexes"])
    async def alerts(stream_id: str, index_id: str) -> dict[str, Any]:
        await indexer.get(stream_id, index_id)
        found = await list_alerts(store, index_id)
        return ok({"alerts": [{"alert_id": a.id, "event_id": a.event_id, "callback_url": a.callback_url,
                               "status": a.status, "fired": a.fired} for a in found]})

    @api.patch("/rtstream/{stream_id}/index/{index_id}/alert/{alert_id}/status", tags=["rtstream indexes"])
    async def alert_status(stream_id: str, index_id: str, alert_id: str, body: ActionBody) -> dict[str, Any]:
        if body.action not in ("enable", "disable"):
            raise ApiError(400, f"action must be enable or disable, not {body.action!r}.", "invalid_action")
        await indexer.get(stream_id, index_id)
        known = {a.id for a in await list_alerts(store, index_id)}
        if alert_id not in known:
            raise ApiError(404, f"Alert {alert_id} not found on index {index_id}.", "alert_not_found")
        status = "enabled" if body.action == "enable" else "disabled"
        alert = await update_alert(store, alert_id, lambda a: a.model_copy(update={"status": status}))
        assert alert is not None
        return ok({"alert_id": alert.id, "status": alert.status})

    # -- search on one stream ---------------------------------------------------------------------
    @api.post("/rtstream/{stream_id}/search", tags=["rtstream indexes"])
    async def search(stream_id: str, body: SearchBody) -> dict[str, Any]:
        """Keyword search over the stream's index records (times in Unix seconds)."""
        await streams.get(stream_id)
        if body.scene_index_id:
            await indexer.get(stream_id, body.scene_index_id)
        return ok({"results": await _search(body, [stream_id]), "warnings": _warnings(body)})

    async def _search(body: SearchBody, stream_ids: list[str]) -> list[dict[str, Any]]:
        kinds = None
        if body.index_type in ("spoken_word", "spoken", "transcript"):
            kinds = ["transcript"]
        elif body.index_type in ("scene", "visual"):
            kinds = ["scene"]
        hits = await indexer.search.search(
            body.query, asset_ids=stream_ids, kinds=kinds, limit=body.result_threshold or 50,
            index_ids=[body.scene_index_id] if body.scene_index_id else None)
        names: dict[str, str | None] = {}
        out = []
        for h in hits:
            if body.score_threshold is not None and h.score < body.score_threshold:
                continue
            if h.index_id not in names:
                rec = await indexer.get(h.asset_id, h.index_id)
                names[h.index_id] = rec.name
            out.append({"rtstream_id": h.asset_id, "start": h.start, "end": h.end, "text": h.text,
                        "score": h.score, "scene_index_id": h.index_id,
                        "scene_index_name": names[h.index_id], "index_type": h.kind,
                        "metadata": {"speaker": h.speaker} if h.speaker else {}})
        return out

    def _warnings(body: SearchBody) -> list[str]:
        return ["Search is keyword search (SQLite FTS5, BM25): there is no embedding model in this "
                "deployment, so meaning is matched by words."]
