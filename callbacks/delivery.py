"""Deliver a callback: POST JSON, bounded retries on failures a receiver can recover from."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import httpx
from pydantic import BaseModel

log = logging.getLogger("meetbot.callbacks")

RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))


class Attempt(BaseModel):
    at: float
    status_code: int | None
    error: str | None
    latency_ms: float


class DeliveryReport(BaseModel):
    url: str
    delivered: bool
    attempts: list[Attempt]


async def deliver(
    url: str,
    body: dict[str, Any],
    *,
    client: httpx.AsyncClient,
    timeout: float = 10.0,
    attempts: int = 4,
    base_delay: float = 0.5,
) -> DeliveryReport:
    report = DeliveryReport(url=url, delivered=False, attempts=[])
    for n in range(attempts):
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            resp = await client.post(url, json=body, timeout=timeout)
            status = resp.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency = (time.monotonic() - started) * 1000
        report.attempts.append(Attempt(at=time.time(), status_code=status, error=error,
                                       latency_ms=round(latency, 1)))
        if status is not None and 200 <= status < 300:
            report.delivered = True
            log.info("callback delivered", extra={"status": status, "attempt": n + 1})
            return report
        if status is not None and status not in RETRY_STATUS:
            log.warning("callback refused", extra={"status": status})
            return report
        if n + 1 < attempts:
            delay = base_delay * 2**n * (0.5 + random.random())
            log.warning("callback failed; retrying",
                        extra={"status": status, "error": error, "retry_in_s": round(delay, 2)})
            await asyncio.sleep(delay)
    log.error("callback not delivered", extra={"attempts": attempts})
    return report
