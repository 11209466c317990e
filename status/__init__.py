"""The status store: one record per meeting, written by the API, the bots and their launchers, read
by the API and the player. SQLite for one machine, Redis when bots run on others."""

from __future__ import annotations

from core.settings import Settings
from status.store import MeetingRecord, PhaseMark, Result, StatusStore


def open_store(settings: Settings) -> StatusStore | None:
    """The store this process reports to: Redis when consumers share one, else the server's SQLite
    (``status_db``); None for a bot that runs on its own."""
    if settings.redis_url:
        from status.redis import RedisStatusStore

        return RedisStatusStore(str(settings.redis_url))
    if settings.status_db:
        from status.sqlite import SqliteStatusStore

        return SqliteStatusStore(settings.status_db)
    return None


__all__ = ["MeetingRecord", "PhaseMark", "Result", "StatusStore", "open_store"]
