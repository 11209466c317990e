"""Keyword search over transcripts and scene descriptions: SQLite FTS5, ranked by BM25.

One database beside the status store (``<data_dir>/search.db``); every indexed piece of text is
a row: which asset (video or RTStream) and which index it belongs to, its time range and its
text. Several processes may write (the indexer) while the API reads: WAL mode, short
transactions.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pieces (
    id        INTEGER PRIMARY KEY,
    asset_id  TEXT NOT NULL,
    index_id  TEXT NOT NULL,
    kind      TEXT NOT NULL,
    start     REAL NOT NULL,
    end       REAL NOT NULL,
    speaker   TEXT,
    text      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pieces_asset ON pieces (asset_id, index_id, start);
CREATE VIRTUAL TABLE IF NOT EXISTS pieces_fts USING fts5(
    text, content='pieces', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS pieces_ai AFTER INSERT ON pieces BEGIN
    INSERT INTO pieces_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS pieces_ad AFTER DELETE ON pieces BEGIN
    INSERT INTO pieces_fts(pieces_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""

_WORD = re.compile(r"[\w']+", re.UNICODE)


class Piece(BaseModel):
    asset_id: str
    index_id: str
    kind: str
    """``spoken_word`` or ``scene``."""
    start: float
    end: float
    text: str
    speaker: str | None = None


class Hit(Piece):
    score: float
    """Higher is better, in (0, 1]: BM25 mapped onto a bounded scale."""


def _stem(word: str) -> str:
    """Enough stemming to count "phones" as "phone" when scoring (FTS5's porter does the matching)."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def match_query(query: str) -> str | None:
    """A user's words as an FTS5 query: each word quoted (no operators get through), any of them
    may match, a piece with more of them ranks higher. None when the query has no words."""
    words = _WORD.findall(query.lower())
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words)


class SearchIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def _add(self, pieces: list[Piece]) -> None:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO pieces (asset_id, index_id, kind, start, end, speaker, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(p.asset_id, p.index_id, p.kind, p.start, p.end, p.speaker, p.text) for p in pieces])
            db.execute("COMMIT")

    def _replace(self, asset_id: str, index_id: str, pieces: list[Piece]) -> None:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM pieces WHERE asset_id = ? AND index_id = ?", (asset_id, index_id))
            db.executemany(
                "INSERT INTO pieces (asset_id, index_id, kind, start, end, speaker, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(p.asset_id, p.index_id, p.kind, p.start, p.end, p.speaker, p.text) for p in pieces])
            db.execute("COMMIT")

    def _search(self, query: str, asset_ids: list[str] | None, index_ids: list[str] | None,
                kinds: list[str] | None, limit: int) -> list[Hit]:
        match = match_query(query)
        if match is None:
            return []
        where, args = ["pieces_fts MATCH ?"], [match]
        for column, values in (("asset_id", asset_ids), ("index_id", index_ids), ("kind", kinds)):
            if values:
                where.append(f"p.{column} IN ({','.join('?' * len(values))})")
                args += values
        sql = ("SELECT p.asset_id, p.index_id, p.kind, p.start, p.end, p.speaker, p.text,"
               " bm25(pieces_fts) FROM pieces_fts JOIN pieces p ON p.id = pieces_fts.rowid"
               f" WHERE {' AND '.join(where)} ORDER BY bm25(pieces_fts) LIMIT ?")
        with closing(self._connect()) as db:
            rows = db.execute(sql, [*args, limit]).fetchall()
        wanted = {_stem(w) for w in _WORD.findall(query.lower())}
        hits = []
        for r in rows:
            # The share of the query's words the piece holds, nudged by BM25 (negative, lower is
            # better; near zero in a small collection): a score in (0, 1].
            have = {_stem(w) for w in _WORD.findall(str(r[6]).lower())}
            coverage = len(wanted & have) / len(wanted)
            bm25 = -float(r[7])
            score = max(0.01, min(1.0, 0.9 * coverage + 0.1 * bm25 / (1.0 + bm25)))
            hits.append(Hit(asset_id=r[0], index_id=r[1], kind=r[2], start=r[3], end=r[4], speaker=r[5],
                            text=r[6], score=round(score, 4)))
        hits.sort(key=lambda h: -h.score)
        return hits

    def _pieces(self, asset_id: str, index_id: str | None, start: float | None,
                end: float | None) -> list[Piece]:
        where, args = ["asset_id = ?"], [asset_id]
        if index_id:
            where.append("index_id = ?")
            args.append(index_id)
        if start is not None:
            where.append("end > ?")
            args.append(start)
        if end is not None:
            where.append("start < ?")
            args.append(end)
        with closing(self._connect()) as db:
            rows = db.execute("SELECT asset_id, index_id, kind, start, end, speaker, text FROM pieces"
                              f" WHERE {' AND '.join(where)} ORDER BY start", args).fetchall()
        return [Piece(asset_id=r[0], index_id=r[1], kind=r[2], start=r[3], end=r[4], speaker=r[5], text=r[6])
                for r in rows]

    async def add(self, pieces: list[Piece]) -> None:
        if pieces:
            await asyncio.to_thread(self._add, pieces)

    async def replace(self, asset_id: str, index_id: str, pieces: list[Piece]) -> None:
        await asyncio.to_thread(self._replace, asset_id, index_id, pieces)

    async def search(self, query: str, *, asset_ids: list[str] | None = None,
                     index_ids: list[str] | None = None, kinds: list[str] | None = None,
                     limit: int = 50) -> list[Hit]:
        return await asyncio.to_thread(self._search, query, asset_ids, index_ids, kinds, limit)

    async def pieces(self, asset_id: str, *, index_id: str | None = None, start: float | None = None,
                     end: float | None = None) -> list[Piece]:
        return await asyncio.to_thread(self._pieces, asset_id, index_id, start, end)
