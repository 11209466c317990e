"""Deliveries against a real receiver on a socket: retries, final outcomes, the outbox, a new process.

Every case checks the wire: one webhook-id on every attempt, every signature accepted by the
reference library, and exactly one logical event for a receiver that dedupes on the id.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import pytest

from callbacks.delivery import DeliveryReport, RetryPolicy, parse_retry_after
from callbacks.guard import UrlPolicy
from callbacks.outbox import DeadReason, Delivery, Outbox, State
from callbacks.receiver import CallbackReceiver, Reply
from core.aio import bounded
from tests.callbacks.support import ROOT, assert_wire, cli, cli_env, free_port, make_deliverer

pytestmark = pytest.mark.unit

BODY = {"success": True, "message": "Meeting recording completed.", "meeting_id": "m-1",
        "data": {"video_id": "v-1", "speaker_timeline": []}}


async def _send(secret: str, outbox: Outbox, url: str, **kw: Any) -> DeliveryReport:
    async with make_deliverer(secret, outbox, **kw) as dl:
        return await dl.send(url, BODY, event="callback", meeting_id="m-1", give_up_at=None)


async def test_fails_three_times_then_delivered(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(replies=[Reply(500), Reply(502), Reply(503)]) as rx:
        report = await _send(secret, outbox, rx.url)
    assert report.delivered and report.state is State.DELIVERED
    assert [a.status_code for a in report.attempts] == [500, 502, 503, 200]
    assert_wire(rx, report, secret, requests=4, events=1)
    assert rx.events()[0].json() == BODY
    assert outbox.entries(State.PENDING) == []
    assert [d.id for d in outbox.entries(State.DELIVERED)] == [report.id]


async def test_slow_then_fast(secret: str, outbox: Outbox) -> None:
    # The first answer comes after our timeout: the receiver did act on it, we could not know.
    async with CallbackReceiver(replies=[Reply(200, delay=1.0)]) as rx:
        report = await _send(secret, outbox, rx.url, timeout=0.3)
    assert report.delivered
    assert report.attempts[0].status_code is None and "timed out" in (report.attempts[0].error or "")
    assert 250 <= report.attempts[0].latency_ms < 900
    assert report.attempts[1].status_code == 200
    assert_wire(rx, report, secret, requests=2, events=1)  # two 200s, one logical event


async def test_410_stops_for_good(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(default=Reply(410)) as rx:
        report = await _send(secret, outbox, rx.url)
    assert not report.delivered and report.state is State.DEAD and report.reason is DeadReason.GONE
    assert len(report.attempts) == 1
    assert_wire(rx, report, secret, requests=1, events=0)
    [dead] = outbox.entries(State.DEAD)
    assert dead.id == report.id and dead.reason is DeadReason.GONE


async def test_500_then_200_honours_retry_after(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(replies=[Reply(503, headers={"retry-after": "1"})]) as rx:
        report = await _send(secret, outbox, rx.url)
    assert report.delivered and [a.status_code for a in report.attempts] == [503, 200]
    gap = rx.received[1].at - rx.received[0].at
    assert 1.0 <= gap < 1.6, gap  # FAST's own backoff would have been 0.05 s at most
    assert_wire(rx, report, secret, requests=2, events=1)
    # Each attempt carries its own timestamp, so a retry much later still verifies.
    stamps = [int(r.headers["webhook-timestamp"]) for r in rx.received]
    assert stamps[1] > stamps[0]


async def test_receiver_down_then_up_on_the_same_port(secret: str, outbox: Outbox) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/callback"
    async with make_deliverer(secret, outbox) as dl:
        sending = asyncio.create_task(
            dl.send(url, BODY, event="callback", meeting_id="m-1", give_up_at=None))
        await asyncio.sleep(0.6)
        assert not sending.done()
        async with CallbackReceiver(port=port) as rx:
            report = await bounded(sending, 5)
    assert report.delivered
    refused = [a for a in report.attempts if a.status_code is None]
    assert len(refused) >= 2 and all("ConnectError" in (a.error or "") for a in refused)
    assert report.attempts[-1].status_code == 200
    assert_wire(rx, report, secret, requests=1, events=1)


async def test_400_is_dead_then_redeliver_uses_the_same_id(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(replies=[Reply(400)]) as rx:
        report = await _send(secret, outbox, rx.url)
        assert report.state is State.DEAD and report.reason is DeadReason.REJECTED
        assert report.detail == "HTTP 400" and len(report.attempts) == 1
        assert [d.id for d in outbox.entries(State.DEAD)] == [report.id]
        listing = await cli("list", "--outbox", str(outbox.root), secret=secret)
        assert report.id in listing and "dead" in listing and "rejected: HTTP 400" in listing

        # The receiver is fixed; an operator redelivers from the command line.
        out = await cli("redeliver", report.id, "--outbox", str(outbox.root), "--window", "60",
                         secret=secret)
        assert report.id in out and "delivered" in out
    assert [r.status for r in rx.received] == [400, 200]
    assert_wire(rx, report, secret, requests=2, events=1)
    stored = outbox.get(report.id)
    assert stored is not None and stored.state is State.DELIVERED
    assert [a.status_code for a in stored.attempts] == [400, 200]


async def test_window_expiry_is_dead(secret: str, outbox: Outbox) -> None:
    retry = RetryPolicy(base_delay=0.1, max_delay=0.2, window=0.7, jitter=0)
    async with CallbackReceiver(default=Reply(503)) as rx:
        report = await _send(secret, outbox, rx.url, retry=retry)
    assert report.state is State.DEAD and report.reason is DeadReason.WINDOW_EXPIRED
    assert "HTTP 503" in (report.detail or "")
    assert 3 <= len(report.attempts) <= 6  # t = 0, 0.1, 0.3, 0.5; the next (0.7) is past the window
    assert report.attempts[-1].at - report.attempts[0].at < 0.7
    assert_wire(rx, report, secret, requests=len(report.attempts), events=0)


async def test_retry_after_beyond_the_window_ends_it_now(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(default=Reply(429, headers={"retry-after": "3600"})) as rx:
        started = time.monotonic()
        report = await _send(secret, outbox, rx.url)
    assert time.monotonic() - started < 1
    assert report.reason is DeadReason.WINDOW_EXPIRED and len(report.attempts) == 1
    assert_wire(rx, report, secret, requests=1, events=0)


async def test_unsafe_url_is_dead_and_never_called(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver() as rx:
        report = await _send(secret, outbox, rx.url, policy=UrlPolicy())
    assert report.reason is DeadReason.UNSAFE_URL and "loopback" in (report.detail or "")
    assert rx.received == []


async def test_a_retry_hours_later_still_verifies(secret: str, outbox: Outbox) -> None:
    three_hours_ago = time.time() - 3 * 3600
    d = Delivery.new(url="", body=BODY, event="callback", meeting_id="m-1", window=24 * 3600,
                     now=three_hours_ago)
    async with CallbackReceiver() as rx:
        d.url = rx.url
        outbox.save(d)
        async with make_deliverer(secret, outbox) as dl:
            report = await dl.deliver(d, give_up_at=None)
    assert report.delivered
    assert_wire(rx, report, secret, requests=1, events=1)


async def test_grace_period_leaves_it_pending_and_a_new_process_delivers(secret: str, outbox: Outbox) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/callback"
    async with make_deliverer(secret, outbox) as dl:
        started = time.monotonic()
        report = await dl.send(url, BODY, event="callback", meeting_id="m-1",
                               give_up_at=time.time() + 0.5)
    assert time.monotonic() - started < 0.8  # the worker did not wait on the receiver
    assert report.state is State.PENDING and not report.delivered and len(report.attempts) >= 1
    [pending] = outbox.entries(State.PENDING)
    assert pending.id == report.id and len(pending.attempts) == len(report.attempts)
    await asyncio.sleep(max(0.0, pending.next_attempt_at - time.time()))

    async with CallbackReceiver(port=port) as rx:
        out = await cli("deliver", "--outbox", str(outbox.root), secret=secret)
    assert report.id in out and "delivered" in out
    assert_wire(rx, report, secret, requests=1, events=1)
    assert outbox.entries(State.PENDING) == []


async def test_a_killed_deliverer_leaves_it_pending(secret: str, outbox: Outbox) -> None:
    """SIGKILL mid-request: nothing is recorded for that attempt, the delivery is still on disk."""
    async with CallbackReceiver(replies=[Reply(200, delay=30)]) as rx:
        async with make_deliverer(secret, outbox) as dl:
            d = await dl.enqueue(rx.url, BODY, meeting_id="m-1")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.callbacks", "deliver", "--watch", "--poll", "0.05",
            "--outbox", str(outbox.root), cwd=ROOT, env=cli_env(secret))
        await rx.wait_for(1, timeout=10)
        proc.kill()
        await proc.wait()
        [pending] = outbox.entries(State.PENDING)
        assert pending.id == d.id and pending.attempts == []
        out = await cli("deliver", "--outbox", str(outbox.root), secret=secret)
        assert d.id in out and "delivered" in out
        assert [r.webhook_id for r in rx.received] == [d.id, d.id]


async def test_status_events_are_not_persisted(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(replies=[Reply(500)]) as rx, make_deliverer(secret, outbox) as dl:
        report = await dl.send(rx.url, {"event": "status_change"}, event="status_change",
                               meeting_id="m-1", give_up_at=time.time() + 2, durable=False)
    assert report.delivered and len(report.attempts) == 2
    assert_wire(rx, report, secret, requests=2, events=1)
    assert not any(outbox.entries(s) for s in State)


async def test_two_deliverers_never_send_one_delivery_twice(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(default=Reply(200, delay=0.3)) as rx:
        async with make_deliverer(secret, outbox) as a, make_deliverer(secret, outbox) as b:
            d = await a.enqueue(rx.url, BODY, meeting_id="m-1")
            first, second = await asyncio.gather(a.deliver(d, give_up_at=None),
                                                 b.deliver(d, give_up_at=None))
    assert sorted([first.delivered, second.delivered]) == [False, True]
    assert "another process" in ((second if first.delivered else first).detail or "")
    assert len(rx.received) == 1


async def test_run_pending_once_sends_only_what_is_due(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver() as rx, make_deliverer(secret, outbox) as dl:
        due = await dl.enqueue(rx.url, BODY, meeting_id="m-1")
        later = await dl.enqueue(rx.url, BODY, meeting_id="m-2")
        later.next_attempt_at = time.time() + 60
        outbox.save(later)
        reports = await dl.run_pending(outbox)
    assert [r.id for r in reports] == [due.id] and reports[0].delivered
    assert [d.id for d in outbox.entries(State.PENDING)] == [later.id]


async def test_watch_delivers_what_shows_up(secret: str, outbox: Outbox) -> None:
    async with CallbackReceiver(replies=[Reply(500)]) as rx, make_deliverer(secret, outbox) as dl:
        watcher = asyncio.create_task(dl.run_pending(once=False, poll_interval=0.05))
        d = await dl.enqueue(rx.url, BODY, meeting_id="m-1")
        await rx.wait_for(2, timeout=5)
        for _ in range(50):
            if outbox.entries(State.DELIVERED):
                break
            await asyncio.sleep(0.02)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert [x.id for x in outbox.entries(State.DELIVERED)] == [d.id]


@pytest.mark.parametrize(("value", "expected"), [
    ("5", 5.0), (" 0 ", 0.0), ("", None), (None, None), ("soon", None), ("-3", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),  # now = 07:27:30
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: no wait
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = 1445412450.0  # Wed, 21 Oct 2015 07:27:30 GMT
    assert parse_retry_after(value, now) == expected


def test_backoff_grows_caps_and_jitters() -> None:
    import random

    policy = RetryPolicy(base_delay=1, max_delay=8, window=100, jitter=0)
    assert [policy.backoff(n, random.Random(0)) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    jittery = RetryPolicy(base_delay=1, max_delay=8, window=100, jitter=0.5)
    delays = {jittery.backoff(3, random.Random(seed)) for seed in range(20)}
    assert len(delays) > 10 and all(2 <= x <= 4 for x in delays)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"base_delay": 0}, "base_delay"), ({"base_delay": 10, "max_delay": 5}, "max_delay"),
    ({"window": 0}, "window"), ({"jitter": 1.5}, "jitter"),
])
def test_retry_policy_validates_itself(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)
