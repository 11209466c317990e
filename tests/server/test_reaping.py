"""Leftovers of bots that died with their host (SIGKILL of the container's processes): a starting
`meetbot serve` releases them, as a starting worker or bot does."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.streams.serve import serve

pytestmark = pytest.mark.media


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_serve_releases_the_display_of_a_dead_bot(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    xvfb = subprocess.Popen(["Xvfb", ":187", "-nolisten", "tcp", "-screen", "0", "320x240x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.5)
        assert xvfb.poll() is None
        leases = runtime / "leases"
        leases.mkdir(parents=True)
        owner = dead_pid()
        (leases / f"{owner}-xvfb-{xvfb.pid}.json").write_text(
            json.dumps({"owner": owner, "kind": "xvfb", "pid": xvfb.pid}))
        with serve(tmp_path / "serve", MEETBOT_RUNTIME_DIR=str(runtime)) as server:
            xvfb.wait(timeout=10)
            assert "released resources of dead bots" in server.log.read_text()
        assert not list(leases.glob("*.json"))
    finally:
        if xvfb.poll() is None:
            xvfb.kill()
            xvfb.wait()
