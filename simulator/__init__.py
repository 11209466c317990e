"""meetbot simulator: local imitations of meeting pages, driven by scenario files, with ground truth."""

from simulator.scenario import End, Lobby, Participant, Scenario, SpeechSegment, load_scenario
from simulator.server import MEET_ORIGIN, SimulatorServer

__all__ = [
    "MEET_ORIGIN",
    "End",
    "Lobby",
    "Participant",
    "Scenario",
    "SimulatorServer",
    "SpeechSegment",
    "load_scenario",
]
