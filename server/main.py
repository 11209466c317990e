"""``meetbot serve``: the API, the player pages and the media, with the bots run in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.config import Settings
from bot.embedded_server import EmbeddedServer
from bot.webhooks import build_deliverer
from server.api import Bots, create_app
from server.media import media_router
from server.player import STATIC, player_router
from server.pool import BotPool
from server.sqlite_store import SqliteStatusStore
from server.store import StatusStore

log = logging.getLogger("meetbot.serve")


def build_app(store: StatusStore, bots: Bots, settings: Settings) -> FastAPI:
    app = create_app(store=store, bots=bots, settings=settings)
    app.include_router(media_router(store))
    app.include_router(player_router(store))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def base_url(settings: Settings, host: str, port: int) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


async def _until_signal() -> None:
    """Serve until SIGTERM or SIGINT; the caller's ``finally`` then stops things in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, *, host: str, port: int) -> int:
    if settings.redis_url:
        return await serve_queue(settings, host=host, port=port)
    status_db = (settings.status_db or settings.data_dir / "meetbot.db").resolve()
    store = SqliteStatusStore(status_db)
    pool = BotPool(store, settings, status_db=status_db, base_url="", slots=settings.max_bots)
    server = EmbeddedServer(build_app(store, pool, settings), host=host, port=port, name="api")
    await server.start()
    pool.base_url = base_url(settings, host, server.port)
    await pool.start()
    # Callbacks that bots (or the pool) could not deliver within their grace period: retried here.
    deliverer = build_deliverer(settings)
    outbox = asyncio.create_task(deliverer.run_pending(once=False, poll_interval=5.0), name="outbox")
    print(f"meetbot serve: listening on {pool.base_url} (bots: {settings.max_bots}, "
          f"store: {status_db})", flush=True)
    try:
        await _until_signal()
    finally:
        log.info("shutting down: running bots stop gracefully")
        await server.aclose()
        await pool.aclose()
        outbox.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await outbox
        await deliverer.aclose()
    return 0



async def serve_queue(settings: Settings, *, host: str, port: int) -> int:
    """Queue mode: jobs go to Redis for `meetbot worker` consumers; the status store is Redis too.

    The server also fails meetings whose worker was lost (no heartbeat), like every worker does.
    """
    from arq import create_pool
    from arq.connections import RedisSettings

    from server.queue_worker import QueueBots, reap_lost
    from server.redis_store import RedisStatusStore

    assert settings.redis_url
    store = RedisStatusStore(settings.redis_url)
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    bots: Bots = QueueBots(redis, store, settings)
    if settings.launcher == "kubernetes":
        from server.kube import KubeBots

        bots = KubeBots(settings, store, public_url=base_url(settings, host, port))
    server = EmbeddedServer(build_app(store, bots, settings), host=host, port=port, name="api")
    await server.start()

    async def reaper() -> None:
        while True:
            with contextlib.suppress(Exception):
                await reap_lost(store, settings)
            await asyncio.sleep(settings.reap_interval)

    tasks = [asyncio.create_task(reaper(), name="reaper")]
    print(f"meetbot serve: listening on {base_url(settings, host, server.port)} "
          f"(store: {settings.redis_url}, bots: {type(bots).__name__})", flush=True)
    try:
        await _until_signal()
    finally:
        await server.aclose()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()
        await store.aclose()
    return 0
