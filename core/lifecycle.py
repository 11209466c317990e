"""Job phases, the legal moves between them, and the four statuses the VideoDB API exposes."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class Status(StrEnum):
    INITIALIZING = "initializing"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class Phase(StrEnum):
    SCHEDULED = "scheduled"          # waiting for its join_at; no bot yet
    CREATED = "created"              # job validated, nothing started
    STARTING = "starting"            # display, audio sink, browser coming up
    JOINING = "joining"              # page loaded, pre-join form being filled
    IN_WAITING_ROOM = "in_waiting_room"  # asked to join, not admitted yet
    IN_CALL_RECORDING = "in_call_recording"  # admitted; ffmpeg running
    LEAVING = "leaving"              # clicking leave, stopping ffmpeg
    UPLOADING = "uploading"          # remuxing and storing the final files
    DONE = "done"
    FAILED = "failed"

    @property
    def status(self) -> Status:
        return _STATUS[self]

    @property
    def is_terminal(self) -> bool:
        return self in (Phase.DONE, Phase.FAILED)


_STATUS = {
    Phase.SCHEDULED: Status.INITIALIZING,
    Phase.CREATED: Status.INITIALIZING,
    Phase.STARTING: Status.INITIALIZING,
    Phase.JOINING: Status.INITIALIZING,
    Phase.IN_WAITING_ROOM: Status.INITIALIZING,
    Phase.IN_CALL_RECORDING: Status.PROCESSING,
    Phase.LEAVING: Status.PROCESSING,
    Phase.UPLOADING: Status.PROCESSING,
    Phase.DONE: Status.DONE,
    Phase.FAILED: Status.FAILED,
}

_MOVES: dict[Phase, frozenset[Phase]] = {
    Phase.SCHEDULED: frozenset({Phase.CREATED, Phase.FAILED}),
    Phase.CREATED: frozenset({Phase.STARTING, Phase.FAILED}),
    Phase.STARTING: frozenset({Phase.JOINING, Phase.FAILED}),
    Phase.JOINING: frozenset({Phase.IN_WAITING_ROOM, Phase.IN_CALL_RECORDING, Phase.LEAVING,
                              Phase.FAILED}),
    Phase.IN_WAITING_ROOM: frozenset({Phase.IN_CALL_RECORDING, Phase.LEAVING, Phase.FAILED}),
    Phase.IN_CALL_RECORDING: frozenset({Phase.LEAVING, Phase.FAILED}),
    Phase.LEAVING: frozenset({Phase.UPLOADING, Phase.FAILED}),
    Phase.UPLOADING: frozenset({Phase.DONE, Phase.FAILED}),
    Phase.DONE: frozenset(),
    Phase.FAILED: frozenset(),
}


UNSTARTED = frozenset({Phase.SCHEDULED.value, Phase.CREATED.value})
"""A stored meeting in one of these phases has no bot yet: nothing to adopt, no heartbeat due."""


class IllegalTransition(RuntimeError):
    pass


Listener = Callable[[Phase, Phase, float], None]


class JobStateMachine:
    """Holds one job's phase; only the runner moves it. Listeners hear every change."""

    def __init__(self) -> None:
        self.phase = Phase.CREATED
        self.history: list[tuple[Phase, float]] = [(Phase.CREATED, time.time())]
        self._listeners: list[Listener] = []

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def move(self, new: Phase) -> None:
        old = self.phase
        if new == old:
            return
        if new not in _MOVES[old]:
            if old.is_terminal:
                raise IllegalTransition(f"job already ended as {old.value}; cannot move to {new.value}")
            raise IllegalTransition(f"cannot move from {old.value} to {new.value}")
        self.phase = new
        at = time.time()
        self.history.append((new, at))
        for listener in self._listeners:
            listener(old, new, at)

    def entered_at(self, phase: Phase) -> float | None:
        for p, at in self.history:
            if p == phase:
                return at
        return None
