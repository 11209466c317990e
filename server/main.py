"""``meetbot serve``: the API, the player pages and the media; bots launched one of three ways.

- embedded (default): the server runs bot processes itself, status in SQLite;
- queue (``MEETBOT_REDIS_URL``): jobs go to Redis for ``meetbot worker`` consumers, status in Redis;
- Kubernetes (``MEETBOT_LAUNCHER=kubernetes``, with Redis for the status): one Job per meeting.

In every mode the server delivers what is left in the callback outbox, and fails meetings whose
bot stopped renewing its heartbeat (``worker_lost``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from callbacks.factory import build_deliverer
from core.http import EmbeddedServer
from core.settings import Settings
from indexes.fts import SearchIndex
from server.api import create_app
from server.indexing import Indexer
from server.launchers import BotLauncher, reap_leftovers, reap_lost, recover_meetings
from server.limits import BodyLimit
from server.media import media_router
from server.player import STATIC, player_router
from server.scheduler import Scheduler
from server.streams.indexing import StreamIndexer
from server.streams.manager import StreamManager
from status import StatusStore

log = logging.getLogger("meetbot.serve")


def build_app(store: StatusStore, bots: BotLauncher, settings: Settings,
              streams: StreamManager | None = None, indexer: Indexer | None = None,
              stream_indexer: StreamIndexer | None = None, scheduler: Scheduler | None = None) -> FastAPI:
    streams = streams or StreamManager(store, settings)
    app = create_app(store=store, bots=bots, settings=settings, streams=streams, indexer=indexer,
                     stream_indexer=stream_indexer, scheduler=scheduler)
    app.include_router(media_router(store, settings))
    app.include_router(player_router(store, lambda: streams.public_url or ""))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    return app


def base_url(settings: Settings, host: str, port: int) -> str:
    if settings.public_url:
        return str(settings.public_url).rstrip("/")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def _stop_on_signal() -> asyncio.Event:
    """Set on SIGTERM or SIGINT. Installed before anything starts: the API answers before the
    launchers and streams are up, and a signal in between must still stop things in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _every(interval: float, step: Callable[[], Awaitable[object]], what: str) -> None:
    while True:
        try:
            await step()
        except Exception:
            log.warning("periodic step failed", extra={"step": what}, exc_info=True)
        await asyncio.sleep(interval)


async def _once(step: Awaitable[object], what: str) -> None:
    try:
        result = await step
        log.info("startup step done", extra={"step": what, "result": result})
    except Exception:
        log.warning("startup step failed", extra={"step": what}, exc_info=True)


async def serve(settings: Settings, *, host: str, port: int) -> int:
    stop = _stop_on_signal()
    closers: list[Callable[[], Awaitable[object]]] = []
    if settings.redis_url:
        from arq import create_pool
        from arq.connections import RedisSettings

        from status.redis import RedisStatusStore

        store: StatusStore = RedisStatusStore(str(settings.redis_url))
        redis = await create_pool(RedisSettings.from_dsn(str(settings.redis_url)))
        closers.append(redis.aclose)
        where = str(settings.redis_url)
    else:
        from status.sqlite import SqliteStatusStore

        status_db = (settings.status_db or settings.data_dir / "meetbot.db").resolve()
        settings = settings.model_copy(update={"status_db": status_db})  # the bots report there
        store = SqliteStatusStore(status_db)
        where = str(status_db)
    await reap_leftovers(settings)
    bots = _launcher(settings, store, locals().get("redis"))
    streams = StreamManager(store, settings)
    indexer = Indexer(store, settings, SearchIndex(settings.data_dir / "search.db"))
    deliverer = build_deliverer(settings)
    stream_indexer = StreamIndexer(store, settings, streams, indexer.search, deliverer)
    scheduler = Scheduler(store, bots, settings)
    server = EmbeddedServer(build_app(store, bots, settings, streams, indexer, stream_indexer, scheduler),
                            host=host, port=port, name="api")
    await server.start()
    # Known once the API listens (port 0 picks one); bots and streams put it in their URLs.
    public = bots.public_url = streams.public_url = base_url(settings, host, server.port)
    await bots.start()
    await streams.start()
    await stream_indexer.start()
    tasks = [
        # Callbacks that bots (or launchers) could not deliver within their grace period.
        # A 2 s poll: a receiver back (another process delivered to it) gets its backlog soon.
        asyncio.create_task(deliverer.run_pending(once=False, poll_interval=2.0), name="outbox"),
        asyncio.create_task(_every(settings.reap_interval, lambda: reap_lost(store, settings), "reap"),
                            name="reaper"),
        # Meetings a previous server left started: adopted if their bot still runs, else
        # settled from what they stored (beside the API: joining a long recording takes a while).
        asyncio.create_task(_once(recover_meetings(store, settings), "recover"), name="recover"),
        # Meetings with a join_at: their bots start ahead of it, from whichever server is up.
        asyncio.create_task(scheduler.run(), name="scheduler"),
    ]
    print(f"meetbot serve: listening on {public} (bots: {type(bots).__name__}, "
          f"{settings.max_bots if not settings.redis_url else 'queued'}; store: {where})", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: running bots stop gracefully")
        await server.aclose()
        await stream_indexer.aclose()
        await streams.aclose()
        await indexer.aclose()
        await bots.aclose()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await scheduler.aclose()
        await deliverer.aclose()
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        await store.aclose()
    return 0


def _launcher(settings: Settings, store: StatusStore, redis: object) -> BotLauncher:
    if settings.launcher == "kubernetes":
        from server.launchers.kubernetes import KubernetesLauncher

        return KubernetesLauncher(settings, store)
    if settings.redis_url:
        from server.launchers.queue import QueueLauncher
        from status.redis import RedisStatusStore

        assert isinstance(store, RedisStatusStore)
        return QueueLauncher(redis, store, settings)  # type: ignore[arg-type]
    from server.launchers.embedded import EmbeddedLauncher

    return EmbeddedLauncher(store, settings, slots=settings.max_bots)

