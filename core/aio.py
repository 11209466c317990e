"""Small asyncio helpers shared by the resource owners."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("meetbot.aio")

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """preexec_fn: the child gets ``sig`` when the bot process dies, even by SIGKILL.

    Must run in a child forked from the event-loop thread (asyncio does): the signal
    fires when the *thread* that forked exits.
    """
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)


async def cleanup_step(name: str, aw: Awaitable[T], timeout: float) -> T | None:
    """Run one release step to completion even if our task is being cancelled.

    A failing or slow step is logged and skipped so that the steps after it still run.
    """
    task = asyncio.ensure_future(aw)
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except asyncio.CancelledError:
        # Cancelled while releasing: finish the release anyway, then propagate.
        try:
            await asyncio.wait_for(task, timeout)
        except Exception:
            log.warning("cleanup step failed", extra={"step": name}, exc_info=True)
        raise
    except TimeoutError:
        task.cancel()
        log.warning("cleanup step timed out", extra={"step": name, "timeout_s": timeout})
    except Exception:
        log.warning("cleanup step failed", extra={"step": name}, exc_info=True)
    return None


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel a child task and wait for it to finish; its own errors are logged, not raised."""
    if not task.done():
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if me is not None and me.cancelling():
            raise  # we are being cancelled ourselves: never swallow that
    except StopAsyncIteration:
        pass
    except Exception:
        log.warning("task failed while being cancelled", exc_info=True)
