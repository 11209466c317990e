"""Errors the bot reports, split by who handles them.

    MeetbotError(code, message)      every error carries an Outcome code and a human message
    ├── JobError                     the job itself is unusable (bad fields, bad URL, broken avatar)
    ├── JoinError                    the meeting would not let the bot in (raised by platform adapters)
    ├── RecordingError               display, audio, browser or ffmpeg failed
    └── StorageError                 the store refused a write

Third-party exceptions are converted at the boundary with ``raise X(...) from exc``.
"""

from __future__ import annotations

from core.outcomes import Outcome


class MeetbotError(Exception):
    def __init__(self, code: Outcome, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class JobError(MeetbotError):
    pass


class JoinError(MeetbotError):
    pass


class RecordingError(MeetbotError):
    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INTERNAL_ERROR, message)


class StorageError(MeetbotError):
    def __init__(self, message: str, *, full: bool = False) -> None:
        super().__init__(Outcome.STORAGE_ERROR, message)
        self.full = full
        """The store has no room left (not an outage that may pass)."""
