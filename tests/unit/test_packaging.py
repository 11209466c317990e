"""The image installs what CI tests: the Dockerfile runs the setup script and ships every package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_runs_the_setup_script_and_copies_every_package() -> None:
    docker = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^RUN scripts/setup\.sh", docker, re.M)
    copied = set(re.findall(r"^COPY (\S+) ", docker, re.M))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert packages and set(packages) <= copied, set(packages) - copied
    assert "scripts" in copied


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
