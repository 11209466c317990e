"""A browser page's wall clock against this process's."""

from __future__ import annotations

import time
from typing import Any, Protocol


class Evaluates(Protocol):
    async def evaluate(self, expression: str) -> Any: ...


async def page_clock_offset(page: Evaluates, tries: int = 3) -> float:
    """Seconds to add to a page timestamp (``performance.timeOrigin + now``) to put it on this
    process's wall clock: from the read with the shortest round trip."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        before = time.time()
        page_now = await page.evaluate("(performance.timeOrigin + performance.now()) / 1000")
        after = time.time()
        rtt = after - before
        if best is None or rtt < best[0]:
            best = (rtt, (before + after) / 2 - float(page_now))
    assert best is not None
    return best[1]
