"""``join_at``: parsing, the horizon, a scheduled meeting's API states, the claim that starts its
bot once, and the start-up lead measured from past meetings."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from callbacks.receiver import CallbackReceiver
from core.errors import JobError
from core.job import Job
from core.lifecycle import Phase
from server.scheduler import JOIN_FLOW_DEFAULT_S, JOIN_FLOW_MARGIN_S, MARGIN_S, Scheduler, measure_leads
from status.redis import RedisStatusStore
from status.sqlite import SqliteStatusStore
from status.store import MeetingRecord, PhaseMark
from tests.server.support import KEY, FakeBots, running_server, settings_for

pytestmark = pytest.mark.unit

MEET = "https://meet.google.com/abc-defg-hij"


def test_join_at_is_unix_seconds_or_iso_8601_with_a_zone() -> None:
    at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC).timestamp()
    for given in (at, int(at), str(at), "2026-12-07T09:30:00Z", "2026-12-07T10:30:00+01:00"):
        assert Job.parse({"meeting_url": MEET, "join_at": given}).join_at == at, given
    assert Job.parse({"meeting_url": MEET, "join_at": None}).join_at is None
    for bad, says in (("2026-12-07T09:30:00", "no zone"), ("tomorrow", "neither"), (True, "Unix")):
        with pytest.raises(JobError, match=says):
            Job.parse({"meeting_url": MEET, "join_at": bad})


def past(mid: str, marks: dict[str, float], *, url: str = MEET, join_at: float | None = None,
         created: float = 1000.0) -> MeetingRecord:
    return MeetingRecord(meeting_id=mid, video_id=f"v{mid}", meeting_url=url, bot_name="B",
                         output_dir="/x", created_at=created, join_at=join_at,
                         phases=[PhaseMark(phase=p, at=created + t) for p, t in marks.items()])


def test_the_start_up_lead_is_the_p90_of_past_start_ups_plus_a_margin() -> None:
    ok = [past(f"m{i}", {"starting": 1.0, "joining": 5.0 + i, "in_call_recording": 7.0 + i})
          for i in range(10)]  # ready 5..14 s after launch; asked 2 s after ready
    slot_wait = past("w", {"starting": 40.0, "joining": 45.0})  # waited for a slot: not a start-up
    held = past("h", {"created": 0.0, "starting": 1.0, "joining": 6.0, "in_call_recording": 30.0},
                join_at=1030.0)  # its join flow includes a hold: not a join flow
    lobby = past("l", {"starting": 1.0, "joining": 6.0, "in_waiting_room": 7.5, "in_call_recording": 60.0})
    zoom = past("z", {"starting": 1.0, "joining": 6.0, "in_call_recording": 10.0},
                url="https://zoom.us/j/1234567890")
    leads = measure_leads([*ok, slot_wait, held, lobby, zoom], fallback_s=30.0)
    assert leads.samples == 13
    # 5, 6 (x4), 7..14 s: the 90th percentile sits between the two slowest but one.
    assert 12.0 + MARGIN_S <= leads.startup_s <= 14.0 + MARGIN_S, leads
    # Meet's median: ten 2 s flows and the lobby's 1.5 s (to its waiting room).
    assert leads.join_flow_s == {"google_meet": 2.0, "zoom": 4.0}, leads
    assert leads.join_flow(MEET) == 2.0 + JOIN_FLOW_MARGIN_S
    assert leads.join_flow("https://teams.microsoft.com/l/meetup-join/x") == JOIN_FLOW_DEFAULT_S  # unmeasured
    assert measure_leads(ok[:2], fallback_s=30.0).startup_s == 30.0  # too few: the fallback


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_of_many_claimers_one_starts_a_scheduled_meeting(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store: Any = SqliteStatusStore(tmp_path / "s.db") if kind == "sqlite" else \
        RedisStatusStore(request.getfixturevalue("redis_url"))
    mid = f"mt-claim-{kind}-{time.time_ns()}"
    await store.create(MeetingRecord(meeting_id=mid, video_id=f"v-{mid}", meeting_url=MEET, bot_name="B",
                                     output_dir="/x", phase=Phase.SCHEDULED.value, join_at=time.time()))
    try:
        won = await asyncio.gather(*(store.claim_scheduled(mid, time.time()) for _ in range(8)))
        assert sum(r is not None for r in won) == 1, won
        [r] = [r for r in won if r is not None]
        assert r.phase == "created" and [m.phase for m in r.phases] == ["created"]
        assert await store.claim_scheduled(mid, time.time()) is None
        assert mid in [x.meeting_id for x in await store.recent(5)]
    finally:
        await store.aclose()


async def test_the_api_schedules_refuses_past_the_horizon_and_calls_off(tmp_path: Path) -> None:
    async with running_server(tmp_path) as (url, store, bots), httpx.AsyncClient() as http, \
            CallbackReceiver() as rx:
        headers = {"x-access-token": KEY}
        record = f"{url}/collection/default/meeting/record"
        far = datetime.fromtimestamp(time.time() + 31 * 86400, UTC).isoformat()
        r = await http.post(record, headers=headers, json={"meeting_url": MEET, "join_at": far})
        assert r.status_code == 400 and "30 days" in r.json()["message"], r.text
        r = await http.post(record, headers=headers, json={"meeting_url": MEET, "join_at": "noon"})
        assert r.status_code == 400 and "join_at" in r.text, r.text

        at = time.time() + 3600
        r = await http.post(record, headers=headers, json={"meeting_url": MEET, "join_at": at,
                                                           "callback_url": rx.url, "callback_data": {"n": 7}})
        data = r.json()["data"]
        assert (data["status"], data["phase"], data["join_at"]) == ("initializing", "scheduled", at)
        assert bots.jobs == [], "no bot before its time"
        now = (await http.post(record, headers=headers, json={"meeting_url": MEET,
                                                               "join_at": time.time() - 60})).json()["data"]
        assert now["phase"] == "created" and [j.meeting_id for j in bots.jobs] == [now["meeting_id"]]

        scheduler = Scheduler(store, bots, settings_for(tmp_path))
        assert await scheduler.tick() == [], "an hour ahead is not due"
        r = await http.delete(f"{url}/collection/default/meeting/{data['meeting_id']}", headers=headers)
        assert r.status_code == 200 and r.json()["data"]["status"] == "failed", r.text
        assert r.json()["data"]["reason"] == "stopped" and "join_at" in r.json()["data"]["error"], r.text
        assert bots.left == [], "no bot to stop"
        [cb] = [c.json() for c in await rx.wait_for(1, timeout=10)]
        assert cb["success"] is False and cb["reason"] == "stopped" and cb["callback_data"] == {"n": 7}, cb
        assert cb["meeting_id"] == data["meeting_id"]
        r = await http.delete(f"{url}/collection/default/meeting/{data['meeting_id']}", headers=headers)
        assert r.status_code == 409, r.text


async def test_two_servers_schedulers_start_a_due_meeting_once(tmp_path: Path) -> None:
    """Two servers on one store, both passing as the meeting falls due: one bot is started, with
    the job as it was submitted, on the unmeasured lead (a fresh store)."""
    async with running_server(tmp_path) as (url, store, bots), httpx.AsyncClient() as http:
        r = await http.post(f"{url}/collection/default/meeting/record", headers={"x-access-token": KEY},
                            json={"meeting_url": MEET, "join_at": time.time() + 10, "audio_only": True})
        mid = r.json()["data"]["meeting_id"]
        other = FakeBots()
        settings = settings_for(tmp_path, join_startup_s=5.0)
        a, b = Scheduler(store, bots, settings), Scheduler(store, other, settings)
        assert await a.tick() == [] and await b.tick() == [], "10 s ahead, 5 s of start-up: not yet"
        for _ in range(60):
            started = await asyncio.gather(a.tick(), b.tick())
            if any(started):
                break
            await asyncio.sleep(0.1)
        assert sorted(started, key=len) == [[], [mid]], started
        [job] = bots.jobs + other.jobs
        assert job.meeting_id == mid and job.audio_only and job.join_lead == JOIN_FLOW_DEFAULT_S
        assert 4.0 < job.join_at - time.time() < 5.5, job.join_at - time.time()
        assert (await store.get(mid)).phase == "created"  # type: ignore[union-attr]
