"""The SQLite status store: one file shared by the server and the bot processes it starts.

WAL mode lets readers go on while a bot writes; each update is a read-modify-write inside
``BEGIN IMMEDIATE``, so concurrent writers from different processes never lose a change.
Calls run in a thread (sqlite3 blocks); each opens its own short-lived connection.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from core.lifecycle import Phase
from status.store import MeetingRecord, Result

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    meeting_id TEXT PRIMARY KEY,
    video_id   TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    created_at REAL NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS meetings_status ON meetings (status, created_at);
CREATE TABLE IF NOT EXISTS docs (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    created_at REAL NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS heartbeats (
    meeting_id TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at REAL NOT NULL,
    figures    TEXT
);
"""


class SqliteStatusStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(heartbeats)")}
            if "figures" not in columns:  # a store from before bots reported their figures
                db.execute("ALTER TABLE heartbeats ADD COLUMN figures TEXT")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        return db

    # -- sync core ----------------------------------------------------------------------------
    def _insert(self, r: MeetingRecord) -> None:
        with closing(self._connect()) as db:
            db.execute("INSERT INTO meetings VALUES (?, ?, ?, ?, ?)",
                       (r.meeting_id, r.video_id, r.status.value, r.created_at, r.model_dump_json()))

    def _select(self, column: str, value: str) -> MeetingRecord | None:
        assert column in ("meeting_id", "video_id")
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT record FROM meetings WHERE {column} = ?", (value,)).fetchone()
        return MeetingRecord.model_validate_json(row[0]) if row else None

    def _update(self, meeting_id: str, change: Callable[[MeetingRecord], MeetingRecord]
                ) -> tuple[MeetingRecord, MeetingRecord] | None:
        """Apply ``change`` atomically; (before, after), or None for an unknown meeting."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT record FROM meetings WHERE meeting_id = ?", (meeting_id,)).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return None
                before = MeetingRecord.model_validate_json(row[0])
                after = change(before)
                db.execute("UPDATE meetings SET status = ?, record = ? WHERE meeting_id = ?",
                           (after.status.value, after.model_dump_json(), meeting_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return before, after

    def _active(self) -> list[MeetingRecord]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT record FROM meetings WHERE status IN ('initializing', 'processing')"
                              " ORDER BY created_at").fetchall()
        return [MeetingRecord.model_validate_json(r[0]) for r in rows]

    # -- the StatusStore interface ------------------------------------------------------------
    async def create(self, record: MeetingRecord) -> None:
        await asyncio.to_thread(self._insert, record)

    async def get(self, meeting_id: str) -> MeetingRecord | None:
        return await asyncio.to_thread(self._select, "meeting_id", meeting_id)

    async def get_by_video(self, video_id: str) -> MeetingRecord | None:
        return await asyncio.to_thread(self._select, "video_id", video_id)

    async def record_phase(self, meeting_id: str, phase: Phase, at: float,
                           urls: dict[str, str] | None = None) -> MeetingRecord | None:
        out = await asyncio.to_thread(self._update, meeting_id, lambda r: r.with_phase(phase, at, urls))
        return out[1] if out else None

    async def finish(self, meeting_id: str, result: Result) -> bool:
        out = await asyncio.to_thread(self._update, meeting_id, lambda r: r.with_result(result))
        return out is not None and not out[0].is_terminal

    async def active(self) -> list[MeetingRecord]:
        return await asyncio.to_thread(self._active)

    async def claim_scheduled(self, meeting_id: str, at: float) -> MeetingRecord | None:
        out = await asyncio.to_thread(self._update, meeting_id, lambda r: r.claimed(at))
        return out[1] if out and out[0].phase == Phase.SCHEDULED.value else None

    def _recent(self, limit: int) -> list[MeetingRecord]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT record FROM meetings ORDER BY created_at DESC LIMIT ?",
                              (limit,)).fetchall()
        return [MeetingRecord.model_validate_json(r[0]) for r in rows]

    async def recent(self, limit: int) -> list[MeetingRecord]:
        return await asyncio.to_thread(self._recent, limit)

    # -- liveness of whoever runs a meeting ---------------------------------------------------
    def _beat(self, meeting_id: str, owner: str, ttl: float, figures: dict[str, Any] | None) -> None:
        with closing(self._connect()) as db:
            db.execute("INSERT INTO heartbeats VALUES (?, ?, ?, ?) ON CONFLICT(meeting_id) DO UPDATE"
                       " SET owner = excluded.owner, expires_at = excluded.expires_at,"
                       " figures = excluded.figures",
                       (meeting_id, owner, time.time() + ttl, json.dumps(figures) if figures else None))

    def _live_bots(self) -> dict[str, dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT h.meeting_id, h.figures FROM heartbeats h JOIN meetings m"
                              " USING (meeting_id) WHERE h.expires_at > ? AND h.figures IS NOT NULL"
                              " AND m.status IN ('initializing', 'processing')", (time.time(),)).fetchall()
        return {str(mid): json.loads(f) for mid, f in rows}

    def _heartbeat_of(self, meeting_id: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT owner FROM heartbeats WHERE meeting_id = ? AND expires_at > ?",
                             (meeting_id, time.time())).fetchone()
        return str(row[0]) if row else None

    async def beat(self, meeting_id: str, owner: str, ttl: float,
                   figures: dict[str, Any] | None = None) -> None:
        await asyncio.to_thread(self._beat, meeting_id, owner, ttl, figures)

    async def live_bots(self) -> dict[str, dict[str, Any]]:
        return await asyncio.to_thread(self._live_bots)

    async def heartbeat_of(self, meeting_id: str) -> str | None:
        return await asyncio.to_thread(self._heartbeat_of, meeting_id)

    async def aclose(self) -> None:
        """Nothing held open: each call uses its own connection."""

    # -- documents ----------------------------------------------------------------------------
    def _put_doc(self, kind: str, doc_id: str, body: str, created_at: float) -> None:
        with closing(self._connect()) as db:
            db.execute("INSERT INTO docs VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET"
                       " body = excluded.body", (kind, doc_id, created_at, body))

    def _get_doc(self, kind: str, doc_id: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT body FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
        return str(row[0]) if row else None

    def _update_doc(self, kind: str, doc_id: str, change: Callable[[str], str]) -> tuple[str, str] | None:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT body FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return None
                after = change(row[0])
                db.execute("UPDATE docs SET body = ? WHERE kind = ? AND id = ?", (after, kind, doc_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return str(row[0]), after

    def _list_docs(self, kind: str) -> list[str]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT body FROM docs WHERE kind = ? ORDER BY created_at", (kind,)).fetchall()
        return [str(r[0]) for r in rows]

    async def put_doc(self, kind: str, doc_id: str, body: str, created_at: float) -> None:
        await asyncio.to_thread(self._put_doc, kind, doc_id, body, created_at)

    async def get_doc(self, kind: str, doc_id: str) -> str | None:
        return await asyncio.to_thread(self._get_doc, kind, doc_id)

    async def update_doc(self, kind: str, doc_id: str,
                         change: Callable[[str], str]) -> tuple[str, str] | None:
        return await asyncio.to_thread(self._update_doc, kind, doc_id, change)

    async def list_docs(self, kind: str) -> list[str]:
        return await asyncio.to_thread(self._list_docs, kind)
