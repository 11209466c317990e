"""A browser page's wall clock against this process's."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

GOOD_RTT_S = 0.004
"""A read whose round trip is this short places the page's clock within 2 ms."""
MAX_TRIES = 40
"""Reads at most, when none comes back that fast: while four Chromiums started on two cores the
best of three was 40-80 ms, its midpoint off by up to half of that, and each self-test's sound and
picture read late together by as much (tests found the offset within 5 ms of zero otherwise)."""


class Evaluates(Protocol):
    async def evaluate(self, expression: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class ClockReading:
    offset: float
    """Seconds to add to a page timestamp (``performance.timeOrigin + now``) to put it on this
    process's wall clock."""
    rtt: float
    """The round trip of the read it came from: the offset is within half of it."""
    reads: int


async def read_page_clock(page: Evaluates, *, tries: int = 3, good_rtt: float = GOOD_RTT_S,
                          max_tries: int = MAX_TRIES) -> ClockReading:
    """The page's clock from the read with the shortest round trip: at least ``tries`` reads, more
    (up to ``max_tries``) until one comes back within ``good_rtt``."""
    best: tuple[float, float] | None = None
    reads = 0
    while reads < max_tries and (reads < tries or best is None or best[0] > good_rtt):
        before = time.time()
        page_now = await page.evaluate("(performance.timeOrigin + performance.now()) / 1000")
        after = time.time()
        reads += 1
        rtt = after - before
        if best is None or rtt < best[0]:
            best = (rtt, (before + after) / 2 - float(page_now))
    assert best is not None
    return ClockReading(offset=best[1], rtt=best[0], reads=reads)


async def page_clock_offset(page: Evaluates, tries: int = 3) -> float:
    """Seconds to add to a page timestamp to put it on this process's wall clock."""
    return (await read_page_clock(page, tries=tries)).offset
