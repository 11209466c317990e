"""The Redis status store: shared by the API and the `meetbot worker` consumers on other machines.

Each meeting is one JSON value; updates are read-modify-write under WATCH, retried when another
writer got there first, so concurrent writers (a bot, its worker, the API's reaper) never lose a
change. Heartbeats are keys with a TTL: a bot that dies stops renewing them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.lifecycle import Phase, Status
from status.store import MeetingRecord, Result

_PREFIX = "meetbot"
_ACTIVE = f"{_PREFIX}:active"
_RECENT = f"{_PREFIX}:recent"
RECENT_KEPT = 500
"""Meetings ``recent`` can list (a scheduler's measure of past start-ups)."""


def _meeting(meeting_id: str) -> str:
    return f"{_PREFIX}:meeting:{meeting_id}"


def _video(video_id: str) -> str:
    return f"{_PREFIX}:video:{video_id}"


def _doc(kind: str, doc_id: str) -> str:
    # A namespace of their own: a "video" doc must not meet the meetings' video-id index.
    return f"{_PREFIX}:doc:{kind}:{doc_id}"


def _docs(kind: str) -> str:
    return f"{_PREFIX}:docs:{kind}"


def _heartbeat(meeting_id: str) -> str:
    return f"{_PREFIX}:heartbeat:{meeting_id}"


_FIGURES = f"{_PREFIX}:botfigures:"


def _figures(meeting_id: str) -> str:
    return f"{_FIGURES}{meeting_id}"


class RedisStatusStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.redis: Redis = Redis.from_url(url, decode_responses=True)

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def create(self, record: MeetingRecord) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_meeting(record.meeting_id), record.model_dump_json())
            pipe.set(_video(record.video_id), record.meeting_id)
            pipe.zadd(_ACTIVE, {record.meeting_id: record.created_at})
            pipe.zadd(_RECENT, {record.meeting_id: record.created_at})
            pipe.zremrangebyrank(_RECENT, 0, -RECENT_KEPT - 1)
            await pipe.execute()

    async def get(self, meeting_id: str) -> MeetingRecord | None:
        raw = await self.redis.get(_meeting(meeting_id))
        return MeetingRecord.model_validate_json(raw) if raw else None

    async def get_by_video(self, video_id: str) -> MeetingRecord | None:
        meeting_id = await self.redis.get(_video(video_id))
        return await self.get(meeting_id) if meeting_id else None

    async def _update(self, meeting_id: str, change: Callable[[MeetingRecord], MeetingRecord]
                      ) -> tuple[MeetingRecord, MeetingRecord] | None:
        key = _meeting(meeting_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        await pipe.reset()
                        return None
                    before = MeetingRecord.model_validate_json(raw)
                    after = change(before)
                    pipe.multi()
                    pipe.set(key, after.model_dump_json())
                    if after.status in (Status.DONE, Status.FAILED):
                        pipe.zrem(_ACTIVE, meeting_id)
                        pipe.delete(_heartbeat(meeting_id), _figures(meeting_id))
                    await pipe.execute()
                    return before, after
                except WatchError:
                    continue  # someone else wrote in between: read again

    async def record_phase(self, meeting_id: str, phase: Phase, at: float,
                           urls: dict[str, str] | None = None) -> MeetingRecord | None:
        out = await self._update(meeting_id, lambda r: r.with_phase(phase, at, urls))
        return out[1] if out else None

    async def finish(self, meeting_id: str, result: Result) -> bool:
        out = await self._update(meeting_id, lambda r: r.with_result(result))
        return out is not None and not out[0].is_terminal

    async def active(self) -> list[MeetingRecord]:
        ids = await self.redis.zrange(_ACTIVE, 0, -1)
        records = [await self.get(i) for i in ids]
        return [r for r in records if r is not None and not r.is_terminal]

    async def claim_scheduled(self, meeting_id: str, at: float) -> MeetingRecord | None:
        out = await self._update(meeting_id, lambda r: r.claimed(at))
        return out[1] if out and out[0].phase == Phase.SCHEDULED.value else None

    async def recent(self, limit: int) -> list[MeetingRecord]:
        ids = await self.redis.zrevrange(_RECENT, 0, limit - 1)
        records = [await self.get(i) for i in ids]
        return [r for r in records if r is not None]

    # -- liveness of whoever runs a meeting ---------------------------------------------------
    async def beat(self, meeting_id: str, owner: str, ttl: float,
                   figures: dict[str, Any] | None = None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_heartbeat(meeting_id), owner, px=int(ttl * 1000))
            if figures:
                pipe.set(_figures(meeting_id), json.dumps(figures), px=int(ttl * 1000))
            await pipe.execute()

    async def live_bots(self) -> dict[str, dict[str, Any]]:
        keys = [k async for k in self.redis.scan_iter(match=f"{_FIGURES}*", count=500)]
        values = await self.redis.mget(keys) if keys else []
        return {k.removeprefix(_FIGURES): json.loads(v) for k, v in zip(keys, values, strict=True) if v}

    async def heartbeat_of(self, meeting_id: str) -> str | None:
        value: str | None = await self.redis.get(_heartbeat(meeting_id))
        return value

    # -- documents ----------------------------------------------------------------------------
    async def put_doc(self, kind: str, doc_id: str, body: str, created_at: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_doc(kind, doc_id), body)
            pipe.zadd(_docs(kind), {doc_id: created_at})
            await pipe.execute()

    async def get_doc(self, kind: str, doc_id: str) -> str | None:
        value: str | None = await self.redis.get(_doc(kind, doc_id))
        return value

    async def update_doc(self, kind: str, doc_id: str,
                         change: Callable[[str], str]) -> tuple[str, str] | None:
        key = _doc(kind, doc_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    before = await pipe.get(key)
                    if before is None:
                        await pipe.reset()
                        return None
                    after = change(before)
                    pipe.multi()
                    pipe.set(key, after)
                    await pipe.execute()
                    return before, after
                except WatchError:
                    continue

    async def list_docs(self, kind: str) -> list[str]:
        ids = await self.redis.zrange(_docs(kind), 0, -1)
        bodies = [await self.redis.get(_doc(kind, i)) for i in ids]
        return [b for b in bodies if b is not None]
