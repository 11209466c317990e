"""Scenario files: what happens in a simulated meeting, on a clock that starts at admission."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.urls import join_url

__all__ = [
    "AUDIO_PATHS",
    "DIALOG_KINDS",
    "TEAMS_LOBBY_TEXTS",
    "DialogSpec",
    "End",
    "Lobby",
    "MeetOptions",
    "Participant",
    "Scenario",
    "SpeechSegment",
    "TeamsOptions",
    "ZoomOptions",
    "load_scenario",
]

Platform = Literal["meet", "zoom", "teams"]
EndKind = Literal["host_ended", "removed", "everyone_left", "none"]
AudioPath = Literal["webaudio", "webaudio_playback", "element_stream", "element_file", "webrtc_element",
                    "webrtc_webaudio"]
AUDIO_PATHS: tuple[str, ...] = AudioPath.__args__  # type: ignore[attr-defined]

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


# In-call dialogs and notices each platform can show (``Scenario.dialogs``), with their reference section.
DIALOG_KINDS: dict[str, tuple[str, ...]] = {
    # 1.2 "Post-click dialogs": the four aria-modal dialogs, SA's "Got it" and "Microphone not found".
    "meet": ("recorded", "transcribed", "gemini_notes", "others_see", "got_it", "mic_not_found"),
    # 2.2 step 10: SA's "Cannot detect your camera"; .zm-modal popups with a primary button.
    "zoom": ("recording_notice", "camera_not_detected"),
    # 3.3 "After joining": popups closed by button[aria-label=Close] / button[title="Close"].
    "teams": ("recording_notice", "teaching_bubble"),
}


class _Model(BaseModel):
    # Typos in a scenario should fail loudly, not silently change the meeting.
    model_config = ConfigDict(extra="forbid")


class Participant(_Model):
    """Someone else in the call (never the bot)."""

    name: str = Field(min_length=1)
    voice: str = "en"
    """espeak-ng voice, e.g. "en+f3", or a flite voice: "flite:slt", "flite:rms" (recognisable
    by a speech recogniser: the transcript tests use them)."""
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


class Dropout(_Model):
    at: float = Field(ge=0)
    ms: float = Field(gt=0, le=1000)


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


class DialogSpec(_Model):
    """An in-call dialog or notice (reference 1.2, 2.2 step 10, 3.3 "After joining").

    Several with the same ``at`` are stacked: each later one opens on top of the earlier ones and
    its overlay blocks clicks on them until it is dismissed.
    """

    kind: str = Field(min_length=1)
    """Which dialog; one of ``DIALOG_KINDS[platform]``."""
    at: float = Field(default=0.0, ge=0)
    """Seconds after admission: 0 = early (at admission), later = late."""


class ChatPost(_Model):
    sender: str = Field(min_length=1)
    at: float = Field(ge=0)
    """Seconds after admission."""
    text: str = Field(min_length=1, max_length=4000)


class Chat(_Model):
    """The call's chat (reference 1.6, 2.6, 3.6; sim-chat.js): the others' ``messages``; the panel
    ``closed`` at first (a bot opens it) or ``open``; ``guests`` may post ("allowed"), the host
    turned chat off for them ("disabled": they read, cannot post) or the call has none
    ("unavailable"); ``input`` how Meet's and Teams' message box is labelled; ``max_chars`` the
    platform's limit (None: Meet 500, Zoom 1024, Teams 4000), in Meet's maxlength, enforced on all.
    Truth: ``chat`` (every message as posted, the bot's own ``self``), ``chat_refused``."""

    messages: list[ChatPost] = Field(default_factory=list)
    panel: Literal["closed", "open"] = "closed"
    guests: Literal["allowed", "disabled", "unavailable"] = "allowed"
    input: Literal["aria", "placeholder", "everyone"] = "aria"
    max_chars: int | None = Field(None, ge=20, le=10000)


class Captions(_Model):
    """The platform's live captions (reference 1.6 Meet, 3.6 Teams, 2.6 Zoom's way to turn them on;
    Zoom's caption DOM from independent open-source readers, see sim-captions.js). Words show
    ``lag_ms`` after the voice starts and follow it ``word_lag_ms`` behind; ``interim``: the newest
    word may be a mishearing (lower case, no punctuation) rewritten in place by the next;
    ``late_fix_ms`` after the last word the whole line is rewritten in place with its case and
    punctuation (the text said); ``merge``: a speaker's
    next turn runs on in the same block while it is the last one; ``keep_blocks``: older blocks
    scroll out (are removed). Truth: ``captions_toggled`` and each utterance's ``caption_final``."""

    available: bool = True
    """False: the call has no captions (Meet: no toggle; Teams: no live captions item; Zoom: no
    Captions item in More, as when the host did not enable them)."""
    refuse: bool = False
    """The toggle is there, but clicking it leaves captions off."""
    shape: Literal["region", "legacy", "flat", "nested", "overlay", "single"] | None = None
    """Meet: "region" ``div[role=region][tabindex=0]`` (current), "legacy" ``div.a4cQT``; Teams: "flat"
    author and text side by side in each item, "nested" each inside wrappers of its own; Zoom:
    "overlay" a line per utterance, "single" one line rewritten for each (its speaker's avatar
    with it, never a name). None: the platform's first."""
    lag_ms: int = Field(500, ge=0, le=3000)
    word_lag_ms: int = Field(250, ge=0, le=2000)
    interim: bool = True
    late_fix_ms: int = Field(300, ge=0, le=3000)
    merge: bool = True
    keep_blocks: int = Field(3, ge=1, le=50)
    languages: list[str] = Field(default_factory=lambda: ["en-US", "fr-FR", "de-DE", "es-ES"])
    """Meet: the caption languages ``ul[aria-label="Meeting language"] li[data-value]`` offers."""


class MeetOptions(_Model):
    """Google Meet rendering variants (reference section 1)."""

    speaking_signal: Literal["class_tile", "class_child", "audio_level",
                             "class_and_level"] = "class_and_level"
    """How a tile says someone speaks (1.4 "Speaking classes on the tile or a descendant", "Semantic
    candidate: [data-audio-level]:not([data-audio-level="0"])"): "class_tile" the speaking class on
    the ``[data-participant-id]`` tile itself (silence class ``gjg47c`` there while silent);
    "class_child" on a descendant indicator (``gjg47c`` there while silent); "audio_level" only a
    descendant ``[data-audio-level]`` that is "0" while silent and a changing non-zero level while
    speaking (no speaking or silence class ever); "class_and_level" both on the descendant indicator
    (the original page)."""
    speaking_class: Literal["Oaajhc", "HX2H7", "wEsLMd", "OgVli"] = "Oaajhc"
    """Which of the obfuscated speaking classes (1.4 ``googleSpeakingClassNames``) the page uses."""
    count_signal: Literal["all", "avatar_count", "people_button", "tiles"] = "all"
    """Participant-count signal (1.5 "Count", SA's order): "avatar_count" only ``[data-avatar-count]``
    (the People button is labelled just "People"); "people_button" only the People button's
    aria-label "People - N joined"; "tiles" neither (count the tiles); "all" both plus the number
    badge ``div.egzc7c`` (the original page)."""
    join_label: Literal["Ask to join", "Join now", "Ask to join anyway", "Join here too"] | None = None
    """The join button's span text (1.2 "Join button", ATT's XPath); None = "Join now" for an open
    lobby, "Ask to join" otherwise. Only the label changes, not what the lobby does."""


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
    audio_join: Literal["dialog", "auto", "footer", "late_dialog"] = "dialog"
    """How computer audio is joined (2.2 step 10; remote audio plays only once it is joined):
    "dialog" the Join Audio dialog pops up at admission; "late_dialog" it pops up
    ``audio_dialog_delay`` s after admission; "footer" no pop-up, only the footer
    ``button.join-audio-container__btn`` (aria-label contains "join audio") opens it; "auto" computer
    audio is already joined at admission (Zoom's "Automatically join audio by computer"): no dialog,
    the footer button reads Mute/Unmute and remote audio plays from admission."""
    audio_dialog: bool | None = None
    """Older spelling of ``audio_join``: true = "dialog", false = "footer"."""
    audio_dialog_delay: float = Field(default=3.0, ge=0)
    """Seconds after admission at which the "late_dialog" pops up."""
    audio_button_text: Literal["Join Audio by Computer",
                               "Join with Computer Audio"] = "Join Audio by Computer"
    """The dialog's join button text (2.2 step 10 lists both)."""
    end_over_dialog: bool = False
    """When the meeting ends (host ended or removed) the end modal (2.5) opens on top of another
    ``.zm-modal`` that is still open, with its own ``button.zm-btn--primary`` earlier in the DOM (a
    recording notice is opened just before the end if none is open). The covered dialog cannot be
    clicked: the end modal's overlay takes the pointer events."""
    speaker_view: Literal["speaker", "gallery", "single"] = "speaker"
    """Active-speaker rendering (2.4): "speaker" the large ``.speaker-active-container__video-frame``
    plus the speaker bar with ``.speaker-bar-container__video-frame--active``; "gallery" only the
    frames, the speaker's flagged ``--active``; "single" only ``.single-main-container__video-frame``
    (LMA). Names are always in ``.video-avatar__avatar-footer span``."""

    @model_validator(mode="after")
    def _audio_alias(self) -> ZoomOptions:
        if self.audio_dialog is not None:
            legacy = "dialog" if self.audio_dialog else "footer"
            if "audio_join" in self.model_fields_set and self.audio_join != legacy:
                raise ValueError(
                    f"zoom.audio_dialog={self.audio_dialog} contradicts audio_join={self.audio_join!r}")
            self.audio_join = legacy
        return self


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
    speaking_signal: Literal["class", "style", "aria", "class_transparent", "pseudo"] = "class"
    """How the tile's ``[data-tid="voice-level-stream-outline"]`` says someone speaks (3.4 "Speaking"):
    "class" it gains ``vdi-frame-occlusion`` (LMA, MB, VXo); "style" the class never toggles, only the
    outline's inline style makes it visible/invisible (VX's live observation); "aria" only an aria
    attribute says so (VX's third test: aria-label "Speaking", see ``aria_target``), nothing visual
    changes; "class_transparent" the outline always has a solid border, the class colours it, and
    on stopping the page removes the class and leaves an inline ``border-color: transparent``;
    "pseudo" only a class that styles the outline's ``::before`` border (blue, opacity 1; MB's
    ``checkElementAndPseudo``)."""
    aria_target: Literal["outline", "tile"] = "outline"
    """For speaking_signal "aria": the outline gets aria-label "Speaking" (and aria-hidden "false")
    while speaking, or the tile's aria-label becomes "<Name>, speaking" (MB's older tiles carry
    state in the aria-label, 3.4)."""
    count_signal: Literal["badge", "tiles"] = "badge"
    """The roster badge ``span[data-tid="toolbar-item-badge"]`` (3.4 "Roster", LMA), or no badge at
    all (LMA then treats the meeting as alone, 3.5)."""
    end_screen: Literal["rejoin", "post_meeting_url"] = "rejoin"
    """When the host ends the meeting (3.5 LMA): the anonymous end screen "The meeting has ended"
    with ``button[data-tid="anon-meeting-end-screen-rejoin-button"]``, or a navigation to
    ``/v2/postmeeting`` showing "This meeting has ended"."""
    passcode: str | None = None
    """For ``/meet/<code>?p=``: a missing or wrong ``p`` shows a passcode field on the pre-join."""

    @model_validator(mode="after")
    def _known_lobby_text(self) -> TeamsOptions:
        if self.lobby_text not in TEAMS_LOBBY_TEXTS:
            raise ValueError(f"teams.lobby_text must be one of {TEAMS_LOBBY_TEXTS}")
        return self


class Scenario(_Model):
    """One simulated meeting. All times are seconds; see the field docstrings for their origin.

    ``lobby``, ``participants``, ``speech``, ``end``, ``dialogs``, ``stuck_indicator`` and
    ``sync_marker`` mean the same on every platform; ``meet``, ``zoom`` and ``teams`` hold what only
    that platform has (filled with defaults for it, refused for the others). Every variant knob
    defaults to the original rendering; ``variants()`` lists the resolved choices.
    """

    platform: Platform = "meet"
    meeting_code: str = Field(pattern=_CODE_PATTERN)
    """Meet: ``xxx-yyyy-zzz``; Zoom: the 9-11 digit meeting ID; Teams: the code in the thread id."""
    title: str = "Meeting"
    participants: list[Participant] = Field(default_factory=list)
    lobby: Lobby = Field(default_factory=Lobby)
    consent_dialog: bool = False
    """Meet: show "This video call is being recorded" at admission; the same as
    ``dialogs: [{kind: recorded, at: 0}]`` (the clock still starts at admission)."""
    dialogs: list[DialogSpec] = Field(default_factory=list)
    """In-call dialogs and notices (reference 1.2, 2.2 step 10, 3.3); kinds per ``DIALOG_KINDS``.
    Each blocks clicks on what it covers until dismissed."""
    stuck_indicator: list[str] = Field(default_factory=list)
    """Participants whose speaking signal, once switched on, is never switched off again (until they
    leave or the meeting ends) although their audio stops: the stuck indicators VX works around with
    hysteresis and re-sends (1.4, 2.4, 3.4). Truth: ``stuck`` and ``indicator_end: null``."""
    signal_lag_ms: int = Field(0, ge=0, le=1000)
    signal_hold_ms: int = Field(0, ge=0, le=2000)
    """The speaking signal follows the voice: switched on ``signal_lag_ms`` after the voice starts
    and off ``signal_hold_ms`` after it stops (a level meter's attack and hang; VX's 200 ms
    hysteresis and 300 ms debounce answer such flicker, 3.4), the same speaker's next utterance
    within the hold keeping it on. Truth: ``indicator_start`` / ``indicator_end`` when it switched."""
    sync_marker: bool = True
    """A/V sync instrument on the in-call screen (not a platform signal): ``#sim-sync-marker``, a
    48x48 CSS px square at the viewport's bottom-left, above everything, ignoring the pointer; black
    while no remote audio plays, white while some does, switched when the audio reaches the output."""
    speech: list[SpeechSegment] = Field(default_factory=list)
    audio_path: AudioPath = "webaudio"
    """How the page plays its remote participants, each dated on the page's own clock (the marker
    and the truth's speech times follow it; nothing adds the output latency Chromium reports):
    ``webaudio`` / ``webaudio_playback``: buffer sources and the room tone's oscillator on an
    AudioContext (latencyHint interactive / playback) into its destination, dated at the scheduled
    context time; ``element_stream``: that context into a MediaStreamAudioDestinationNode played by
    an ``<audio>``; ``element_file``: each segment an ``<audio src>`` of its file, dated where the
    element's currentTime says it started; ``webrtc_element`` / ``webrtc_webaudio``: each speaker's
    sound sent through an in-page RTCPeerConnection loopback (Opus, NetEq) and played from the
    received track by an ``<audio>`` / a second AudioContext, dated at the track's arrival (the
    receiver's synchronization sources: RTP time of the first loud packet, delivery time)."""
    room_tone_db: float | None = Field(-70, ge=-90, le=-20)
    """A quiet 440 Hz tone (dBFS) under the remote audio from admission to the end: a microphone's
    noise floor (a real call's sound is never exact zeros while someone is unmuted; espeak's voices
    have 10-300 ms of exact zeros between words) and an instrument: where the recording lacks it,
    sound was lost (benchmarks/density.py). None: digital silence between the voices. Keep it under
    the bot's silence threshold (-50 dB) so its speaker gating is unaffected."""
    dropouts: list[Dropout] = Field(default_factory=list)
    """Holes in the remote audio (speech and room tone), as the bot's audio output running dry
    leaves them: exact zeros for ``ms`` from ``at`` seconds after admission."""
    end: End = Field(default_factory=End)
    not_found: bool = False
    """Meet "Check your meeting code"; Zoom "This meeting link is invalid (3,001)"; Teams "Looks like
    the meeting URL is incorrect" (unknown codes show the same)."""
    blocked: bool = False
    """Meet only: "You can't join this video call"."""
    captions: Captions | None = None
    """Live captions the bot can turn on; None: the platform's defaults."""
    chat: Chat | None = None
    """The in-call chat; None: an empty one, its panel closed."""
    meet: MeetOptions | None = None
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
        if self.platform == "meet":
            self.meet = self.meet or MeetOptions()
        for name in ("meet", "zoom", "teams"):
            if name != self.platform and getattr(self, name) is not None:
                raise ValueError(f"{name} options need platform: {name}")
        if self.platform != "meet" and (self.blocked or self.consent_dialog):
            raise ValueError("blocked and consent_dialog exist only on Meet")
        if self.captions is not None and self.captions.shape is not None:
            shapes = {"meet": ("region", "legacy"), "teams": ("flat", "nested"),
                      "zoom": ("overlay", "single")}[self.platform]
            if self.captions.shape not in shapes:
                raise ValueError(f"{self.platform} caption shapes are {shapes}, not {self.captions.shape!r}")
        kinds = DIALOG_KINDS[self.platform]
        for d in self.dialogs:
            if d.kind not in kinds:
                raise ValueError(f"{self.platform} dialog kinds are {kinds}, not {d.kind!r}")
        if self.consent_dialog and not any(d.kind == "recorded" for d in self.dialogs):
            self.dialogs.insert(0, DialogSpec(kind="recorded", at=0.0))
        self.dialogs.sort(key=lambda d: d.at)  # stable: same-time dialogs stack in the given order
        return self

    @model_validator(mode="after")
    def _check_people(self) -> Scenario:
        names = [p.name for p in self.participants]
        if len(set(names)) != len(names):
            raise ValueError("participant names must be unique")
        for seg in self.speech:
            if seg.speaker not in names:
                raise ValueError(f"speech speaker {seg.speaker!r} is not a participant")
        for name in self.stuck_indicator:
            if name not in names:
                raise ValueError(f"stuck_indicator {name!r} is not a participant")
        self.speech.sort(key=lambda s: s.at)
        return self

    def variants(self) -> dict[str, Any]:
        """The resolved variant choices of this scenario: the common knobs and the platform's, flat,
        and the platform's block again whole under its name."""
        out: dict[str, Any] = {
            "platform": self.platform,
            "stuck_indicator": list(self.stuck_indicator),
            "sync_marker": self.sync_marker,
            "audio_path": self.audio_path,
            "signal_lag_ms": self.signal_lag_ms, "signal_hold_ms": self.signal_hold_ms,
            "dialogs": [d.model_dump() for d in self.dialogs],
            "captions": self.captions.model_dump() if self.captions else None,
            "chat": self.chat.model_dump(exclude={"messages"}) if self.chat else None,
        }
        block: dict[str, Any] = {}
        if self.meet is not None:
            block = self.meet.model_dump()
            block["join_label"] = self.meet.join_label or (
                "Join now" if self.lobby.mode == "open" else "Ask to join")
        elif self.zoom is not None:
            block = {k: getattr(self.zoom, k) for k in (
                "audio_join", "audio_dialog_delay", "audio_button_text", "end_over_dialog", "speaker_view")}
        elif self.teams is not None:
            block = {k: getattr(self.teams, k) for k in (
                "speaking_signal", "aria_target", "count_signal", "end_screen")}
        out.update(block)
        out[self.platform] = dict(block)
        return out

    def participant(self, name: str) -> Participant:
        return next(p for p in self.participants if p.name == name)

    def public_url(self, form: str | None = None, **kwargs: Any) -> str:
        """The public join URL (see ``simulator.urls.join_url`` for the forms)."""
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
