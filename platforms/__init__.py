"""Platform adapters: one module per meeting platform, every selector and text inside it."""

from __future__ import annotations

from core.errors import JoinError
from core.outcomes import Outcome
from platforms.base import MeetingRef, PlatformAdapter
from platforms.google_meet import GoogleMeetAdapter
from platforms.teams import TeamsAdapter
from platforms.zoom import ZoomAdapter

ADAPTERS: tuple[type[PlatformAdapter], ...] = (GoogleMeetAdapter, ZoomAdapter, TeamsAdapter)


def resolve(url: str) -> tuple[type[PlatformAdapter], MeetingRef]:
    """The adapter for a meeting URL and the canonical meeting; JoinError(invalid_meeting_url)."""
    for adapter in ADAPTERS:
        ref = adapter.parse_url(url)
        if ref is not None:
            return adapter, ref
    raise JoinError(
        Outcome.INVALID_MEETING_URL,
        "unsupported meeting URL: expected a Google Meet, Zoom or Microsoft Teams meeting link",
    )


__all__ = [
    "ADAPTERS", "GoogleMeetAdapter", "MeetingRef", "PlatformAdapter", "TeamsAdapter", "ZoomAdapter",
    "resolve",
]
