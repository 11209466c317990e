"""The recording job: the contract between whoever asks for a recording and the worker."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from core.errors import JobError
from core.outcomes import Outcome


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


CALLBACK_DATA_MAX_BYTES = 64 * 1024


def parse_join_at(v: object) -> float | None:
    """Unix seconds, or ISO 8601 with its zone (``2026-12-07T09:30:00+01:00``, ``...Z``)."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("join_at must be Unix seconds or ISO 8601 with a zone")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, datetime):
        when = v
    elif isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(v.strip())
        except ValueError as exc:
            raise ValueError(f"join_at {v!r} is neither Unix seconds nor ISO 8601") from exc
    else:
        raise ValueError("join_at must be Unix seconds or ISO 8601 with a zone")
    if when.tzinfo is None:
        raise ValueError(f"join_at {v!r} has no zone: say which (Z, +01:00, ...)")
    return when.timestamp()


CHAT_ON_JOIN_MAX_CHARS = 4000
"""The longest join notice a job may give (a few messages at the platforms' limits)."""


class Job(BaseModel):
    """One meeting to record. Field names follow VideoDB's ``record_meeting``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meeting_url: str = Field(min_length=1, max_length=4096)
    bot_name: str = Field("Meeting Recorder", min_length=1, max_length=100)
    bot_image_url: HttpUrl | None = None
    meeting_title: str | None = Field(None, max_length=500)
    callback_url: HttpUrl | None = None
    callback_data: dict[str, Any] = Field(default_factory=dict)
    time_zone: str = "UTC"
    transcribe: bool = False
    """After the meeting, transcribe the recording (a niced process, the engine
    ``MEETBOT_WHISPER_MODEL`` names) and give each word to the speaker the timeline shows:
    transcript.json, captions.vtt, the stream's subtitles and the callback's ``transcript``. The
    callback waits for it."""
    live_transcript: bool = False
    """While the meeting is on, transcribe each utterance once it is over (the sound up to a
    pause, from the stored segments): ``transcript.data`` events, in order, numbered from 1, on
    ``meetbot serve``'s ``GET .../meeting/{id}/events`` and, with ``transcript_events``, as webhooks."""
    transcript_source: Literal["local", "captions", "both"] = "local"
    """Where the transcript comes from, live and after the call: ``local`` the engine
    ``MEETBOT_WHISPER_MODEL`` names; ``captions`` the platform's own captions, turned on once
    admitted (the local engine where the page has none or refuses them, with a warning); ``both``
    the captions live and the local engine after the call, as the recording's transcript and a
    check of the captions (stats.json ``captions_vs_local_wer``)."""
    captions_language: str | None = Field(None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
    """The captions' language (BCP 47, ``en-US``), where the platform lets a guest choose it."""
    read_chat: bool = False
    """Open the meeting's chat once admitted and read it: ``chat_messages`` in the callback,
    ``chat.message`` live events (the panel then shows in the recording, as it does for a guest)."""
    chat_on_join: str | None = Field(None, min_length=1, max_length=CHAT_ON_JOIN_MAX_CHARS)
    """A message the bot posts in the chat once admitted (a recording notice), in parts where it is
    past the platform's limit; a chat closed to guests is said in the warnings."""
    transcript_events: bool = False
    """POST each ``transcript.data`` event to ``callback_url`` too (signed, retried, in order)."""
    status_events: bool = False
    """Also POST a ``status_change`` event to ``callback_url`` at every phase change."""

    # What is captured (unset: the settings' defaults, 1280x720 at 15 fps). Costs on this
    # 2-core machine are in the README ("What a bot costs").
    audio_only: bool = False
    """Record the sound only: no screen capture, no video encode (about a third of a bot's CPU);
    the callback's ``data`` is the same, ``player_url`` is None."""
    video_width: int | None = Field(None, ge=320, le=3840)
    video_height: int | None = Field(None, ge=240, le=2160)
    video_fps: int | None = Field(None, ge=1, le=60)

    join_at: float | None = None
    """When to be in the meeting (Unix seconds; ISO 8601 with a zone is accepted too): the bot
    starts before it, gets ready, and asks to join at this time. Unset or past: at once."""
    join_lead: float = Field(2.0, ge=0, le=120)
    """Seconds before ``join_at`` the bot starts its join flow (loads the meeting page, fills the
    name), so that it asks to join at ``join_at``; a scheduler sets it from past joins."""

    meeting_id: str = Field(default_factory=lambda: new_id("mt"))
    video_id: str = Field(default_factory=lambda: new_id("m"))
    output_dir: Path | None = None
    """Local store directory for this job; default ``<settings.output_dir>/<meeting_id>``."""
    storage_uri: str | None = Field(None, max_length=2048)
    """Where the recording goes when not a local directory (``s3://bucket/prefix``); set by the
    server from its storage settings."""
    rtstream_id: str | None = Field(None, max_length=64)
    """The RTStream of this meeting's capture: its ``stop``/``start`` pause and resume the
    recording (a server sets it)."""

    # Auto-leave rules, in seconds.
    waiting_room_timeout: float = Field(600, gt=0)
    """Fail with waiting_room_timeout after this long in the lobby (Meeting BaaS and Vexa use 300-600)."""
    noone_joined_timeout: float = Field(600, gt=0)
    """Fail (noone_joined_timeout) when nobody else has been in the call this long after admission."""
    everyone_left_timeout: float = Field(60, gt=0)
    """Leave (done, everyone_left) after being the only participant this long, once others were seen."""
    silence_timeout: float = Field(900, gt=0)
    """Leave (done, silence_timeout) after this long without sound on the bot's sink."""
    max_duration: float = Field(4 * 3600, gt=0)
    """Leave (done, max_duration_reached) after recording this long."""

    @field_validator("video_width", "video_height")
    @classmethod
    def _even(cls, v: int | None) -> int | None:
        if v is not None and v % 2:
            raise ValueError("must be even (the encoder's 4:2:0 sampling needs it)")
        return v

    @field_validator("bot_name")
    @classmethod
    def _clean_name(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("bot_name must not be blank")
        return v

    @field_validator("join_at", mode="before")
    @classmethod
    def _join_at(cls, v: object) -> float | None:
        return parse_join_at(v)

    @field_validator("callback_data", mode="before")
    @classmethod
    def _null_data(cls, v: object) -> object:
        return {} if v is None else v

    @field_validator("callback_data")
    @classmethod
    def _bounded_data(cls, v: dict[str, Any]) -> dict[str, Any]:
        # It is echoed into every webhook: a few KB of the caller's ids, not a payload store.
        # JSON has no Infinity or NaN: such a value would reach the receiver as null.
        try:
            size = len(json.dumps(v, separators=(",", ":"), allow_nan=False).encode())
        except ValueError as exc:
            raise ValueError("callback_data holds a number JSON cannot carry (Infinity or NaN)") from exc
        if size > CALLBACK_DATA_MAX_BYTES:
            raise ValueError(f"callback_data is {size} bytes as JSON; at most {CALLBACK_DATA_MAX_BYTES}")
        return v

    @classmethod
    def parse(cls, raw: str | bytes | dict[str, Any]) -> Job:
        """Validate a job from JSON or a mapping; a malformed job raises JobError(invalid_job)."""
        try:
            if isinstance(raw, str | bytes):
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise JobError(Outcome.INVALID_JOB, "a job must be a JSON object")
                return cls.model_validate(data)
            return cls.model_validate(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise JobError(Outcome.INVALID_JOB, f"job is not valid JSON: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'job'}: {e['msg']}" for e in exc.errors()
            )
            raise JobError(Outcome.INVALID_JOB, f"invalid job: {problems}") from exc
