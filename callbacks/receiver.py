"""A webhook receiver on a real socket: records every request, answers as told.

For the demo, the tests and users checking their integration (``meetbot`` prints what it got).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.http import EmbeddedServer


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    """What the receiver answered (even if the sender had given up waiting by then)."""

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class CallbackReceiver:
    """``async with CallbackReceiver() as rx: ... rx.url ... await rx.wait_for(1)``.

    ``replies`` is consumed one per request; when it runs out every request gets ``default``.
    """

    def __init__(self, *, replies: list[Reply] | None = None, default: Reply | None = None,
                 port: int = 0) -> None:
        self.received: list[Received] = []
        self.replies = list(replies or [])
        self.default = default or Reply()
        self._changed = asyncio.Condition()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "PUT"])])
        self._server = EmbeddedServer(app, port=port, name="callback-receiver")

    @property
    def url(self) -> str:
        return self._server.url + "/callback"

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        reply = self.replies.pop(0) if self.replies else self.default
        self.received.append(Received(time.time(), request.url.path, dict(request.headers), body,
                                      reply.status))
        async with self._changed:
            self._changed.notify_all()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(status_code=reply.status, headers=reply.headers)

    def events(self) -> list[Received]:
        """What a receiver that dedupes on ``webhook-id`` acts on: each id's first 2xx-answered request.

        Requests without the header count each on their own.
        """
        seen: set[str] = set()
        out = []
        for r in self.received:
            if r.status is None or not 200 <= r.status < 300:
                continue
            if r.webhook_id is not None:
                if r.webhook_id in seen:
                    continue
                seen.add(r.webhook_id)
            out.append(r)
        return out

    async def wait_for(self, count: int = 1, *, timeout: float = 30.0) -> list[Received]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    async def __aenter__(self) -> CallbackReceiver:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.aclose()
