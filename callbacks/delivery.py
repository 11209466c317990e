"""Deliver callbacks: signed, retried within a window, on disk until they end.

What one attempt leads to:

    2xx                                         delivered
    410 Gone                                    dead (gone): the receiver wants no more
    408, 429, 5xx, connect/read errors,         retry after an exponential backoff with jitter,
    timeouts, a host that does not resolve      or after Retry-After (seconds or HTTP date)
    any other status (4xx, a redirect)          dead (rejected): retrying would not help
    a URL the guard refuses                     dead (unsafe_url)
    the next retry would fall after the window  dead (window_expired)

The worker never waits for long: ``deliver(..., give_up_at=...)`` returns at the caller's grace
period and leaves the delivery pending in the outbox, where ``run_pending`` (``meetbot callbacks
deliver``) picks it up, from this process or a later one, with the same webhook-id.

A receiver that answers again gets its backlog at once, not at each event's next backoff (after
a long outage that was 5-30 min away): once any delivery to it (scheme, host, port) succeeds, in
this process or another one sharing the outbox, every event still backing off for it goes,
oldest first. While it stays down, its oldest event is tried every ``probe_interval`` seconds, so
the first success does not wait for a backoff either.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import httpx
from pydantic import BaseModel

from callbacks.guard import UnsafeUrlError, UrlPolicy, check_url, peer_check
from callbacks.outbox import Attempt, DeadReason, Delivery, Outbox, Receiver, State, receiver_of
from callbacks.signing import WebhookSigner, webhook_headers

log = logging.getLogger("meetbot.callbacks")

RETRY_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))
STAGGER_S = 0.02
"""Between the events of a backlog sent at once: they start oldest first."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When to try again. Production keeps retrying for hours; tests use seconds."""

    base_delay: float = 5.0
    """Wait after the first failure; doubles with each further one."""
    max_delay: float = 30 * 60.0
    """Longest backoff between two attempts (a Retry-After may ask for longer)."""
    window: float = 24 * 3600.0
    """From the first attempt (or a redelivery): no attempt starts after it."""
    jitter: float = 0.5
    """Each backoff is shortened by a random fraction up to this, so retries don't herd."""

    def __post_init__(self) -> None:
        if not 0 < self.base_delay <= self.max_delay:
            raise ValueError(f"need 0 < base_delay <= max_delay, got {self.base_delay}, {self.max_delay}")
        if self.window <= 0:
            raise ValueError(f"window must be positive, got {self.window}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within 0..1, got {self.jitter}")

    def backoff(self, failures: int, rng: random.Random) -> float:
        delay = min(self.max_delay, self.base_delay * 2 ** max(0, failures - 1))
        return delay * (1 - self.jitter * rng.random())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class DeliveryReport(BaseModel):
    """What a caller stores with the job's outputs (``delivery.json``)."""

    url: str
    delivered: bool
    attempts: list[Attempt]
    id: str | None = None
    event: str = "callback"
    state: State | None = None
    reason: DeadReason | None = None
    detail: str | None = None
    next_attempt_at: float | None = None
    """Set while pending: when the outbox will try again."""

    @classmethod
    def of(cls, d: Delivery, detail: str | None = None) -> DeliveryReport:
        return cls(url=d.url, delivered=d.state is State.DELIVERED, attempts=list(d.attempts), id=d.id,
                   event=d.event, state=d.state, reason=d.reason, detail=detail or d.detail,
                   next_attempt_at=d.next_attempt_at if d.state is State.PENDING else None)


class Deliverer:
    """``async with Deliverer(signer=..., url_policy=..., outbox=Outbox(dir)) as dl: ...``"""

    def __init__(self, *, signer: WebhookSigner | None, url_policy: UrlPolicy | None = None,
                 retry: RetryPolicy | None = None, timeout: float = 10.0, outbox: Outbox | None = None,
                 client: httpx.AsyncClient | None = None, max_concurrency: int = 8,
                 rng: random.Random | None = None, probe_interval: float | None = 5.0) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if probe_interval is not None and probe_interval <= 0:
            raise ValueError(f"probe_interval must be positive or None, got {probe_interval}")
        self.probe_interval = probe_interval
        self.signer = signer
        self.url_policy = url_policy or UrlPolicy()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.outbox = outbox
        self._client = client or httpx.AsyncClient()
        self._owns_client = client is None
        self._limit = asyncio.Semaphore(max_concurrency)
        self._rng = rng or random.Random()
        # Deliveries of this process waiting for their next attempt, and the wake-ups asked for
        # them (the attempt's new time): a receiver back, a probe.
        self._napping: dict[str, tuple[Delivery, asyncio.Event]] = {}
        self._sooner: dict[str, float] = {}

    async def aclose(self) -> None:
        """Idempotent; closes the HTTP client only if this deliverer created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- entry points -------------------------------------------------------------------------
    async def enqueue(self, url: str, body: dict[str, Any] | str, *, event: str = "callback",
                      meeting_id: str, not_before: float | None = None) -> Delivery:
        """Create a delivery and put it on disk before the first attempt, so it can't be lost.

        ``not_before`` keeps an outbox watcher from sending it before then (e.g. while earlier
        status events are still going out); ``deliver`` waits for it too.
        """
        d = Delivery.new(url=url, body=body, event=event, meeting_id=meeting_id, window=self.retry.window)
        if not_before is not None:
            d.next_attempt_at = max(d.next_attempt_at, not_before)
        await self._save(d, self.outbox)
        return d

    async def release(self, delivery: Delivery) -> None:
        """Lift an ``enqueue(not_before=...)`` hold: the delivery is due now."""
        delivery.next_attempt_at = time.time()
        await self._save(delivery, self.outbox)

    async def send(self, url: str, body: dict[str, Any] | str, *, event: str, meeting_id: str,
                   give_up_at: float | None, durable: bool = True) -> DeliveryReport:
        """``enqueue`` + ``deliver``. ``durable=False`` keeps it in memory only: for status events,
        which are useless late and must never arrive after the final result."""
        if durable:
            d = await self.enqueue(url, body, event=event, meeting_id=meeting_id)
            return await self.deliver(d, give_up_at=give_up_at)
        d = Delivery.new(url=url, body=body, event=event, meeting_id=meeting_id, window=self.retry.window)
        return await self._run(d, give_up_at, None)

    async def deliver(self, delivery: Delivery, *, give_up_at: float | None) -> DeliveryReport:
        """Attempt until a final outcome, or until ``give_up_at`` (then it stays pending on disk)."""
        return await self._deliver_in(self.outbox, delivery, give_up_at)

    async def run_pending(self, outbox: Outbox | None = None, *, once: bool = True,
                          poll_interval: float = 1.0) -> list[DeliveryReport]:
        """Deliver what is due: one pass (``once``), or keep watching the outbox forever."""
        box = self._box(outbox)
        if not once:
            await self._watch(box, poll_interval)
            return []
        now = time.time()
        pending = await asyncio.to_thread(box.entries)
        receivers = await asyncio.to_thread(box.receivers)
        due = [d for d in pending if d.next_attempt_at <= now]
        probes = self._probes(pending, receivers, now, paced=False)
        for d in probes:
            self._sooner[d.id] = now
        reports = await asyncio.gather(*(self._one_pass(box, d) for d in [*due, *probes]))
        # A receiver that took one now takes the rest of its backlog now, oldest first.
        tried = {r.id for r in reports}
        receivers = await asyncio.to_thread(box.receivers)
        for d in self._back(await asyncio.to_thread(box.entries), receivers):
            if d.id not in tried:
                self._sooner[d.id] = time.time()
                reports.append(await self._one_pass(box, d))
        return reports

    async def redeliver(self, ids: Iterable[str], outbox: Outbox | None = None) -> list[DeliveryReport]:
        """Dead letters back to pending with a fresh window and the SAME webhook-id, sent now."""
        box = self._box(outbox)
        revived = [await asyncio.to_thread(box.requeue, i, window=self.retry.window) for i in ids]
        return await asyncio.gather(*(self._one_pass(box, d) for d in revived))

    # -- the loop -----------------------------------------------------------------------------
    def _box(self, outbox: Outbox | None) -> Outbox:
        box = outbox or self.outbox
        if box is None:
            raise ValueError("no outbox: pass one to the Deliverer or to this call")
        return box

    async def _one_pass(self, box: Outbox, d: Delivery) -> DeliveryReport:
        async with self._limit:
            # Retries that fit in one timeout still happen; longer waits are left for the next pass.
            return await self._deliver_in(box, d, time.time() + self.timeout)

    async def _watch(self, box: Outbox, poll_interval: float) -> None:
        active: dict[str, asyncio.Task[DeliveryReport]] = {}
        try:
            while True:
                pending = await asyncio.to_thread(box.entries)
                for d in pending:
                    if d.id not in active:
                        active[d.id] = asyncio.create_task(self._deliver_in(box, d, None),
                                                           name=f"deliver-{d.id}")
                # Another process's success (a bot's callback) or this one's probe.
                receivers = await asyncio.to_thread(box.receivers)
                self._hurry(self._back(pending, receivers))
                self._hurry(self._probes(pending, receivers, time.time()))
                await asyncio.sleep(poll_interval)
                for i in [i for i, t in active.items() if t.done()]:
                    if (exc := active.pop(i).exception()) is not None:
                        log.error("delivery crashed", extra={"webhook_id": i}, exc_info=exc)
        finally:
            for t in active.values():
                t.cancel()
            await asyncio.gather(*active.values(), return_exceptions=True)

    async def _deliver_in(self, box: Outbox | None, d: Delivery, give_up_at: float | None) -> DeliveryReport:
        if box is None:
            return await self._run(d, give_up_at, None)
        with box.claim(d.id) as mine:
            if not mine:
                return DeliveryReport.of(d, detail="being delivered by another process")
            current = await asyncio.to_thread(box.get, d.id) or d  # it may have moved on meanwhile
            return await self._run(current, give_up_at, box)

    # -- a receiver back ----------------------------------------------------------------------
    @staticmethod
    def _back(pending: list[Delivery], receivers: dict[str, Receiver]) -> list[Delivery]:
        """Events backing off for a receiver that has answered 2xx since their last attempt."""
        back = []
        for d in pending:
            r = receivers.get(receiver_of(d.url))
            if d.failures and d.attempts and r is not None and r.last_ok_at > d.attempts[-1].at:
                back.append(d)
        return sorted(back, key=lambda d: d.created_at)

    def _probes(self, pending: list[Delivery], receivers: dict[str, Receiver], now: float, *,
                paced: bool = True) -> list[Delivery]:
        """For each receiver that is failing, its oldest event, if it is due for a probe: nothing
        tried it for ``probe_interval`` and none of its events is due sooner. Unpaced (a
        ``deliver`` pass, someone's "try now"): every failing receiver with nothing due."""
        if self.probe_interval is None:
            return []
        pace = self.probe_interval if paced else 0.0
        failing: dict[str, list[Delivery]] = {}
        for d in pending:
            if d.failures:
                failing.setdefault(receiver_of(d.url), []).append(d)
        probes = []
        for origin, ds in failing.items():
            r = receivers.get(origin)
            if r is not None and now - r.last_attempt_at < pace:
                continue
            if any(d.next_attempt_at <= now + pace for d in pending if receiver_of(d.url) == origin):
                continue
            probes.append(min(ds, key=lambda d: d.created_at))
        return probes

    def _hurry(self, deliveries: list[Delivery]) -> None:
        """Bring these attempts forward, oldest first, for the tasks of this process that wait."""
        now = time.time()
        for i, d in enumerate(sorted(deliveries, key=lambda d: d.created_at)):
            if (napping := self._napping.get(d.id)) is not None:
                self._sooner[d.id] = now + i * STAGGER_S
                napping[1].set()

    async def _nap(self, d: Delivery, wait: float) -> bool:
        """Wait for the next attempt; True if woken before it (the attempt's time moved)."""
        woken = asyncio.Event()
        self._napping[d.id] = (d, woken)
        try:
            async with asyncio.timeout(wait):
                await woken.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._napping.pop(d.id, None)

    async def _noted(self, d: Delivery, box: Outbox | None) -> None:
        """Tell every process of the outbox how the receiver answered; on a 2xx, send this
        process's events still backing off for it now."""
        box = box or self.outbox
        ok = d.state is State.DELIVERED
        if box is not None:
            try:
                await asyncio.to_thread(box.note_attempt, d.url, ok=ok, at=d.attempts[-1].at)
            except OSError:
                log.warning("could not note the receiver's answer in the outbox", exc_info=True)
        if ok:
            origin = receiver_of(d.url)
            self._hurry([w for w, _ in self._napping.values()
                         if w.failures and receiver_of(w.url) == origin])

    async def _run(self, d: Delivery, give_up_at: float | None, box: Outbox | None) -> DeliveryReport:
        while d.state is State.PENDING:
            now = time.time()
            if (sooner := self._sooner.pop(d.id, None)) is not None:
                d.next_attempt_at = min(d.next_attempt_at, sooner)
            if now > d.deadline:
                # Due inside the window but started after it (a late wake-up): say the last failure.
                last = d.attempts[-1] if d.attempts else None
                said = "" if last is None else f"; last: {_failure(last.status_code, last.error)}"
                self._end(d, State.DEAD, DeadReason.WINDOW_EXPIRED, f"the retry window ended{said}")
                await self._save(d, box)
                break
            wait = max(0.0, d.next_attempt_at - now)
            if give_up_at is not None and now + wait >= give_up_at:
                log.info("callback left pending", extra={"webhook_id": d.id, "event": d.event,
                                                         "next_attempt_in_s": round(wait, 2)})
                break
            if wait > 0 and await self._nap(d, wait):
                continue
            self._sooner.pop(d.id, None)  # asked for before this attempt: it is being made
            limit = self.timeout if give_up_at is None else min(self.timeout, give_up_at - time.time())
            await self._attempt(d, max(limit, 0.001))
            await self._save(d, box)
            await self._noted(d, box)
        return DeliveryReport.of(d)

    async def _attempt(self, d: Delivery, limit: float) -> None:
        started, at = time.monotonic(), time.time()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        unsafe: UnsafeUrlError | None = None
        malformed: str | None = None
        try:
            await check_url(d.url, self.url_policy)
            body = d.body.encode()
            headers = webhook_headers(d.id, body, signer=self.signer)
            async with asyncio.timeout(limit):  # a hard cap: httpx's timeouts are per phase
                async with self._client.stream(
                    "POST", d.url, content=body, headers=headers, timeout=limit, follow_redirects=False,
                    extensions={"trace": peer_check(self.url_policy, httpx.URL(d.url).host)},
                ) as resp:
                    status = resp.status_code
                    retry_after = parse_retry_after(resp.headers.get("retry-after"), time.time())
        except UnsafeUrlError as exc:
            error, unsafe = str(exc), exc
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out after {limit:.3g} s"
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            error = malformed = f"{type(exc).__name__}: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        d.attempts.append(Attempt(at=at, status_code=status, error=error, latency_ms=latency_ms))
        extra = {"webhook_id": d.id, "event": d.event, "attempt": len(d.attempts), "status": status,
                 "error": error, "latency_ms": latency_ms}
        if status is not None and 200 <= status < 300:
            log.info("callback delivered", extra=extra)
            self._end(d, State.DELIVERED)
        elif status == 410:
            self._end(d, State.DEAD, DeadReason.GONE, "HTTP 410 Gone")
        elif status is not None and status not in RETRY_STATUS:
            self._end(d, State.DEAD, DeadReason.REJECTED, f"HTTP {status}")
        elif unsafe is not None and not unsafe.retryable:
            self._end(d, State.DEAD, DeadReason.UNSAFE_URL, str(unsafe))
        elif malformed is not None:
            self._end(d, State.DEAD, DeadReason.REJECTED, malformed)
        else:
            self._schedule(d, retry_after, _failure(status, error))
        if d.state is not State.DELIVERED:
            log.warning("callback attempt failed", extra={**extra, "state": d.state.value,
                                                          "reason": d.reason and d.reason.value})

    def _schedule(self, d: Delivery, retry_after: float | None, last: str) -> None:
        d.failures += 1
        now = time.time()
        if retry_after is not None:
            # Honour the receiver's wish, but never hammer it on "Retry-After: 0".
            delay = max(retry_after, self.retry.base_delay)
        else:
            delay = self.retry.backoff(d.failures, self._rng)
        if now + delay > d.deadline:
            self._end(d, State.DEAD, DeadReason.WINDOW_EXPIRED,
                      f"the next retry (in {delay:.3g} s) falls after the window; last: {last}")
        else:
            d.next_attempt_at = now + delay

    @staticmethod
    def _end(d: Delivery, state: State, reason: DeadReason | None = None, detail: str | None = None) -> None:
        d.state, d.reason, d.detail = state, reason, detail
        if state is State.DEAD:
            log.error("callback dead", extra={"webhook_id": d.id, "event": d.event,
                                              "reason": reason and reason.value, "detail": detail})

    @staticmethod
    async def _save(d: Delivery, box: Outbox | None) -> None:
        if box is not None:
            await asyncio.to_thread(box.save, d)


def _failure(status: int | None, error: object) -> str:
    """An attempt's failure in words, for the dead letter's detail."""
    return f"HTTP {status}" if status is not None else str(error)
