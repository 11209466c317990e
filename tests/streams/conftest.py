"""The RTStream test infrastructure's fixtures (``tests/support/fixtures.py``), and a last check
that no server or publisher started here outlives the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fixtures import *  # noqa: F403 - the fixtures, listed in its __all__
from tests.support.procs import live_processes


@pytest.fixture(scope="session", autouse=True)
def _no_stream_processes_left() -> Iterator[None]:
    yield
    left = [f"{p.name} (pid {p.pid})" for p in live_processes()]
    assert not left, f"processes left behind: {left}"
