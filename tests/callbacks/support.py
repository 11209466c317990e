"""Helpers for the callback tests: fast retry policies, a deliverer, a free port, a wire check."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import standardwebhooks

from callbacks.delivery import Deliverer, DeliveryReport, RetryPolicy
from callbacks.guard import UrlPolicy
from callbacks.outbox import Outbox
from callbacks.receiver import CallbackReceiver
from callbacks.signing import WebhookSigner
from core.aio import bounded

ROOT = Path(__file__).resolve().parents[2]

# Receivers listen on 127.0.0.1: allowed by a CIDR, so the allow-list path is what every test uses.
LOOPBACK_ONLY = UrlPolicy.from_env_value("127.0.0.1/32")
FAST = RetryPolicy(base_delay=0.05, max_delay=0.2, window=5.0, jitter=0.5)


def make_deliverer(secret: str, outbox: Outbox | None, *, retry: RetryPolicy = FAST,
                   timeout: float = 2.0, policy: UrlPolicy = LOOPBACK_ONLY,
                   probe_interval: float | None = 5.0) -> Deliverer:
    return Deliverer(signer=WebhookSigner.from_secret(secret), url_policy=policy, retry=retry,
                     timeout=timeout, outbox=outbox, probe_interval=probe_interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_wire(rx: CallbackReceiver, report: DeliveryReport, secret: str, *, requests: int,
                events: int) -> None:
    """Every request: the delivery's webhook-id, the same body, a signature the reference library
    accepts. And what a deduping receiver acts on: ``events`` logical events."""
    assert len(rx.received) == requests, [r.status for r in rx.received]
    verifier = standardwebhooks.Webhook(secret)
    for r in rx.received:
        assert r.webhook_id == report.id
        assert r.headers["content-type"] == "application/json"
        assert r.headers["user-agent"].startswith("meetbot/")
        verifier.verify(r.body, r.headers)
    assert len({r.body for r in rx.received}) <= 1
    assert len(rx.events()) == events


def cli_env(secret: str) -> dict[str, str]:
    return {**os.environ, "MEETBOT_WEBHOOK_SECRET": secret, "MEETBOT_ALLOW_PRIVATE_URLS": "127.0.0.1/32"}


async def cli(*args: str, secret: str, env: dict[str, str] | None = None) -> str:
    """``meetbot callbacks ARGS`` in a process of its own (``env``: settings added); its stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.callbacks", *args, cwd=ROOT, env={**cli_env(secret), **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await bounded(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return out.decode()
