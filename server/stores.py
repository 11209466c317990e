"""Which status store a process uses: Redis when consumers share one, else the server's SQLite."""

from __future__ import annotations

from bot.config import Settings
from server.store import StatusStore


def bot_store(settings: Settings) -> StatusStore | None:
    """The store a bot process reports to, if it was started by `meetbot serve` or `meetbot worker`."""
    if settings.redis_url:
        from server.redis_store import RedisStatusStore

        return RedisStatusStore(settings.redis_url)
    if settings.status_db:
        from server.sqlite_store import SqliteStatusStore

        return SqliteStatusStore(settings.status_db)
    return None
