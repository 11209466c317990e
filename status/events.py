"""A meeting's live events (``transcript.data``...) in the status store: documents numbered by
``seq``, kept in that order, read from a sequence number on (a client joining late, or resuming)."""

from __future__ import annotations

import json
from typing import Any

from status.store import StatusStore


def events_kind(meeting_id: str) -> str:
    return f"events:{meeting_id}"


async def events_after(store: StatusStore, meeting_id: str, after: int) -> list[dict[str, Any]]:
    """The meeting's events with ``seq`` > ``after``, in order."""
    out = [json.loads(body) for body in await store.list_docs(events_kind(meeting_id))]
    return [e for e in out if int(e.get("seq", 0)) > after]
