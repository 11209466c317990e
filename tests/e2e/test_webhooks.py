"""Callbacks from a real job: signed, never waited on, never lost, never sent to private addresses."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import standardwebhooks

from callbacks.receiver import CallbackReceiver, Reply
from callbacks.signing import generate_secret
from tests.conftest import meetbot_cmd, meetbot_env
from tests.e2e.bot_run import NO_SELFTEST
from tests.e2e.test_meet_recording import run_bot, scenario

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

SHORT = {"lobby": {"mode": "open"}, "consent_dialog": False,
         "speech": [{"speaker": "Alice", "at": 0.5, "text": "Hello there."}],
         "end": {"kind": "host_ended", "at": 3}}


async def test_job_callbacks_are_signed_and_verifiable(simulator: Any, meeting_code: str,
                                                       tmp_path: Path) -> None:
    secret = generate_secret()
    await simulator.add_scenario(scenario(meeting_code, **SHORT))
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, meeting_code, tmp_path / "rec", "--status-events",
                                env={**NO_SELFTEST, "MEETBOT_WEBHOOK_SECRET": secret})
        assert rc == 0, log[-2000:]
        await rx.wait_for(7, timeout=10)  # six phase changes, then the result
    verifier = standardwebhooks.Webhook(secret)
    ids = set()
    for got in rx.received:
        assert verifier.verify(got.body, got.headers)  # raises if the signature is wrong
        ids.add(got.headers["webhook-id"])
    assert len(ids) == len(rx.received)  # one id per logical event
    assert rx.received[-1].json()["success"] is True
    delivery = json.loads((tmp_path / "rec" / "delivery.json").read_text())
    assert delivery["delivered"] and delivery["attempts"][0]["status_code"] == 200


async def test_a_receiver_that_is_down_never_holds_the_job_and_loses_nothing(
    simulator: Any, meeting_code: str, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port nobody listens on, yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    env = {**NO_SELFTEST, "MEETBOT_DATA_DIR": str(data), "MEETBOT_CALLBACK_GRACE": "2",
           "MEETBOT_CALLBACK_RETRY_BASE_DELAY": "0.2"}
    await simulator.add_scenario(scenario(meeting_code, **SHORT))
    down = SimpleNamespace(url=f"http://127.0.0.1:{port}/callback")  # connection refused
    started = time.time()
    rc, log = await run_bot(simulator, down, meeting_code, tmp_path / "rec", env=env)
    finished = time.time()
    assert rc == 0, log[-2000:]
    assert (tmp_path / "rec" / "recording.mp4").exists()
    assert "left in the outbox" in log
    assert finished - started < 40
    pending = list((data / "outbox").glob("*.json"))
    assert len(pending) == 1
    # Later, once it is due again and the receiver is up, the outbox delivers the very same event.
    stored = json.loads(pending[0].read_text())
    due = stored["next_attempt_at"]
    await asyncio.sleep(max(0.0, due - time.time()))
    async with CallbackReceiver(port=port) as rx:
        proc = await asyncio.create_subprocess_exec(
            *meetbot_cmd(), "callbacks", "deliver", env=meetbot_env(**env),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()
        await rx.wait_for(1, timeout=10)
    body = rx.received[0].json()
    assert body["success"] is True and body["meeting_id"] == json.loads(
        (tmp_path / "rec" / "result.json").read_text())["meeting_id"]
    assert rx.received[0].headers["webhook-id"] == stored["id"]
    assert not list((data / "outbox").glob("*.json"))


async def test_private_addresses_are_refused_unless_allowed(simulator: Any, meeting_code: str,
                                                            tmp_path: Path) -> None:
    await simulator.add_scenario(scenario(meeting_code, **SHORT))
    async with CallbackReceiver(default=Reply(200)) as rx:
        # The image server and the receiver both sit on loopback; nothing allows it here.
        rc, _ = await run_bot(simulator, rx, meeting_code, tmp_path / "rec",
                              image=rx.url.replace("/callback", "/img.png"),
                              env={**NO_SELFTEST, "MEETBOT_ALLOW_PRIVATE_URLS": ""})
        await asyncio.sleep(0.5)
    assert rc == 1
    result = json.loads((tmp_path / "rec" / "result.json").read_text())
    assert result["error_code"] == "invalid_job" and "callback_url refused" in result["error"]
    assert "loopback" in result["error"] or "127.0.0.1" in result["error"]
    assert rx.received == []  # neither the image fetch nor the callback reached it
