"""A durable outbox: one JSON file per delivery, so a process that exits loses nothing.

    DIR/<id>.json              pending: due at ``next_attempt_at``
    DIR/dead/<id>.json         dead letters (window expired, gone, rejected, unsafe URL)
    DIR/delivered/<id>.json    delivered (kept for inspection; ``prune_delivered`` removes them)
    DIR/.locks/<id>.lock       held (flock) by the process delivering it
    DIR/.receivers/<hash>.json when a receiver (scheme, host, port) was last tried and last
                               answered 2xx: every process that delivers to it reads and writes it

Every write is a temp file + fsync + rename, so a file is always whole. Moving between folders
writes the new file before removing the old one: a crash in between sends the event again with
the same webhook-id (at least once; receivers dedupe on the id), never zero times.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError

from callbacks.signing import new_message_id


class State(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class DeadReason(StrEnum):
    WINDOW_EXPIRED = "window_expired"
    GONE = "gone"
    """HTTP 410: the receiver asked us to stop for good."""
    REJECTED = "rejected"
    """Any other 4xx (or a redirect, which is not followed): retrying would not help."""
    UNSAFE_URL = "unsafe_url"


class Attempt(BaseModel):
    at: float
    status_code: int | None = None
    error: str | None = None
    latency_ms: float


class Delivery(BaseModel):
    id: str
    """The ``webhook-id``: the same on every attempt and after a redelivery."""
    url: str
    event: str
    """``callback`` (the final result) or ``status_change``."""
    meeting_id: str
    body: str
    """The exact JSON text sent (and signed) on every attempt."""
    created_at: float
    deadline: float
    """No attempt starts after this: the retry window."""
    attempts: list[Attempt] = Field(default_factory=list)
    failures: int = 0
    """Failed attempts in the current window (backoff grows with it; a redelivery resets it)."""
    next_attempt_at: float
    state: State = State.PENDING
    reason: DeadReason | None = None
    detail: str | None = None
    """Why it ended dead, in words (the last status or error)."""

    @classmethod
    def new(cls, *, url: str, body: dict[str, Any] | str, event: str, meeting_id: str,
            window: float, now: float | None = None, id: str | None = None) -> Delivery:
        t = time.time() if now is None else now
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        return cls(id=id or new_message_id(), url=url, event=event, meeting_id=meeting_id,
                   body=text, created_at=t, deadline=t + window, next_attempt_at=t)


def receiver_of(url: str) -> str:
    """The receiver a URL delivers to: ``scheme://host:port``, the port made explicit."""
    try:
        u = urlsplit(url)
        port = u.port or {"http": 80, "https": 443}.get(u.scheme)
    except ValueError:
        return url
    return f"{u.scheme}://{u.hostname}:{port}" if u.hostname else url


class Receiver(BaseModel):
    """What every process delivering to one receiver has seen of it."""

    origin: str
    last_attempt_at: float = 0.0
    last_ok_at: float = 0.0
    """The last 2xx from it: a pending event that failed before this can go now."""


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a power cut
    finally:
        os.close(dir_fd)


class Outbox:
    """Synchronous and quick (small files); async callers wrap writes in ``asyncio.to_thread``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._dirs = {State.PENDING: self.root, State.DEAD: self.root / "dead",
                      State.DELIVERED: self.root / "delivered"}
        self._receivers = self.root / ".receivers"
        for d in (*self._dirs.values(), self.root / ".locks", self._receivers):
            d.mkdir(parents=True, exist_ok=True)

    def _path(self, state: State, id: str) -> Path:
        if not id or "/" in id or id.startswith("."):
            raise ValueError(f"not a delivery id: {id!r}")
        return self._dirs[state] / f"{id}.json"

    def save(self, d: Delivery) -> None:
        """Write ``d`` into the folder of its state and remove it from the others."""
        _write_atomic(self._path(d.state, d.id), d.model_dump_json(indent=2).encode())
        for state in State:
            if state is not d.state:
                self._path(state, d.id).unlink(missing_ok=True)

    def get(self, id: str) -> Delivery | None:
        for state in State:
            with contextlib.suppress(FileNotFoundError):
                return Delivery.model_validate_json(self._path(state, id).read_bytes())
        return None

    def entries(self, state: State = State.PENDING) -> list[Delivery]:
        out = []
        for p in sorted(self._dirs[state].glob("*.json")):
            # Vanished (another process moved it) or unreadable: skip, never crash the lister.
            with contextlib.suppress(FileNotFoundError, ValidationError):
                out.append(Delivery.model_validate_json(p.read_bytes()))
        return sorted(out, key=lambda d: (d.next_attempt_at, d.created_at))

    def due(self, now: float | None = None) -> list[Delivery]:
        t = time.time() if now is None else now
        return [d for d in self.entries(State.PENDING) if d.next_attempt_at <= t]

    def requeue(self, id: str, *, window: float, now: float | None = None) -> Delivery:
        """Move a dead letter back to pending with a fresh window; its webhook-id is kept."""
        d = self.get(id)
        if d is None:
            raise KeyError(f"no delivery {id!r} in {self.root}")
        if d.state is State.DELIVERED:
            raise ValueError(f"delivery {id!r} was already delivered")
        t = time.time() if now is None else now
        d.state, d.reason, d.detail, d.failures = State.PENDING, None, None, 0
        d.deadline, d.next_attempt_at = t + window, t
        self.save(d)
        return d

    def note_attempt(self, url: str, *, ok: bool, at: float) -> Receiver:
        """Record an attempt to ``url``'s receiver; the newest times win across processes."""
        origin = receiver_of(url)
        path = self._receivers / f"{hashlib.sha256(origin.encode()).hexdigest()[:24]}.json"
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # read-modify-write: one process at a time
            try:
                r = Receiver.model_validate_json(path.read_bytes())
            except (FileNotFoundError, ValidationError):
                r = Receiver(origin=origin)
            r.last_attempt_at = max(r.last_attempt_at, at)
            if ok:
                r.last_ok_at = max(r.last_ok_at, at)
            # No fsync: a lost note only delays a flush to the next attempt.
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(r.model_dump_json())
            os.replace(tmp, path)
        return r

    def receivers(self) -> dict[str, Receiver]:
        out: dict[str, Receiver] = {}
        for p in self._receivers.glob("*.json"):
            with contextlib.suppress(FileNotFoundError, ValidationError):
                r = Receiver.model_validate_json(p.read_bytes())
                out[r.origin] = r
        return out

    def prune_delivered(self, older_than: float, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - older_than
        gone = 0
        for p in self._dirs[State.DELIVERED].glob("*.json"):
            if p.stat().st_mtime < cutoff:
                p.unlink(missing_ok=True)
                (self.root / ".locks" / f"{p.stem}.lock").unlink(missing_ok=True)
                gone += 1
        return gone

    @contextlib.contextmanager
    def claim(self, id: str) -> Iterator[bool]:
        """Hold ``id`` for this process; False if another one holds it. The OS drops the lock on exit."""
        lock = self.root / ".locks" / f"{id}.lock"
        with open(lock, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
