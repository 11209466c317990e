"""Where a stuck task waits is said down to the innermost coroutine, not its outermost frame."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import pytest

from core.aio import awaiting, bounded

pytestmark = pytest.mark.unit


async def _innermost(never: asyncio.Event) -> None:
    await never.wait()


async def _middle(never: asyncio.Event) -> None:
    await _innermost(never)


async def test_awaiting_names_every_coroutine_down_to_the_innermost() -> None:
    never = asyncio.Event()
    task = asyncio.create_task(_middle(never))
    await asyncio.sleep(0.01)
    chain = awaiting(task)
    task.cancel()
    names = [link.rsplit(" ", 1)[-1] for link in chain]
    assert names[:3] == ["_middle", "_innermost", "wait"], chain
    assert chain[-1].startswith("<Future"), chain  # what the innermost coroutine waits on
    assert chain[0].startswith("unit/test_aio.py:"), chain


async def _race(wait: Any) -> asyncio.Task[str]:
    """A task awaiting ``wait(future, 5)`` is cancelled in the same step as the future finishes."""
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def body() -> str:
        await wait(done, 5)
        return "went on"

    task = asyncio.create_task(body())
    await asyncio.sleep(0)  # the task now waits
    done.set_result(1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return task


async def test_a_cancel_that_comes_as_the_awaited_finishes_is_kept() -> None:
    task = await _race(bounded)
    assert task.cancelled()
    if sys.version_info < (3, 12):
        # The race is real: the stdlib's wait_for returns the result and the task goes on (a
        # loop around it then never ends); without this the test above could pass by accident.
        control = await _race(asyncio.wait_for)  # noqa: TID251 (the control)
        assert not control.cancelled() and control.result() == "went on"


async def test_bounded_times_out_and_cancels_what_it_waited_for() -> None:
    slow = asyncio.create_task(asyncio.sleep(10))
    with pytest.raises(TimeoutError):
        await bounded(slow, 0.05)
    await asyncio.sleep(0)
    assert slow.cancelled()
    assert await bounded(asyncio.sleep(0, "ok"), None) == "ok"
