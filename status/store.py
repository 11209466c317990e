"""The status store's records and interface: one record per meeting, shared by the API and the bots.

A small interface so the SQLite implementation (one machine) and the Redis one (bots on other
machines) are interchangeable. Writers: the API (create), the bot process (phases, heartbeats,
result) and the launchers (crashes, leave before start). Readers: the API and the player pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field

from core.lifecycle import Phase, Status


class PhaseMark(BaseModel):
    phase: str
    at: float


class Result(BaseModel):
    """How a job ended: what the bot's result payload (or the pool, for a crash) says."""

    status: Status
    reason: str
    error: str | None = None
    speaker_timeline: list[dict[str, Any]] | None = None
    stream_url: str | None = None
    player_url: str | None = None
    recording_url: str | None = None
    duration: float | None = None


class MeetingRecord(BaseModel):
    meeting_id: str
    video_id: str
    collection_id: str = "default"
    meeting_url: str
    bot_name: str
    meeting_title: str | None = None
    time_zone: str = "UTC"
    callback_url: str | None = None
    callback_data: dict[str, Any] = Field(default_factory=dict)
    output_dir: str
    storage: str | None = None
    """Where its files are (a ``storage.location`` URI); None for records from before it existed:
    then ``output_dir``."""
    rtstream_id: str | None = None
    join_at: float | None = None
    """When the bot is to be in the meeting (phase ``scheduled`` until its bot starts)."""
    job: dict[str, Any] | None = None
    """The job as submitted, every option (a bot started later, by another server, runs it);
    None for records from before it was kept: then the fields above."""
    capture: dict[str, Any] = Field(default_factory=dict)
    """The job's capture options (``audio_only``, ``video_width``/``_height``/``_fps``) that were
    set, so a requeued or settled meeting keeps them."""
    """The RTStream of its capture."""
    status: Status = Status.INITIALIZING
    phase: str = Phase.CREATED.value
    reason: str | None = None
    error: str | None = None
    phases: list[PhaseMark] = Field(default_factory=list)
    speaker_timeline: list[dict[str, Any]] | None = None
    stream_url: str | None = None
    player_url: str | None = None
    recording_url: str | None = None
    duration: float | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    @property
    def is_terminal(self) -> bool:
        return self.status in (Status.DONE, Status.FAILED)

    @property
    def storage_uri(self) -> str:
        from pathlib import Path

        return self.storage or Path(self.output_dir).resolve().as_uri()

    def with_phase(self, phase: Phase, at: float, urls: dict[str, str] | None = None) -> MeetingRecord:
        """This record after a phase change; terminal phases wait for ``with_result``."""
        if self.is_terminal:
            return self
        update: dict[str, Any] = {"phase": phase.value, "updated_at": time.time(),
                                  "phases": [*self.phases, PhaseMark(phase=phase.value, at=at)]}
        if not phase.is_terminal:
            update["status"] = phase.status
        return self.model_copy(update={**update, **(urls or {})})

    def claimed(self, at: float) -> MeetingRecord:
        """A scheduled record whose bot is being started now (``created``, marked at ``at``)."""
        if self.phase != Phase.SCHEDULED.value:
            return self
        return self.with_phase(Phase.CREATED, at)

    def with_result(self, result: Result) -> MeetingRecord:
        if self.is_terminal:
            return self
        phase = Phase.DONE if result.status is Status.DONE else Phase.FAILED
        fields = result.model_dump(exclude_none=True)
        marks = self.phases if self.phase == phase.value else [
            *self.phases, PhaseMark(phase=phase.value, at=time.time())]
        return self.model_copy(update={**fields, "phase": phase.value, "phases": marks,
                                       "updated_at": time.time()})


class StatusStore(Protocol):
    async def create(self, record: MeetingRecord) -> None: ...

    async def get(self, meeting_id: str) -> MeetingRecord | None: ...

    async def get_by_video(self, video_id: str) -> MeetingRecord | None: ...

    async def record_phase(self, meeting_id: str, phase: Phase, at: float,
                           urls: dict[str, str] | None = None) -> MeetingRecord | None:
        """Move a live record to ``phase`` (status follows); ignored once the record has ended."""
        ...

    async def finish(self, meeting_id: str, result: Result) -> bool:
        """End the record with ``result``; False (and no change) if it had already ended."""
        ...

    async def active(self) -> list[MeetingRecord]:
        """Records not yet done or failed, oldest first."""
        ...

    async def claim_scheduled(self, meeting_id: str, at: float) -> MeetingRecord | None:
        """Move a ``scheduled`` record to ``created``; the record if this caller did it, None if
        it was not scheduled (any more): of several servers, one starts its bot."""
        ...

    async def recent(self, limit: int) -> list[MeetingRecord]:
        """The last ``limit`` records created, whatever their status, newest first."""
        ...

    async def beat(self, meeting_id: str, owner: str, ttl: float,
                   figures: dict[str, Any] | None = None) -> None:
        """``owner`` (a bot process) is alive and running the meeting for ``ttl`` more seconds;
        ``figures``: what it measures of itself (launcher, phase, CPU, memory, losses)."""
        ...

    async def live_bots(self) -> dict[str, dict[str, Any]]:
        """Meeting id -> the figures of its bot, for every heartbeat within its TTL that had any."""
        ...

    async def heartbeat_of(self, meeting_id: str) -> str | None:
        """Whoever renewed the meeting's heartbeat within its TTL, or None."""
        ...

    async def aclose(self) -> None: ...

    # -- other records (streams, exported videos, indexes): JSON documents by kind ---------------
    async def put_doc(self, kind: str, doc_id: str, body: str, created_at: float) -> None:
        """Create or replace (its place in ``list_docs`` stays where it was created)."""
        ...

    async def get_doc(self, kind: str, doc_id: str) -> str | None: ...

    async def update_doc(self, kind: str, doc_id: str,
                         change: Callable[[str], str]) -> tuple[str, str] | None:
        """Apply ``change`` atomically (other writers wait or retry); (before, after) or None."""
        ...

    async def list_docs(self, kind: str) -> list[str]:
        """Every document of ``kind``, oldest first."""
        ...
