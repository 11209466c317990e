"""Indexes that run on a live RTStream, the events users define and the alerts that tie them.

A stream index turns what the stream ingests into timed records as it lands: transcript windows
(``extraction_type`` "transcript") or described frames ("time", sent as "time_based" by the npm
SDK). ``stop`` pauses indexing while the stream goes on; ``start`` resumes from that moment (what
was ingested in between stays unindexed). An event is a prompt and a label; an alert ties an
event to one index and a callback URL, and fires when a new record matches the event.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from status.store import StatusStore

IndexKind = Literal["transcript", "scene"]


class StreamIndexRecord(BaseModel):
    id: str = Field(default_factory=lambda: f"rsi-{secrets.token_hex(8)}")
    rtstream_id: str
    kind: IndexKind
    extraction_type: str
    """As the SDK sent it ("transcript", "time", "time_based"): echoed back unchanged."""
    extraction_config: dict[str, Any] = Field(default_factory=dict)
    prompt: str | None = None
    name: str | None = None
    model_name: str | None = None
    model_options: dict[str, Any] = Field(default_factory=dict, alias="model_config")
    status: Literal["connected", "stopped"] = "connected"
    indexed_until: float = Field(default_factory=time.time)
    """Unix time up to which the stream's media has been looked at; a resume moves it to now."""
    heard_until: float = 0.0
    """Transcript indexes: the end of the last word given (the next window starts after it)."""
    records: int = 0
    error: str | None = None
    """The last failure of one window (the index goes on with the next)."""
    created_at: float = Field(default_factory=time.time)

    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    @property
    def window(self) -> float:
        """Seconds of media per step: a transcript window or the frame interval."""
        cfg = self.extraction_config
        if self.kind == "scene":
            return float(cfg.get("time") or 2)
        if cfg.get("segmenter") == "time":
            return float(cfg.get("segmentation_value") or 10)
        return 10.0  # words and sentences are grouped from 10 s of transcription at a time


class EventRecord(BaseModel):
    id: str = Field(default_factory=lambda: f"evt-{secrets.token_hex(8)}")
    event_prompt: str
    label: str
    created_at: float = Field(default_factory=time.time)


class AlertRecord(BaseModel):
    id: str = Field(default_factory=lambda: f"alrt-{secrets.token_hex(8)}")
    rtstream_id: str
    index_id: str
    event_id: str
    callback_url: str
    status: Literal["enabled", "disabled"] = "enabled"
    fired: int = 0
    matching: bool = False
    """The last record matched: an alert fires when a match begins, not again while it lasts."""
    created_at: float = Field(default_factory=time.time)


async def put_index(store: StatusStore, r: StreamIndexRecord) -> None:
    await store.put_doc("rts_index", r.id, r.model_dump_json(by_alias=True), r.created_at)


async def get_index(store: StatusStore, index_id: str) -> StreamIndexRecord | None:
    raw = await store.get_doc("rts_index", index_id)
    return StreamIndexRecord.model_validate_json(raw) if raw else None


async def update_index(store: StatusStore, index_id: str,
                       change: Callable[[StreamIndexRecord], StreamIndexRecord]) -> StreamIndexRecord | None:
    def apply(raw: str) -> str:
        return change(StreamIndexRecord.model_validate_json(raw)).model_dump_json(by_alias=True)

    out = await store.update_doc("rts_index", index_id, apply)
    return StreamIndexRecord.model_validate_json(out[1]) if out else None


async def list_indexes(store: StatusStore, rtstream_id: str | None = None) -> list[StreamIndexRecord]:
    found = [StreamIndexRecord.model_validate_json(raw) for raw in await store.list_docs("rts_index")]
    return sorted((r for r in found if rtstream_id is None or r.rtstream_id == rtstream_id),
                  key=lambda r: r.created_at)


async def put_event(store: StatusStore, r: EventRecord) -> None:
    await store.put_doc("rts_event", r.id, r.model_dump_json(), r.created_at)


async def get_event(store: StatusStore, event_id: str) -> EventRecord | None:
    raw = await store.get_doc("rts_event", event_id)
    return EventRecord.model_validate_json(raw) if raw else None


async def list_events(store: StatusStore) -> list[EventRecord]:
    found = [EventRecord.model_validate_json(raw) for raw in await store.list_docs("rts_event")]
    return sorted(found, key=lambda r: r.created_at)


async def put_alert(store: StatusStore, r: AlertRecord) -> None:
    await store.put_doc("rts_alert", r.id, r.model_dump_json(), r.created_at)


async def update_alert(store: StatusStore, alert_id: str,
                       change: Callable[[AlertRecord], AlertRecord]) -> AlertRecord | None:
    out = await store.update_doc("rts_alert", alert_id, lambda raw: change(
        AlertRecord.model_validate_json(raw)).model_dump_json())
    return AlertRecord.model_validate_json(out[1]) if out else None


async def list_alerts(store: StatusStore, index_id: str) -> list[AlertRecord]:
    found = [AlertRecord.model_validate_json(raw) for raw in await store.list_docs("rts_alert")]
    return sorted((a for a in found if a.index_id == index_id), key=lambda a: a.created_at)
