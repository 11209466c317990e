"""Scenario files: what happens in a simulated meeting, on a clock that starts at admission."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "TEAMS_LOBBY_TEXTS",
    "End",
    "Lobby",
    "Participant",
    "Scenario",
    "SpeechSegment",
    "TeamsOptions",
    "ZoomOptions",
    "load_scenario",
]

Platform = Literal["meet", "zoom", "teams"]
EndKind = Literal["host_ended", "removed", "everyone_left", "none"]

_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
_ZOOM_ID_PATTERN = r"^[0-9]{9,11}$"
_VANITY_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,39}$"

# Lobby phrasings documented for Teams (reference 3.3); the first is the default.
TEAMS_LOBBY_TEXTS = (
    "Someone will let you in soon",
    "Someone will let you in shortly",
    "Waiting for someone to let you in",
    "Waiting to be admitted",
    "Your request to join has been sent",
    "Someone in the meeting should let you in soon",
)


class _Model(BaseModel):
    # Typos in a scenario should fail loudly, not silently change the meeting.
    model_config = ConfigDict(extra="forbid")


class Participant(_Model):
    """Someone else in the call (never the bot)."""

    name: str = Field(min_length=1)
    voice: str = "en"
    """espeak-ng voice, e.g. "en+f3"."""
    speed: int = Field(default=165, ge=80, le=450)
    """espeak-ng words per minute."""
    color: str | None = None
    """Avatar circle colour; picked from a palette when unset."""
    joins_at: float = Field(default=0.0, ge=0)
    """Seconds after the bot's admission."""
    leaves_at: float | None = Field(default=None, ge=0)


class Lobby(_Model):
    """What follows the bot's click on its join button."""

    mode: Literal["ask", "open"] = "ask"
    admit_after: float | None = Field(default=2.0, ge=0)
    """Seconds in the waiting room before admission; null = wait for a control "admit"."""
    deny_after: float | None = Field(default=None, ge=0)
    no_response_after: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _outcome_defaults(self) -> Lobby:
        # A scenario that says "deny after 3 s" means a denial, not an admission at the default 2 s.
        explicit = "admit_after" in self.model_fields_set
        if not explicit and (self.deny_after is not None or self.no_response_after is not None):
            self.admit_after = None
        return self


class SpeechSegment(_Model):
    speaker: str
    at: float = Field(ge=0)
    """Seconds after admission at which the audio starts."""
    text: str = Field(min_length=1)


class End(_Model):
    kind: EndKind = "none"
    at: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _needs_time(self) -> End:
        if self.kind != "none" and self.at is None:
            raise ValueError(f"end.kind={self.kind!r} needs end.at")
        return self


class ZoomOptions(_Model):
    """Zoom web client specifics (reference section 2). ``meeting_code`` is the numeric meeting ID."""

    client: Literal["react", "classic"] = "react"
    """Which client the launcher sends the guest to; a React URL redirects to classic when "classic"."""
    launcher: bool = True
    """``/j/<id>`` shows the launcher ("Launch Meeting", "Download Now", then "Join from your browser");
    False redirects straight to the client."""
    iframe: bool = False
    """Render the client inside ``iframe#webclient`` of an outer page instead of in the page itself."""
    passcode: str | None = None
    """Needed to join. A matching ``pwd`` in the URL skips the passcode field; a missing or wrong one
    shows it (React ``#input-for-pwd``, classic ``#inputpasscode``); a wrong entry shows "Passcode wrong"."""
    cookie_banner: bool = False
    """OneTrust banner (``#onetrust-accept-btn-handler`` "Accept Cookies") whose dark filter blocks
    clicks until accepted or rejected; once per host (cookie ``OptanonAlertBoxClosed``)."""
    permission_dialog: bool = False
    """The two-step "Continue without microphone and camera" / "Allow" portal before the preview."""
    signin_required: bool = False
    """The client shows "Sign in to join this meeting" (``#prompt``) and ``button.login-btn-zoom``."""
    bot_wall: bool = False
    """The client shows the anti-bot wall with a recaptcha iframe and never the join form."""
    host_not_started: bool = False
    """After Join the guest sees "Waiting for the host to start this meeting" instead of the waiting
    room; the lobby timers then mean "the host starts and admits"."""
    vanity: str | None = Field(default=None, pattern=_VANITY_PATTERN)
    """Personal link name: ``/my/<vanity>`` behaves like ``/j/<id>``."""
    audio_dialog: bool = True
    """After admission pop up the "Join Audio by Computer" dialog (the footer button always exists).
    Remote audio is only played once the guest has joined computer audio."""


class TeamsOptions(_Model):
    """Microsoft Teams specifics (reference section 3). The meeting is found from the URL:
    ``19:meeting_<meeting_code>@thread.v2`` in meetup-join links, or ``/meet/<meeting_code>``."""

    host: Literal["teams.microsoft.com", "teams.live.com"] = "teams.microsoft.com"
    """Host used by the join-URL helper; the page answers on both."""
    continue_on_browser: bool = True
    """meetup-join and launcher URLs first show ``button[data-tid=joinOnWeb]`` "Continue on this
    browser"; False goes straight to the v2 pre-join. v2 URLs never show it."""
    permission_prompt: bool = False
    """Show "Select Allow to let Microsoft Teams use your mic and camera" while media starts (~1 s)."""
    no_media_modal: bool = False
    """Open "Are you sure you don't want audio or video?" over the pre-join; it blocks "Join now"."""
    no_media_modal_again: bool = False
    """The modal reappears once after "Join now"; the join goes on once it is dismissed."""
    login_required: bool = False
    """The pre-join redirects to ``https://login.microsoftonline.com/...`` (``input[name=loginfmt]``)."""
    captcha: bool = False
    """"Join now" leads to a HIP captcha ("Verify you're a real person") that never lets the guest in."""
    lobby_text: str = TEAMS_LOBBY_TEXTS[0]
    """Lobby phrasing; one of TEAMS_LOBBY_TEXTS."""
    speaking_signal: Literal["class", "style"] = "class"
    """"class": the tile's voice-level outline gains ``vdi-frame-occlusion`` while speaking.
    "style": the class never toggles and only the outline's inline style changes (VX's observation)."""
    passcode: str | None = None
    """For ``/meet/<code>?p=``: a missing or wrong ``p`` shows a passcode field on the pre-join."""

    @model_validator(mode="after")
    def _known_lobby_text(self) -> TeamsOptions:
        if self.lobby_text not in TEAMS_LOBBY_TEXTS:
            raise ValueError(f"teams.lobby_text must be one of {TEAMS_LOBBY_TEXTS}")
        return self


class Scenario(_Model):
    """One simulated meeting. All times are seconds; see the field docstrings for their origin.

    ``lobby``, ``participants``, ``speech`` and ``end`` mean the same on every platform; ``zoom`` and
    ``teams`` hold what only that platform has (filled with defaults for it, refused for the others).
    """

    platform: Platform = "meet"
    meeting_code: str = Field(pattern=_CODE_PATTERN)
    """Meet: ``xxx-yyyy-zzz``; Zoom: the 9-11 digit meeting ID; Teams: the code in the thread id."""
    title: str = "Meeting"
    participants: list[Participant] = Field(default_factory=list)
    lobby: Lobby = Field(default_factory=Lobby)
    consent_dialog: bool = False
    """Show "This video call is being recorded" after admission (the clock still starts at admission)."""
    speech: list[SpeechSegment] = Field(default_factory=list)
    end: End = Field(default_factory=End)
    not_found: bool = False
    """Meet "Check your meeting code"; Zoom "This meeting link is invalid (3,001)"; Teams "Looks like
    the meeting URL is incorrect" (unknown codes show the same)."""
    blocked: bool = False
    """Meet only: "You can't join this video call"."""
    zoom: ZoomOptions | None = None
    teams: TeamsOptions | None = None

    @model_validator(mode="after")
    def _check_platform(self) -> Scenario:
        if self.platform == "zoom":
            if not re.fullmatch(_ZOOM_ID_PATTERN, self.meeting_code):
                raise ValueError("a Zoom meeting_code is the 9-11 digit meeting ID")
            self.zoom = self.zoom or ZoomOptions()
        if self.platform == "teams":
            self.teams = self.teams or TeamsOptions()
        for name in ("zoom", "teams"):
            if name != self.platform and getattr(self, name) is not None:
                raise ValueError(f"{name} options need platform: {name}")
        if self.platform != "meet" and (self.blocked or self.consent_dialog):
            raise ValueError("blocked and consent_dialog exist only on Meet")
        return self

    @model_validator(mode="after")
    def _check_people(self) -> Scenario:
        names = [p.name for p in self.participants]
        if len(set(names)) != len(names):
            raise ValueError("participant names must be unique")
        for seg in self.speech:
            if seg.speaker not in names:
                raise ValueError(f"speech speaker {seg.speaker!r} is not a participant")
        self.speech.sort(key=lambda s: s.at)
        return self

    def participant(self, name: str) -> Participant:
        return next(p for p in self.participants if p.name == name)

    def public_url(self, form: str | None = None, **kwargs: Any) -> str:
        """The public join URL (see ``simulator.urls.join_url`` for the forms)."""
        from simulator.urls import join_url

        return join_url(self, form, **kwargs)


def load_scenario(source: str | Path | dict[str, Any] | Scenario) -> Scenario:
    """Build a Scenario from a YAML/JSON file path, a mapping, or return it unchanged."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        return Scenario.model_validate(source)
    data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a scenario must be a mapping")
    return Scenario.model_validate(data)
