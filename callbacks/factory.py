"""The callback machinery as configured: one place that turns Settings into a Deliverer."""

from __future__ import annotations

import httpx

from callbacks.delivery import Deliverer, RetryPolicy
from callbacks.guard import UrlPolicy
from callbacks.outbox import Outbox
from callbacks.signing import WebhookSigner
from core.settings import Settings, WebhookSettings


def url_policy(settings: WebhookSettings) -> UrlPolicy:
    allow = settings.allow_private_urls
    if allow is True:
        return UrlPolicy(allow_private=True)
    return UrlPolicy(allowed_networks=tuple(allow or ()))


def outbox(settings: Settings) -> Outbox:
    return Outbox(settings.data_dir / "outbox")


def build_deliverer(settings: Settings, *, client: httpx.AsyncClient | None = None,
                    window: float | None = None) -> Deliverer:
    secret = settings.webhook_secret
    return Deliverer(
        signer=WebhookSigner.from_secret(secret.get_secret_value()) if secret else None,
        url_policy=url_policy(settings),
        retry=RetryPolicy(base_delay=settings.callback_retry_base_delay,
                          max_delay=settings.callback_retry_max_delay,
                          window=window or settings.callback_retry_window,
                          jitter=settings.callback_retry_jitter),
        timeout=settings.callback_timeout, outbox=outbox(settings), client=client,
        probe_interval=settings.callback_probe_interval,
    )
