"""meetbot simulator: local imitations of meeting pages, driven by scenario files, with ground truth."""

from simulator.scenario import (
    DialogSpec,
    End,
    Lobby,
    MeetOptions,
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
    "DialogSpec",
    "End",
    "Lobby",
    "MeetOptions",
    "Participant",
    "Scenario",
    "SimulatorServer",
    "SpeechSegment",
    "TeamsOptions",
    "ZoomOptions",
    "join_url",
    "load_scenario",
]
