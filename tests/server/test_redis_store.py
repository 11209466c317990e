"""The Redis status store against a real redis-server: the same contract as the SQLite one."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from core.lifecycle import Phase, Status
from status.redis import RedisStatusStore
from status.store import MeetingRecord, Result

pytestmark = pytest.mark.unit


def record() -> MeetingRecord:
    return MeetingRecord(meeting_id=f"mt-{secrets.token_hex(4)}", video_id=f"m-{secrets.token_hex(4)}",
                         meeting_url="https://meet.google.com/abc-defg-hij", bot_name="Bot",
                         output_dir="/tmp/x")


async def test_phases_move_the_status_and_a_result_ends_it_once(redis_url: str) -> None:
    store = RedisStatusStore(redis_url)
    r0 = record()
    await store.create(r0)
    mid = r0.meeting_id
    await store.record_phase(mid, Phase.STARTING, 1.0)
    await store.record_phase(mid, Phase.IN_CALL_RECORDING, 2.0, {"stream_url": "http://x/s.m3u8"})
    r = await store.get_by_video(r0.video_id)
    assert r is not None and r.status is Status.PROCESSING and r.stream_url == "http://x/s.m3u8"
    assert [a.meeting_id for a in await store.active()].count(mid) == 1
    tl = [{"speaker_name": "A", "start_time_seconds": 1.0, "end_time_seconds": 2.0}]
    assert await store.finish(mid, Result(status=Status.DONE, reason="stopped", speaker_timeline=tl))
    assert not await store.finish(mid, Result(status=Status.FAILED, reason="worker_lost"))
    await store.record_phase(mid, Phase.LEAVING, 3.0)  # too late: ignored
    r = await store.get(mid)
    assert r is not None and (r.status, r.reason, r.phase) == (Status.DONE, "stopped", "done")
    assert mid not in [a.meeting_id for a in await store.active()]
    assert await store.get("nope") is None and await store.record_phase("nope", Phase.STARTING, 1) is None
    await store.aclose()


async def test_concurrent_writers_from_two_clients_lose_nothing(redis_url: str) -> None:
    a, b = RedisStatusStore(redis_url), RedisStatusStore(redis_url)
    r0 = record()
    await a.create(r0)
    phases = [Phase.STARTING, Phase.JOINING, Phase.IN_WAITING_ROOM, Phase.IN_CALL_RECORDING] * 5
    await asyncio.gather(*(s.record_phase(r0.meeting_id, p, i) for i, p in enumerate(phases)
                           for s in (a, b)))
    r = await a.get(r0.meeting_id)
    assert r is not None and len(r.phases) == 2 * len(phases)
    await a.aclose()
    await b.aclose()


async def test_heartbeats_expire(redis_url: str) -> None:
    store = RedisStatusStore(redis_url)
    await store.beat("mt-x", "worker-1", ttl=0.3)
    assert await store.heartbeat_of("mt-x") == "worker-1"
    await asyncio.sleep(0.5)
    assert await store.heartbeat_of("mt-x") is None
    await store.aclose()
