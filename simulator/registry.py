"""The simulated meetings by code, what each page boots from, and which product a request is for:
what the server and the Zoom and Teams page modules share."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from simulator.scenario import Captions, Chat, Scenario, load_scenario
from simulator.speech import SpeechSynthesizer, SynthesizedSpeech
from simulator.truth import GroundTruth

_PALETTE = ("#e8710a", "#1e8e3e", "#9334e6", "#d93025", "#1a73e8", "#e52592", "#12b5cb", "#f9ab00")
_SELF_COLOR = "#5f6368"


@dataclass(slots=True)
class Meeting:
    scenario: Scenario
    clips: list[SynthesizedSpeech]
    truth: GroundTruth
    control: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class Registry:
    """Meetings by code; re-registering a code starts a fresh run (new truth, empty control queue)."""

    def __init__(self, synth: SpeechSynthesizer) -> None:
        self.synth = synth
        self.meetings: dict[str, Meeting] = {}

    async def add(self, source: Scenario | str | Path | dict[str, Any]) -> Scenario:
        scenario = load_scenario(source)
        clips = await asyncio.gather(*(
            self.synth.synthesize(scenario.participant(s.speaker).voice,
                                  scenario.participant(s.speaker).speed, s.text)
            for s in scenario.speech
        ))
        code = scenario.meeting_code
        self.meetings[code] = Meeting(scenario, list(clips),
                                      GroundTruth(code, scenario.platform, scenario.variants()))
        return scenario

    def find(self, platform: str, code: str) -> Meeting | None:
        """The meeting with this code on this platform (Zoom also by personal-link name)."""
        m = self.meetings.get(code)
        if m is not None and m.scenario.platform == platform:
            return m
        if platform == "zoom":
            return next((m for m in self.meetings.values() if m.scenario.platform == "zoom"
                         and m.scenario.zoom and m.scenario.zoom.vanity == code.lower()), None)
        return None

    def get(self, code: str) -> Meeting:
        try:
            return self.meetings[code]
        except KeyError:
            raise KeyError(f"no simulated meeting with code {code!r}") from None


def _space_id(code: str) -> str:
    digest = hashlib.sha256(code.encode()).hexdigest()
    return "spaces/" + "".join(chr(ord("A") + int(c, 16) % 26) if i % 3 else c
                               for i, c in enumerate(digest[:11]))


def page_config(code: str, meeting: Meeting | None) -> dict[str, Any]:
    """The JSON the page boots from (inlined, so the first paint needs no extra request)."""
    if meeting is None:
        return {"known": False, "code": code}
    sc = meeting.scenario
    space = _space_id(code)
    participants = [
        {"name": p.name, "color": p.color or _PALETTE[i % len(_PALETTE)],
         "id": f"{space}/devices/{100 + 7 * i}", "joins_at": p.joins_at, "leaves_at": p.leaves_at}
        for i, p in enumerate(sc.participants)
    ]
    speech = [
        {"speaker": s.speaker, "at": s.at, "text": s.text, "duration": clip.duration,
         "audio": f"/_sim/audio/{clip.key}.wav"}
        for s, clip in zip(sc.speech, meeting.clips, strict=True)
    ]
    return {
        "known": True, "code": code, "title": sc.title, "api": f"/_sim/api/meetings/{code}",
        "not_found": sc.not_found, "blocked": sc.blocked, "lobby": sc.lobby.model_dump(),
        "consent_dialog": sc.consent_dialog, "participants": participants, "speech": speech,
        "end": sc.end.model_dump(), "self_id": f"{space}/devices/{400 + len(participants)}",
        "self_color": _SELF_COLOR, "platform": sc.platform,
        "dialogs": [d.model_dump() for d in sc.dialogs], "stuck_indicator": list(sc.stuck_indicator),
        "sync_marker": sc.sync_marker, "room_tone_db": sc.room_tone_db,
        "audio_path": sc.audio_path, "signal_lag_ms": sc.signal_lag_ms, "signal_hold_ms": sc.signal_hold_ms,
        "dropouts": [d.model_dump() for d in sc.dropouts],
        "captions": (sc.captions or Captions()).model_dump(),
        "chat": (sc.chat or Chat()).model_dump(),
        "meet": sc.meet.model_dump() if sc.meet else None,
        "zoom": sc.zoom.model_dump() if sc.zoom else None,
        "teams": sc.teams.model_dump() if sc.teams else None,
    }


def host_kind(request: Request) -> str:
    """Which product a request is for: the public host from X-Forwarded-Host, else the Host header."""
    host = (request.headers.get("x-forwarded-host") or request.headers.get("host") or "").lower()
    host = host.split(":")[0]
    if host == "zoom.us" or host.endswith((".zoom.us", "zoom.com")):
        return "zoom"
    if host in ("teams.microsoft.com", "teams.live.com"):
        return "teams"
    if host == "login.microsoftonline.com":
        return "login"
    return "meet"
