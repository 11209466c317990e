"""A meeting's live events as server-sent events: ``GET .../meeting/{id}/events``.

Each event is ``id: <seq>``, ``event: <its kind>`` and its JSON as ``data``; a client that joins
late gets everything from the start, one that reconnects sends ``Last-Event-ID`` (or ``?after=``)
and gets what came after it. The stream ends once the meeting is over and every event was sent;
a comment every KEEPALIVE_S keeps proxies from closing a quiet one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from status import StatusStore
from status.events import events_after

POLL_S = 0.25
KEEPALIVE_S = 15.0


async def event_stream(store: StatusStore, meeting_id: str, after: int) -> AsyncIterator[bytes]:
    last_sent = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        record = await store.get(meeting_id)
        over = record is None or record.is_terminal
        for event in await events_after(store, meeting_id, after):
            after = int(event["seq"])
            yield (f"id: {after}\nevent: {event.get('event', 'message')}\n"
                   f"data: {json.dumps(event, separators=(',', ':'))}\n\n").encode()
            last_sent = time.monotonic()
        if over:  # the record went terminal before this read: nothing more will come
            return
        if time.monotonic() - last_sent >= KEEPALIVE_S:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(POLL_S)
