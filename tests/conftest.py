"""Shared fixtures: the simulator and a callback receiver on real sockets, and resource checks.

Every test module declares one category (unit, browser, media, e2e) with ``pytestmark``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers import bot_processes, bot_sinks
from tests.support.fixtures import *  # noqa: F403 - live sources, the RTSP/RTMP servers, moto S3
from tests.support.procs import live_processes

CATEGORIES = {"unit", "browser", "media", "e2e"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _no_support_processes_left() -> Iterator[None]:
    """Set up first, so checked last: no server or publisher of the stream tests outlives them."""
    yield
    left = [f"{p.name} (pid {p.pid})" for p in live_processes()]
    assert not left, f"processes left behind: {left}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marks = {m.name for m in item.iter_markers()} & CATEGORIES
        if len(marks) != 1:
            raise pytest.UsageError(f"{item.nodeid}: declare exactly one category of {CATEGORIES}")


@pytest.fixture(scope="session")
async def simulator() -> AsyncIterator[object]:
    from simulator.server import SimulatorServer

    async with SimulatorServer() as sim:
        yield sim


@pytest.fixture
def meeting_code() -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    pick = lambda n: "".join(secrets.choice(letters) for _ in range(n))  # noqa: E731
    return f"{pick(3)}-{pick(4)}-{pick(3)}"


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Fails the test if a bot process or sink outlives the run."""
    before_p, before_s = set(bot_processes()), set(bot_sinks())
    yield
    left_p = [p for p in bot_processes() if p not in before_p]
    left_s = [s for s in bot_sinks() if s not in before_s]
    assert not left_p, f"processes left behind: {left_p}"
    assert not left_s, f"sinks left behind: {left_s}"


DATA_DIR = Path(tempfile.mkdtemp(prefix="meetbot-test-data-"))


def meetbot_env(**overrides: str) -> dict[str, str]:
    """The bot's environment in tests: receivers on loopback are allowed, state in a temp dir."""
    env = dict(os.environ, MEETBOT_ALLOW_PRIVATE_URLS="127.0.0.1/32",
               MEETBOT_DATA_DIR=str(DATA_DIR))
    env.update(overrides)
    return env


def meetbot_cmd() -> list[str]:
    exe = shutil.which("meetbot", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "cli"]


@pytest.fixture(scope="session", autouse=True)
def _pulse_daemon() -> None:
    """Start the shared PulseAudio daemon once, as the bot would, so sink checks can see it."""
    if shutil.which("pulseaudio"):
        subprocess.run([sys.executable, "-c",
                        "import asyncio, pathlib; from bot.audio import ensure_pulse_daemon;"
                        "asyncio.run(ensure_pulse_daemon(pathlib.Path('/tmp/meetbot-pulse')))"],
                       check=False, timeout=30)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for the queue mode."""
    from tests.helpers import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as url:  # RuntimeError: says what is missing
        yield url
