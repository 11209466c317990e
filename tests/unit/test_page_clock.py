"""Reading a page's clock: a slow request leg moves a midpoint by half its round trip, so the read
goes on until one comes back fast."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.page_clock import read_page_clock

pytestmark = pytest.mark.unit


class SlowToReach:
    """A page on this process's clock whose first ``slow`` reads wait ``delay`` s before the page
    reads its clock (a busy renderer), then answer at once."""

    def __init__(self, slow: int, delay: float) -> None:
        self.slow, self.delay, self.reads = slow, delay, 0

    async def evaluate(self, expression: str) -> float:
        self.reads += 1
        if self.reads <= self.slow:
            await asyncio.sleep(self.delay)
        return time.time()


async def test_reads_until_a_round_trip_is_short() -> None:
    page = SlowToReach(slow=5, delay=0.06)
    clock = await read_page_clock(page)
    assert page.reads == 6
    assert clock.rtt < 0.004
    assert abs(clock.offset) < 0.002, "the fast read's midpoint is the clock"


async def test_best_of_three_would_have_been_off_by_half_the_delay() -> None:
    clock = await read_page_clock(SlowToReach(slow=5, delay=0.06), max_tries=3)
    assert clock.reads == 3 and clock.rtt >= 0.06
    assert clock.offset == pytest.approx(-0.03, abs=0.01), "read late: the page seems ahead"


async def test_gives_up_after_max_tries_with_the_best() -> None:
    page = SlowToReach(slow=100, delay=0.01)
    clock = await read_page_clock(page, max_tries=8)
    assert page.reads == 8 and clock.reads == 8
    assert 0.01 <= clock.rtt < 0.03
