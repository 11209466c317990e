"""Figures for a flaky receiver: ``python -m callbacks.bench_flaky [--events N] [--seed S]``.

The receiver answers at random: 200, 500, 503, 429 with Retry-After: 1, or a 200 too late for our
timeout (the receiver acted, we could not know). Retry delays are scaled down to seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from callbacks.delivery import Deliverer, RetryPolicy
from callbacks.guard import UrlPolicy
from callbacks.outbox import Outbox
from callbacks.receiver import CallbackReceiver, Reply
from callbacks.signing import SignatureError, WebhookSigner, generate_secret

TIMEOUT = 0.5
MIX: list[tuple[float, Reply]] = [
    (0.40, Reply(200)),
    (0.25, Reply(503)),
    (0.10, Reply(500)),
    (0.10, Reply(429, headers={"retry-after": "1"})),
    (0.15, Reply(200, delay=TIMEOUT * 2)),
]


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def run(events: int, seed: int) -> None:
    rng = random.Random(seed)
    replies = rng.choices([r for _, r in MIX], weights=[w for w, _ in MIX], k=events * 20)
    secret = generate_secret()
    signer = WebhookSigner.from_secret(secret)
    retry = RetryPolicy(base_delay=0.2, max_delay=2.0, window=60.0, jitter=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        async with CallbackReceiver(replies=replies) as rx, Deliverer(
            signer=signer, url_policy=UrlPolicy.from_env_value("127.0.0.1/32"), retry=retry,
            timeout=TIMEOUT, outbox=Outbox(Path(tmp)), rng=random.Random(seed),
        ) as dl:
            started = time.time()
            reports = await asyncio.gather(*(
                dl.send(rx.url, {"event": "bench", "n": n}, event="callback", meeting_id=f"m-{n}",
                        give_up_at=None) for n in range(events)))
            await asyncio.sleep(TIMEOUT * 2)  # let the late answers land before counting

    delivered = [r for r in reports if r.delivered]
    attempts = [len(r.attempts) for r in reports]
    took = [r.attempts[-1].at + r.attempts[-1].latency_ms / 1000 - started for r in delivered]
    bad = 0
    for req in rx.received:
        try:
            signer.verify(req.body, req.headers)
        except SignatureError:
            bad += 1
    per_id = Counter(req.webhook_id for req in rx.received if req.status and 200 <= req.status < 300)
    print(f"events: {events}, delivered: {len(delivered)}, dead: {sum(r.state == 'dead' for r in reports)}")
    print(f"attempts per event: mean {statistics.mean(attempts):.2f}, median {statistics.median(attempts)}, "
          f"max {max(attempts)}; distribution {sorted(Counter(attempts).items())}")
    if took:
        print(f"time until delivered (s): median {statistics.median(took):.2f}, "
              f"p90 {_p(took, 0.9):.2f}, max {max(took):.2f}")
    outcomes = Counter(str(a.status_code or "timeout") for r in reports for a in r.attempts)
    print(f"what we saw per attempt: {dict(sorted(outcomes.items()))}")
    print(f"receiver: {len(rx.received)} requests, {len({q.webhook_id for q in rx.received})} webhook-ids, "
          f"signatures failing: {bad}; answered 2xx: {sum(per_id.values())} times for {len(per_id)} ids "
          f"(ids answered 2xx more than once: {sum(1 for c in per_id.values() if c > 1)}); "
          f"logical events after dedupe: {len(rx.events())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    logging.getLogger("meetbot").setLevel(logging.CRITICAL)  # one line per failed attempt is noise here
    asyncio.run(run(args.events, args.seed))


if __name__ == "__main__":
    main()
