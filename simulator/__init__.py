"""meetbot simulator: local imitations of meeting pages, driven by scenario files, with ground truth."""

from simulator.scenario import (
    End,
    Lobby,
    Participant,
    Scenario,
    SpeechSegment,
    TeamsOptions,
    ZoomOptions,
    load_scenario,
)
from simulator.server import MEET_ORIGIN, SimulatorServer
from simulator.urls import join_url

__all__ = [
    "MEET_ORIGIN",
    "End",
    "Lobby",
    "Participant",
    "Scenario",
    "SimulatorServer",
    "SpeechSegment",
    "TeamsOptions",
    "ZoomOptions",
    "join_url",
    "load_scenario",
]
