"""The outbox on disk: atomic files, one folder per state, redelivery, locking, pruning."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from callbacks.outbox import DeadReason, Delivery, Outbox, State, receiver_of

pytestmark = pytest.mark.unit


def _delivery(**kw: object) -> Delivery:
    return Delivery.new(url="https://example.com/cb", body={"b": 1, "a": [1, 2]}, event="callback",
                        meeting_id="m-1", window=60, **kw)  # type: ignore[arg-type]


def test_a_delivery_moves_between_folders(outbox: Outbox) -> None:
    d = _delivery()
    outbox.save(d)
    assert (outbox.root / f"{d.id}.json").exists()
    on_disk = json.loads((outbox.root / f"{d.id}.json").read_text())
    assert set(on_disk) >= {"id", "url", "event", "meeting_id", "body", "created_at", "deadline",
                            "attempts", "next_attempt_at", "state"}
    assert json.loads(on_disk["body"]) == {"b": 1, "a": [1, 2]}

    d.state, d.reason, d.detail = State.DEAD, DeadReason.REJECTED, "HTTP 400"
    outbox.save(d)
    assert not (outbox.root / f"{d.id}.json").exists()
    assert (outbox.root / "dead" / f"{d.id}.json").exists()
    assert outbox.entries(State.PENDING) == [] and outbox.entries(State.DEAD) == [d]
    assert outbox.get(d.id) == d
    assert not [p for p in outbox.root.rglob("*.tmp")]


def test_requeue_keeps_the_id_and_gives_a_fresh_window(outbox: Outbox) -> None:
    d = _delivery(now=time.time() - 3600)
    d.state, d.reason, d.failures = State.DEAD, DeadReason.WINDOW_EXPIRED, 7
    outbox.save(d)
    again = outbox.requeue(d.id, window=120)
    assert again.id == d.id and again.body == d.body and again.state is State.PENDING
    assert again.reason is None and again.failures == 0
    assert again.deadline > time.time() + 100 and again.next_attempt_at <= time.time()
    assert outbox.due() == [again] and outbox.entries(State.DEAD) == []


def test_requeue_refuses_unknown_and_delivered(outbox: Outbox) -> None:
    with pytest.raises(KeyError, match="no delivery 'msg_nope'"):
        outbox.requeue("msg_nope", window=1)
    d = _delivery()
    d.state = State.DELIVERED
    outbox.save(d)
    with pytest.raises(ValueError, match="already delivered"):
        outbox.requeue(d.id, window=1)


def test_a_broken_file_does_not_break_the_listing(outbox: Outbox) -> None:
    good = _delivery()
    outbox.save(good)
    (outbox.root / "msg_broken.json").write_text("{not json")
    assert outbox.entries() == [good]


@pytest.mark.parametrize("bad", ["", "../escape", ".hidden", "a/b"])
def test_ids_cannot_escape_the_folder(outbox: Outbox, bad: str) -> None:
    with pytest.raises(ValueError, match="not a delivery id"):
        outbox.get(bad)


def test_claim_is_exclusive(outbox: Outbox) -> None:
    with outbox.claim("msg_1") as first:
        with outbox.claim("msg_1") as second, outbox.claim("msg_2") as other:
            assert (first, second, other) == (True, False, True)
    with outbox.claim("msg_1") as again:
        assert again


def test_prune_removes_only_old_delivered(outbox: Outbox) -> None:
    old, new, pending = _delivery(), _delivery(), _delivery()
    for d in (old, new):
        d.state = State.DELIVERED
    for d in (old, new, pending):
        outbox.save(d)
    past = time.time() - 7200
    os.utime(outbox.root / "delivered" / f"{old.id}.json", (past, past))
    assert outbox.prune_delivered(3600) == 1
    assert [d.id for d in outbox.entries(State.DELIVERED)] == [new.id]
    assert outbox.entries(State.PENDING) == [pending]


@pytest.mark.parametrize(("url", "origin"), [
    ("https://hooks.example.com/a/b?x=1", "https://hooks.example.com:443"),
    ("HTTP://Hooks.Example.com:8080/cb", "http://hooks.example.com:8080"),
    ("http://127.0.0.1/cb", "http://127.0.0.1:80"),
    ("http://[::1]:9000/cb", "http://::1:9000"),
    ("not a url", "not a url"),
])
def test_a_receiver_is_its_scheme_host_and_port(url: str, origin: str) -> None:
    assert receiver_of(url) == origin


def test_receiver_notes_keep_the_newest_times(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox")
    box.note_attempt("http://h:1/a", ok=True, at=100.0)
    box.note_attempt("http://h:1/b", ok=False, at=90.0)  # an older attempt reported late
    box.note_attempt("http://h:1/c", ok=False, at=120.0)
    [r] = Outbox(box.root).receivers().values()
    assert (r.origin, r.last_ok_at, r.last_attempt_at) == ("http://h:1", 100.0, 120.0)
