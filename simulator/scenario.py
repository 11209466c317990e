"""Scenario files: what happens in a simulated meeting, on a clock that starts at admission."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "End",
    "Lobby",
    "Participant",
    "Scenario",
    "SpeechSegment",
    "load_scenario",
]

# Only Meet pages exist for now; Zoom and Teams become new literals plus a pages/<platform>/ folder.
Platform = Literal["meet"]
EndKind = Literal["host_ended", "removed", "everyone_left", "none"]

_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


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


class Scenario(_Model):
    """One simulated meeting. All times are seconds; see the field docstrings for their origin."""

    platform: Platform = "meet"
    meeting_code: str = Field(pattern=_CODE_PATTERN)
    title: str = "Meeting"
    participants: list[Participant] = Field(default_factory=list)
    lobby: Lobby = Field(default_factory=Lobby)
    consent_dialog: bool = False
    """Show "This video call is being recorded" after admission (the clock still starts at admission)."""
    speech: list[SpeechSegment] = Field(default_factory=list)
    end: End = Field(default_factory=End)
    not_found: bool = False
    blocked: bool = False

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
