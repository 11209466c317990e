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


async def bounded(aw: Awaitable[T], timeout: float | None) -> T:
    """``aw`` within ``timeout`` seconds (None: unbounded), or TimeoutError; it is cancelled then.

    Use it instead of ``asyncio.wait_for``: on Python 3.11 that one swallows a cancellation that
    arrives as the awaited finishes (it returns the result instead), so a loop around it is never
    cancelled and whoever waits for it waits for ever. Twice in CI a bot hung that way for minutes
    (the segment watcher being stopped as its ffprobe ended; a page poll as the call ended).
    ``asyncio.timeout`` tells the two cancellations apart."""
    async with asyncio.timeout(timeout):
        return await aw


async def cleanup_step(name: str, aw: Awaitable[T], timeout: float) -> T | None:
    """Run one release step to completion even if our task is being cancelled.

    A failing or slow step is logged and skipped so that the steps after it still run.
    """
    task = asyncio.ensure_future(aw)
    try:
        return await bounded(asyncio.shield(task), timeout)
    except asyncio.CancelledError:
        # Cancelled while releasing: finish the release anyway, then propagate.
        try:
            await bounded(task, timeout)
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


def awaiting(task: asyncio.Task[Any]) -> list[str]:
    """Where a task is suspended, outermost first (``file:line function`` per coroutine it
    awaits through). ``Task.get_stack`` gives only the outermost frame of a suspended task."""
    chain: list[str] = []
    aw: Any = task.get_coro()
    while aw is not None and len(chain) < 40:
        frame = getattr(aw, "cr_frame", None) or getattr(aw, "ag_frame", None) \
            or getattr(aw, "gi_frame", None)
        if frame is None:
            chain.append(f"<{type(aw).__name__}>")
            break
        chain.append(f"{'/'.join(frame.f_code.co_filename.split('/')[-2:])}:{frame.f_lineno} "
                     f"{frame.f_code.co_name}")
        aw = getattr(aw, "cr_await", None) or getattr(aw, "ag_await", None) \
            or getattr(aw, "gi_yieldfrom", None)
    return chain


def where_waiting(task: asyncio.Task[Any]) -> str:
    """``awaiting`` for a log line: innermost first."""
    return " <- ".join(reversed(awaiting(task)))


def log_pending_tasks(why: str) -> None:
    """Every pending task of this loop and where it waits, for a stop that is not being honoured."""
    for task in asyncio.all_tasks():
        log.error("pending task",
                  extra={"why": why, "task": task.get_name(), "awaiting": where_waiting(task)})
