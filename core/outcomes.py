"""How a job ends: one stable, machine-readable code per outcome, and whether it is a success."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # The recording ended normally: status "done" with this reason.
    MEETING_ENDED = "meeting_ended"
    """The host ended the meeting, or the meeting page says it is over."""
    REMOVED_BY_HOST = "removed_by_host"
    """Removed after recording had started (before it, the job failed to record anything)."""
    EVERYONE_LEFT = "everyone_left"
    """The bot was the only participant for ``everyone_left_timeout`` seconds."""
    SILENCE_TIMEOUT = "silence_timeout"
    MAX_DURATION_REACHED = "max_duration_reached"
    STOPPED = "stopped"
    """Asked to stop: SIGTERM/SIGINT or the API."""
    RECORDING_INTERRUPTED = "recording_interrupted"
    """The bot was lost mid-meeting (killed with its host, or its server restarted without it):
    the recording is what it had stored, with a warning."""

    # The job failed: status "failed" with this code.
    INVALID_JOB = "invalid_job"
    INVALID_MEETING_URL = "invalid_meeting_url"
    INVALID_BOT_IMAGE = "invalid_bot_image"
    MEETING_NOT_FOUND = "meeting_not_found"
    LOGIN_REQUIRED = "login_required"
    BLOCKED_BY_PLATFORM = "blocked_by_platform"
    PASSCODE_REQUIRED = "passcode_required"
    PASSCODE_WRONG = "passcode_wrong"
    DENIED_ADMISSION = "denied_admission"
    WAITING_ROOM_TIMEOUT = "waiting_room_timeout"
    NOONE_JOINED_TIMEOUT = "noone_joined_timeout"
    STORAGE_ERROR = "storage_error"
    WORKER_LOST = "worker_lost"
    """The worker running the bot stopped sending heartbeats (crashed, killed, machine gone)."""
    SERVER_RESTARTED = "server_restarted"
    """The server restarted and the bot it had started was gone, having stored nothing."""
    INTERNAL_ERROR = "internal_error"

    @property
    def is_success(self) -> bool:
        return self in _NORMAL_ENDS


_NORMAL_ENDS = frozenset(
    {
        Outcome.MEETING_ENDED,
        Outcome.REMOVED_BY_HOST,
        Outcome.EVERYONE_LEFT,
        Outcome.SILENCE_TIMEOUT,
        Outcome.MAX_DURATION_REACHED,
        Outcome.STOPPED,
        Outcome.RECORDING_INTERRUPTED,
    }
)

MESSAGES: dict[Outcome, str] = {
    Outcome.MEETING_ENDED: "The meeting ended.",
    Outcome.REMOVED_BY_HOST: "The bot was removed from the meeting by the host.",
    Outcome.EVERYONE_LEFT: "Everyone else left the meeting.",
    Outcome.SILENCE_TIMEOUT: "Nobody spoke for too long.",
    Outcome.MAX_DURATION_REACHED: "The recording reached its maximum duration.",
    Outcome.STOPPED: "The recording was stopped on request.",
    Outcome.RECORDING_INTERRUPTED: "The bot was lost mid-meeting; the recording holds what it had stored.",
    Outcome.INVALID_JOB: "The recording job is malformed.",
    Outcome.INVALID_MEETING_URL: "The meeting URL is not a supported Google Meet, Zoom or Teams link.",
    Outcome.INVALID_BOT_IMAGE: "The bot image could not be fetched or is not a PNG or JPEG.",
    Outcome.MEETING_NOT_FOUND: "The meeting does not exist or its link has expired.",
    Outcome.LOGIN_REQUIRED: "The meeting requires a signed-in account.",
    Outcome.BLOCKED_BY_PLATFORM: "The platform refused to let the bot join.",
    Outcome.PASSCODE_REQUIRED: "The meeting requires a passcode.",
    Outcome.PASSCODE_WRONG: "The meeting passcode was rejected.",
    Outcome.DENIED_ADMISSION: "The host denied the bot's request to join.",
    Outcome.WAITING_ROOM_TIMEOUT: "Nobody admitted the bot from the waiting room in time.",
    Outcome.NOONE_JOINED_TIMEOUT: "Nobody else joined the meeting in time.",
    Outcome.STORAGE_ERROR: "The recording could not be stored.",
    Outcome.WORKER_LOST: "The worker recording the meeting was lost.",
    Outcome.SERVER_RESTARTED: "The server restarted and the bot it had started was gone.",
    Outcome.INTERNAL_ERROR: "The bot failed unexpectedly.",
}
