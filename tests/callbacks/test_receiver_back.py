"""A receiver that answers again gets its whole backlog at once, oldest first, exactly once.

The backlog is real: events whose one attempt hit a closed port and whose next backoff is a
minute away. What ends the wait is observed on the receiver's socket: a probe of the oldest event,
another process's delivery to the same receiver (through the outbox on disk only), or a
``meetbot callbacks deliver`` pass.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from callbacks.delivery import Deliverer, RetryPolicy
from callbacks.outbox import Delivery, Outbox, State
from callbacks.receiver import CallbackReceiver
from tests.callbacks.support import cli, free_port, make_deliverer

pytestmark = pytest.mark.unit

SLOW = RetryPolicy(base_delay=60.0, max_delay=120.0, window=600.0, jitter=0.0)
"""A backoff far beyond every wait of these tests: only the receiver coming back can end it."""


async def backlog(dl: Deliverer, url: str, n: int) -> list[Delivery]:
    out = []
    for i in range(n):
        d = await dl.enqueue(url, {"seq": i}, meeting_id=f"m-{i}")
        report = await dl.deliver(d, give_up_at=time.time() + 0.5)
        assert report.state is State.PENDING and len(report.attempts) == 1, report
        assert report.next_attempt_at and report.next_attempt_at > time.time() + 50
        out.append(d)
    return out


async def stop(task: asyncio.Task[object]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_probe_finds_the_receiver_back_and_the_backlog_follows_oldest_first(
        secret: str, outbox: Outbox) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/callback"
    async with make_deliverer(secret, outbox, retry=SLOW, probe_interval=0.5) as dl:
        events = await backlog(dl, url, 3)
        watcher = asyncio.create_task(dl.run_pending(once=False, poll_interval=0.1))
        await asyncio.sleep(1.6)  # still down: only the oldest is tried, every 0.5 s
        tried = {d.id: len(d.attempts) for d in outbox.entries(State.PENDING)}
        async with CallbackReceiver(port=port) as rx:
            up = time.time()
            await rx.wait_for(3, timeout=5)
            await asyncio.sleep(0.5)  # anything sent twice would arrive by now
        await stop(watcher)
    assert 3 <= tried[events[0].id] <= 5, tried  # 1 + a probe per 0.5 s, not a hammering
    assert [tried[d.id] for d in events[1:]] == [1, 1], tried
    assert [r.json()["seq"] for r in rx.received] == [0, 1, 2]
    assert [r.webhook_id for r in rx.received] == [d.id for d in events]
    took = rx.received[-1].at - up
    print(f"receiver up -> backlog of 3 delivered: {took:.2f} s")
    assert took < 0.5 + 0.1 + 0.5, took
    assert outbox.entries(State.PENDING) == []


async def test_another_process_delivering_to_it_sends_the_backlog_now(secret: str, outbox: Outbox) -> None:
    """The serving process keeps the backlog; a bot (its own Deliverer, sharing only the outbox
    directory) delivers a new callback to the same receiver: the backlog goes within a poll."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/callback"
    async with make_deliverer(secret, outbox, retry=SLOW, probe_interval=None) as server:
        events = await backlog(server, url, 2)
        watcher = asyncio.create_task(server.run_pending(once=False, poll_interval=0.2))
        async with CallbackReceiver(port=port) as rx:
            await asyncio.sleep(1.0)
            assert rx.received == [], "without a probe or a success, the backoff holds"
            async with make_deliverer(secret, Outbox(outbox.root), probe_interval=None) as bot:
                report = await bot.send(f"http://127.0.0.1:{port}/other", {"seq": "new"},
                                        event="callback", meeting_id="m-new", give_up_at=None)
            assert report.delivered
            await rx.wait_for(3, timeout=3)
            await asyncio.sleep(0.4)
        await stop(watcher)
    assert [r.json()["seq"] for r in rx.received] == ["new", 0, 1]
    assert [r.webhook_id for r in rx.received[1:]] == [d.id for d in events]
    took = rx.received[-1].at - rx.received[0].at
    print(f"another process's delivery -> backlog of 2 delivered: {took:.2f} s")
    assert took < 0.2 + 0.5, took
    assert outbox.entries(State.PENDING) == []


async def test_a_deliver_pass_sends_a_receivers_backlog_before_its_backoff(
        secret: str, outbox: Outbox) -> None:
    """``meetbot callbacks deliver``: nothing is due, the receiver is up again: one pass tries the
    oldest event and, as it is taken, the rest, oldest first. A receiver still down is tried once."""
    port, down = free_port(), free_port()
    async with make_deliverer(secret, outbox, retry=SLOW) as dl:
        events = await backlog(dl, f"http://127.0.0.1:{port}/callback", 3)
        [stuck] = await backlog(dl, f"http://127.0.0.1:{down}/callback", 1)
    async with CallbackReceiver(port=port) as rx:
        out = await cli("deliver", "--outbox", str(outbox.root), secret=secret, env={
            "MEETBOT_CALLBACK_RETRY_BASE_DELAY": "60", "MEETBOT_CALLBACK_RETRY_MAX_DELAY": "120"})
    assert [r.webhook_id for r in rx.received] == [d.id for d in events], out
    assert all(d.id in out for d in events)
    [left] = outbox.entries(State.PENDING)
    assert left.id == stuck.id and len(left.attempts) == 2 and left.failures == 2
