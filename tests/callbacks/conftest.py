"""Fixtures for the callback tests: a fresh secret and an outbox per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbacks.outbox import Outbox
from callbacks.signing import generate_secret


@pytest.fixture
def secret() -> str:
    return generate_secret()


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox")
