from __future__ import annotations

import wave
from pathlib import Path

import pytest
from pydantic import ValidationError

from simulator import Scenario, load_scenario
from simulator.speech import SpeechSynthesizer

pytestmark = pytest.mark.unit

DEMO = Path(__file__).parents[2] / "simulator" / "scenarios" / "demo-meet.yaml"


def test_demo_scenario_loads() -> None:
    sc = load_scenario(DEMO)
    assert sc.meeting_code == "abc-defg-hij"
    assert {p.name for p in sc.participants} == {"Alice", "Bob", "Carol"}
    assert sc.end.kind == "host_ended"
    assert [s.at for s in sc.speech] == sorted(s.at for s in sc.speech)


def test_lobby_defaults_follow_the_outcome() -> None:
    assert load_scenario({"meeting_code": "aaa-bbbb-ccc"}).lobby.admit_after == 2.0
    denied = load_scenario({"meeting_code": "aaa-bbbb-ccc", "lobby": {"deny_after": 1}})
    assert denied.lobby.admit_after is None
    manual = load_scenario({"meeting_code": "aaa-bbbb-ccc", "lobby": {"admit_after": None}})
    assert manual.lobby.admit_after is None


@pytest.mark.parametrize("bad", [
    {"meeting_code": "Bad Code"},
    {"meeting_code": "aaa-bbbb-ccc", "speech": [{"speaker": "Nobody", "at": 1, "text": "hi"}]},
    {"meeting_code": "aaa-bbbb-ccc", "end": {"kind": "removed"}},
    {"meeting_code": "aaa-bbbb-ccc", "platform": "webex"},
    {"meeting_code": "aaa-bbbb-ccc", "lobyy": {}},
])
def test_invalid_scenarios_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Scenario.model_validate(bad)


async def test_speech_is_trimmed_and_cached(tmp_path: Path) -> None:
    synth = SpeechSynthesizer(tmp_path)
    first = await synth.synthesize("en+f3", 165, "Hello there.")
    again = await synth.synthesize("en+f3", 165, "Hello there.")
    assert first == again and first.path.exists()
    assert 0.3 < first.duration < 2.0
    with wave.open(str(first.path)) as w:
        head = w.readframes(int(w.getframerate() * 0.02))
    assert any(b != 0 for b in head)  # espeak's silent lead-in was cut


SCENARIOS = DEMO.parent


def test_zoom_and_teams_demos_load_with_defaults() -> None:
    zoom = load_scenario(SCENARIOS / "demo-zoom.yaml")
    teams = load_scenario(SCENARIOS / "demo-teams.yaml")
    assert zoom.zoom is not None and zoom.zoom.client == "react" and teams.zoom is None
    assert teams.teams is not None and teams.teams.speaking_signal == "class"
    assert load_scenario({"platform": "meet", "meeting_code": "aaa-bbbb-ccc"}).zoom is None
    assert load_scenario({"platform": "zoom", "meeting_code": "123456789"}).zoom is not None


@pytest.mark.parametrize("bad", [
    {"platform": "zoom", "meeting_code": "aaa-bbbb-ccc"},  # Zoom codes are meeting IDs
    {"platform": "meet", "meeting_code": "aaa-bbbb-ccc", "zoom": {}},
    {"platform": "teams", "meeting_code": "abc", "zoom": {}},
    {"platform": "teams", "meeting_code": "abc", "teams": {"lobby_text": "Hold on"}},
    {"platform": "teams", "meeting_code": "abc", "teams": {"speaking_signal": "glow"}},
    {"platform": "teams", "meeting_code": "abc", "meet": {}},
    {"platform": "zoom", "meeting_code": "123456789", "meet": {"speaking_signal": "class_tile"}},
    {"platform": "meet", "meeting_code": "aaa-bbbb-ccc", "meet": {"speaking_class": "Xyz"}},
    {"platform": "meet", "meeting_code": "aaa-bbbb-ccc", "meet": {"join_label": "Join"}},
    {"platform": "meet", "meeting_code": "aaa-bbbb-ccc", "dialogs": [{"kind": "recording_notice"}]},
    {"platform": "zoom", "meeting_code": "123456789", "dialogs": [{"kind": "recorded", "at": 0}]},
    {"platform": "teams", "meeting_code": "abc", "dialogs": [{"kind": "camera_not_detected", "at": 0}]},
    {"platform": "meet", "meeting_code": "aaa-bbbb-ccc", "dialogs": [{"kind": "got_it", "at": -1}]},
    {"platform": "meet", "meeting_code": "aaa-bbbb-ccc", "stuck_indicator": ["Nobody"]},
    {"platform": "zoom", "meeting_code": "123456789", "zoom": {"audio_join": "phone"}},
    {"platform": "zoom", "meeting_code": "123456789", "zoom": {"audio_dialog": True, "audio_join": "auto"}},
    {"platform": "zoom", "meeting_code": "123456789", "zoom": {"speaker_view": "grid"}},
    {"platform": "teams", "meeting_code": "abc", "teams": {"end_screen": "home"}},
    {"platform": "zoom", "meeting_code": "123456789", "zoom": {"client": "native"}},
    {"platform": "zoom", "meeting_code": "123456789", "blocked": True},
])
def test_invalid_platform_sections_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Scenario.model_validate(bad)


def test_join_urls() -> None:
    zoom = Scenario.model_validate({"platform": "zoom", "meeting_code": "85012345678",
                                    "zoom": {"passcode": "ab1", "vanity": "team.room"}})
    assert zoom.public_url() == "https://zoom.us/j/85012345678?pwd=ab1"
    assert zoom.public_url("j", host="us05web.zoom.us") == "https://us05web.zoom.us/j/85012345678?pwd=ab1"
    assert zoom.public_url("wc") == "https://app.zoom.us/wc/85012345678/join?pwd=ab1"
    assert zoom.public_url("wc_classic", passcode="x") == "https://app.zoom.us/wc/join/85012345678?pwd=x"
    assert zoom.public_url("my") == "https://zoom.us/my/team.room"
    teams = Scenario.model_validate({"platform": "teams", "meeting_code": "abc-1",
                                     "teams": {"passcode": "pw", "host": "teams.live.com"}})
    thread = "19%3ameeting_abc-1%40thread.v2"
    assert teams.public_url().startswith(f"https://teams.live.com/l/meetup-join/{thread}/0?context=%7B")
    v2 = f"https://teams.live.com/v2/?meetingjoin=true#/l/meetup-join/{thread}/0?"
    assert teams.public_url("v2").startswith(v2)
    assert teams.public_url("v2").endswith("&anon=true")
    launcher = "launcher.html?url=%2F_%23%2Fl%2Fmeetup-join%2F19%253ameeting_abc-1"
    assert launcher in teams.public_url("launcher")
    assert teams.public_url("meet") == "https://teams.live.com/meet/abc-1?p=pw"
    with pytest.raises(ValueError):
        teams.public_url("j")
    meet = load_scenario(DEMO)
    assert meet.public_url() == "https://meet.google.com/abc-defg-hij"


def test_variant_defaults_and_resolution() -> None:
    meet = load_scenario({"meeting_code": "aaa-bbbb-ccc", "lobby": {"mode": "open"}})
    assert meet.meet is not None and meet.meet.speaking_signal == "class_and_level"
    assert meet.sync_marker is True and meet.stuck_indicator == [] and meet.dialogs == []
    v = meet.variants()
    assert v["join_label"] == "Join now" and v["meet"]["join_label"] == "Join now"
    assert v["speaking_class"] == "Oaajhc" and v["count_signal"] == "all" and v["platform"] == "meet"
    assert load_scenario({"meeting_code": "aaa-bbbb-ccc"}).variants()["join_label"] == "Ask to join"

    consent = load_scenario({"meeting_code": "aaa-bbbb-ccc", "consent_dialog": True,
                             "dialogs": [{"kind": "got_it", "at": 2}, {"kind": "transcribed", "at": 0}]})
    assert [(d.kind, d.at) for d in consent.dialogs] == [("recorded", 0), ("transcribed", 0), ("got_it", 2)]
    again = Scenario.model_validate(consent.model_dump())  # round trip keeps one recorded dialog
    assert [d.kind for d in again.dialogs] == ["recorded", "transcribed", "got_it"]

    zoom = load_scenario({"platform": "zoom", "meeting_code": "123456789"})
    assert zoom.zoom is not None and zoom.zoom.audio_join == "dialog" and zoom.zoom.speaker_view == "speaker"
    assert zoom.variants()["zoom"] == {"audio_join": "dialog", "audio_dialog_delay": 3.0,
                                       "audio_button_text": "Join Audio by Computer",
                                       "end_over_dialog": False, "speaker_view": "speaker"}
    for legacy, mode in ((True, "dialog"), (False, "footer")):
        sc = load_scenario({"platform": "zoom", "meeting_code": "123456789",
                            "zoom": {"audio_dialog": legacy}})
        assert sc.zoom is not None and sc.zoom.audio_join == mode

    teams = load_scenario({"platform": "teams", "meeting_code": "abc", "participants": [{"name": "A"}],
                           "stuck_indicator": ["A"], "teams": {"speaking_signal": "pseudo"}})
    v = teams.variants()
    assert (v["speaking_signal"], v["count_signal"], v["end_screen"]) == ("pseudo", "badge", "rejoin")
    assert v["stuck_indicator"] == ["A"] and v["teams"]["aria_target"] == "outline"
