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
