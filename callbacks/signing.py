"""Standard Webhooks signing: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``"{id}.{timestamp}.{body}"`` over the exact body bytes sent; the signature
is ``v1,<base64 HMAC-SHA256>``. The id stays the same on every attempt of one event (receivers
dedupe on it); the timestamp is that of the attempt, so a retry hours later still verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300
"""How far a timestamp may be from the receiver's clock: the spec's replay window."""


def _version() -> str:
    try:
        return metadata.version("meetbot")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0"


USER_AGENT = f"meetbot/{_version()}"


class SecretError(ValueError):
    """The configured webhook secret is not ``whsec_`` followed by base64 of 24 to 64 bytes."""


class SignatureError(ValueError):
    """A request's webhook headers do not verify."""


def new_message_id() -> str:
    return f"msg_{secrets.token_hex(16)}"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class WebhookSigner:
    """Signs (and, for receivers and tests, verifies) with one ``whsec_`` secret."""

    key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> WebhookSigner:
        if not secret.startswith(SECRET_PREFIX):
            raise SecretError(f"webhook secret must start with {SECRET_PREFIX!r} (Standard Webhooks format)")
        encoded = secret[len(SECRET_PREFIX):]
        try:
            # Padding is optional in the wild; anything else outside the alphabet is an error.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SecretError(f"webhook secret after {SECRET_PREFIX!r} is not valid base64") from exc
        # The spec's bounds: shorter keys are guessable, longer ones only slow HMAC down.
        if not 24 <= len(key) <= 64:
            raise SecretError(f"webhook secret must decode to 24..64 bytes, not {len(key)}")
        return cls(key)

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        mac = hmac.new(self.key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
        return "v1," + base64.b64encode(mac.digest()).decode()

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> None:
        h = {k.lower(): v for k, v in headers.items()}
        msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
        if not (msg_id and ts and sigs):
            raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
        try:
            stamp = int(ts)
        except ValueError as exc:
            raise SignatureError(f"webhook-timestamp {ts!r} is not Unix seconds") from exc
        if abs((time.time() if now is None else now) - stamp) > TOLERANCE_S:
            raise SignatureError("webhook-timestamp is outside the 5-minute tolerance")
        expected = self.sign(msg_id, stamp, body)
        # Several space-separated signatures are allowed (key rotation): any match will do.
        if not any(hmac.compare_digest(expected, s) for s in sigs.split()):
            raise SignatureError("no webhook-signature matches")


def webhook_headers(msg_id: str, body: bytes, *, signer: WebhookSigner | None,
                    timestamp: int | None = None) -> dict[str, str]:
    """Headers for one attempt; ``timestamp`` defaults to now."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
    }
    if signer is not None:
        headers["webhook-signature"] = signer.sign(msg_id, ts, body)
    return headers
