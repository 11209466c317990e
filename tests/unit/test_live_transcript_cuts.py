"""Where the live transcript cuts the sound: into the latest pause long enough to end a phrase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.live_transcript import LiveTranscriber

pytestmark = pytest.mark.unit


def transcriber(sound: list[tuple[float, float | None]]) -> LiveTranscriber:
    live = LiveTranscriber(worker=Any, work=Path("/tmp"), emit=Any, speakers=Any, clock=float)  # type: ignore[arg-type]
    live._sound = sound
    return live


def test_a_cut_falls_into_the_latest_pause_of_a_phrase_not_between_words() -> None:
    live = transcriber([(100.0, 101.5), (101.6, 103.0), (103.8, 105.0), (105.1, None)])
    assert live._pause_in(100.0, 106.0) == pytest.approx(103.25), "0.1 s gaps are inside the phrase"
    assert live._pause_in(100.0, 103.4) == pytest.approx(103.2), "a trailing pause, still going"
    assert live._pause_in(100.0, 103.2) is None, "too short yet to be a pause"
    assert live._pause_in(104.0, 106.0) is None, "no pause after the last cut"


def test_a_voice_that_ended_is_cut_after_it() -> None:
    live = transcriber([(100.0, 102.0)])
    assert live._pause_in(100.0, 104.0) == pytest.approx(102.25)
