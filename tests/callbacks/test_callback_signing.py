"""Standard Webhooks signing, checked against the reference library (standardwebhooks)."""

from __future__ import annotations

import base64
import re
import time

import pytest
import standardwebhooks

from callbacks.signing import (
    SecretError,
    SignatureError,
    WebhookSigner,
    generate_secret,
    new_message_id,
    webhook_headers,
)

pytestmark = pytest.mark.unit

BODY = b'{"success":true,"message":"Meeting recording completed.","data":{"video_id":"v1"}}'


def test_headers_verify_with_the_reference_library(secret: str) -> None:
    msg_id = new_message_id()
    headers = webhook_headers(msg_id, BODY, signer=WebhookSigner.from_secret(secret))
    assert headers["webhook-id"] == msg_id and msg_id.startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("meetbot/")
    assert standardwebhooks.Webhook(secret).verify(BODY, headers)["data"]["video_id"] == "v1"
    WebhookSigner.from_secret(secret).verify(BODY, headers)  # our own verifier agrees


def test_reference_signature_matches_ours(secret: str) -> None:
    from datetime import UTC, datetime

    ts = int(time.time())
    ours = WebhookSigner.from_secret(secret).sign("msg_1", ts, BODY)
    theirs = standardwebhooks.Webhook(secret).sign("msg_1", datetime.fromtimestamp(ts, UTC), BODY.decode())
    assert ours == theirs


def test_tampered_body_fails(secret: str) -> None:
    headers = webhook_headers("msg_x", BODY, signer=WebhookSigner.from_secret(secret))
    tampered = BODY.replace(b"v1", b"v2")
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(tampered, headers)
    with pytest.raises(SignatureError):
        WebhookSigner.from_secret(secret).verify(tampered, headers)


def test_old_timestamp_fails(secret: str) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60
    headers = webhook_headers("msg_x", BODY, signer=WebhookSigner.from_secret(secret),
                              timestamp=six_minutes_ago)
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(secret).verify(BODY, headers)
    with pytest.raises(SignatureError, match="tolerance"):
        WebhookSigner.from_secret(secret).verify(BODY, headers)


def test_wrong_secret_fails(secret: str) -> None:
    headers = webhook_headers("msg_x", BODY, signer=WebhookSigner.from_secret(secret))
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(BODY, headers)


def test_no_secret_means_no_signature_header() -> None:
    headers = webhook_headers("msg_x", BODY, signer=None)
    assert "webhook-signature" not in headers and headers["webhook-id"] == "msg_x"


@pytest.mark.parametrize(("secret", "message"), [
    ("", "must start with 'whsec_'"),
    ("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "must start with 'whsec_'"),
    ("whsec_not base64!!", "not valid base64"),
    ("whsec_" + base64.b64encode(b"short").decode(), "24..64 bytes, not 5"),
    ("whsec_" + base64.b64encode(bytes(65)).decode(), "24..64 bytes, not 65"),
])
def test_malformed_secret_is_refused_clearly(secret: str, message: str) -> None:
    with pytest.raises(SecretError, match=re.escape(message)):
        WebhookSigner.from_secret(secret)


def test_unpadded_secret_is_accepted() -> None:
    key = bytes(range(32))
    unpadded = "whsec_" + base64.b64encode(key).decode().rstrip("=")
    assert WebhookSigner.from_secret(unpadded).key == key


def test_the_key_never_shows_in_repr(secret: str) -> None:
    assert secret[6:] not in repr(WebhookSigner.from_secret(secret))
