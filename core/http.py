"""Serve an ASGI app with uvicorn inside the current event loop, on 127.0.0.1 by default.

Used by the simulator and the callback receiver (demo, tests, rehearsals).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from core.aio import bounded

KEEP_ALIVE_S = 75
"""An idle connection is kept longer than clients keep theirs (Node's agent: 5 s, uvicorn's own
default too), so that the client, not the server, closes it: at equal timeouts a request sent on
a socket the server is closing fails with no response (the npm SDK's "socket hang up")."""


class _Server(uvicorn.Server):
    # uvicorn would take over SIGINT/SIGTERM; the host process (bot, pytest) owns its signals.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EmbeddedServer:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning", name: str = "http") -> None:
        self._app = app
        self._host, self._port = host, port
        self._log_level = log_level
        self._name = name
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self._name} server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self._name} server already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_level=self._log_level, log_config=None,
                                access_log=False, lifespan="off", ws="none",
                                timeout_graceful_shutdown=1, timeout_keep_alive=KEEP_ALIVE_S)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=self._name)
        while not self._server.started:
            if self._task.done():
                await self._task  # surfaces the startup error
                raise RuntimeError(f"{self._name} server exited during startup")
            await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        """Stop serving; idempotent."""
        task, server = self._task, self._server
        self._task = None
        if task is None or server is None:
            return
        server.should_exit = True
        try:
            await bounded(asyncio.shield(task), timeout=3)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
