"""Callback bodies. The first keys are VideoDB's, unchanged; the rest are our documented extras."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

SUCCESS_MESSAGE = "Meeting recording completed."
FAILURE_MESSAGE = "Failed to record meeting."


class SpeakerSegment(BaseModel):
    """One turn of one speaker, in seconds on the recording's clock."""

    speaker_name: str
    start_time_seconds: float
    end_time_seconds: float


class Pause(BaseModel):
    """A stretch cut out of the recording: its RTStream was stopped, then started again."""

    at: float
    """Seconds on the recording's clock where the pause was cut out."""
    duration: float
    """Wall-clock seconds the recording was paused."""


class TranscriptLine(BaseModel):
    """One utterance: consecutive words of one speaker (None: nobody was shown speaking)."""

    speaker: str | None
    start: float
    """Seconds on the recording's clock."""
    end: float
    text: str


class RecordingData(BaseModel):
    video_id: str
    speaker_timeline: list[SpeakerSegment]
    stream_url: str | None
    """The HLS playlist in the store; with a transcript, a multivariant playlist that has it as
    the stream's subtitles (WebVTT)."""
    player_url: str | None = None
    """A page that plays the recording; null until a server hosts one."""


class _Extras(BaseModel):
    meeting_id: str
    callback_data: dict[str, Any] = Field(default_factory=dict)
    """Echoed from the job, untouched."""
    status: Literal["done", "failed"]
    reason: str
    """Stable code of how the job ended (meeting_ended, stopped, denied_admission, ...)."""
    meeting_url: str
    bot_name: str
    meeting_title: str | None = None
    duration: float | None = None
    """Seconds of recording."""
    recording_started_at: float | None = None
    """Wall-clock time (Unix seconds) of the recording's t=0: timeline times are relative to it."""
    recording_url: str | None = None
    """The MP4 in the store."""
    rtstream_id: str | None = None
    """The RTStream of the capture (its ``stop``/``start`` paused and resumed the recording)."""
    pauses: list[Pause] = Field(default_factory=list)
    """Where the recording was paused; the video has these cut out and the timeline matches."""
    transcript: list[TranscriptLine] | None = None
    """With ``transcribe`` on the job: who said what (also transcript.json, captions.vtt)."""
    chat_messages: list[ChatMessage] = Field(default_factory=list)
    """With ``read_chat``: the meeting's chat as the bot saw it, the bot's own posts marked."""
    av_offset_ms: float | None = None
    """How much later than its picture this recording's sound reached the bot (measured before
    joining; positive: the sound late). Null when it could not be measured."""
    av_correction_ms: float | None = None
    """How much earlier the sound was placed to match its picture, in the MP4, the HLS stream and
    the timeline (0: none applied)."""
    warnings: list[str] = Field(default_factory=list)


class SuccessPayload(_Extras):
    success: Literal[True] = True
    message: str = SUCCESS_MESSAGE
    data: RecordingData


class FailurePayload(_Extras):
    success: Literal[False] = False
    message: str = FAILURE_MESSAGE
    error_code: str
    error: str
    """Human-readable cause; ``message`` stays VideoDB's fixed text."""
    data: RecordingData | None = None
    """Whatever was recorded before the failure, so nothing is lost."""


CallbackPayload = SuccessPayload | FailurePayload


class StatusChangeEvent(BaseModel):
    """Sent at each phase change when the job asks for ``status_events``; the final result follows."""

    event: Literal["status_change"] = "status_change"
    meeting_id: str
    callback_data: dict[str, Any] = Field(default_factory=dict)
    status: Literal["initializing", "processing", "done", "failed"]
    phase: str
    """starting, joining, in_waiting_room, in_call_recording, leaving, uploading, done, failed."""
    previous_phase: str
    at: float
    """Unix time of the change."""


class LiveUtterance(BaseModel):
    speaker: str | None
    start: float
    end: float
    """Seconds on the recording's clock (``recording_started_at`` + these: Unix time)."""
    text: str
    source: Literal["local", "captions"] = "local"
    """What transcribed it: the local engine (``MEETBOT_WHISPER_MODEL``) or the platform's own
    captions (the job's ``transcript_source``)."""


class SpeakerChange(BaseModel):
    speaker: str
    speaking: bool
    at: float
    """Seconds on the recording's clock the page showed it."""


class ChatMessage(BaseModel):
    sender: str | None
    """The name the page shows (None where it shows none)."""
    text: str
    at: float
    """Seconds on the recording's clock the bot first saw it (the pages show minutes only)."""
    from_bot: bool = False
    """The bot posted it (its ``chat_on_join`` notice, in as many parts as the limit took)."""


class ParticipantCount(BaseModel):
    count: int
    """Participants the page shows, the bot among them."""
    at: float


LiveKind = Literal["transcript.data", "speaker.changed", "participants.changed", "chat.message"]
LiveData = LiveUtterance | SpeakerChange | ParticipantCount | ChatMessage


class LiveEvent(BaseModel):
    """What happens in the meeting while it is on: an utterance transcribed (``transcript.data``,
    with ``live_transcript``), a speaker starting or stopping, the number of participants, a chat
    message someone else posted (with ``read_chat``). ``seq``
    counts a meeting's events from 1 in the order the bot had them (an utterance comes once it
    is over, after its speaker's changes)."""

    event: LiveKind
    meeting_id: str
    callback_data: dict[str, Any] = Field(default_factory=dict)
    seq: int
    recording_started_at: float | None
    """Unix time of the recording's t=0 (None: its first frame not yet captured)."""
    data: LiveData
    at: float
    """Unix time the bot had it."""


def to_wire(payload: CallbackPayload) -> dict[str, Any]:
    """JSON body with VideoDB's keys first."""
    body = payload.model_dump(mode="json")
    head = {k: body.pop(k) for k in ("success", "message", "data") if k in body}
    if head.get("data") is None and not payload.success:
        head.pop("data", None)
    return {**head, **body}


class AlertEvent(BaseModel):
    """An RTStream alert: a new index record matched an event. POSTed, signed like every callback,
    to the alert's ``callback_url``. Times are Unix seconds, as everywhere on a stream."""

    event: Literal["alert"] = "alert"
    alert_id: str
    event_id: str
    label: str
    rtstream_id: str
    rtstream_name: str
    scene_index_id: str
    scene_index_name: str | None = None
    start: float
    end: float
    text: str
    """The record that matched."""
    matched: str
    """What in it matched the event's prompt."""
    explanation: str
    confidence: float = 1.0
    """Lexical matching: a match is certain, there is no score to give."""
    stream_url: str | None = None
    """The matched stretch as a playable stream, while the stream still holds it."""
    player_url: str | None = None
    timestamp: float
    """When the alert fired."""
