"""Child processes of the test servers go away with their group, and their events are read."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.procs import ManagedProcess, live_processes, wait_until

pytestmark = pytest.mark.media


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def test_stop_takes_the_whole_group_and_events_are_read(tmp_path: Path) -> None:
    script = ("import json, subprocess, sys, time;"
              "child = subprocess.Popen(['sleep', '60']);"
              "print(json.dumps({'event': 'child', 'pid': child.pid}), flush=True);"
              "print('not an event', flush=True);"
              "time.sleep(60)")
    proc = ManagedProcess([sys.executable, "-c", script], name="parent", log_path=tmp_path / "p.log",
                          events=True).start()
    event = proc.wait_event(lambda e: e["event"] == "child", 10, "the child's pid")
    child = int(event["pid"])
    assert proc in live_processes() and _alive(child)
    proc.stop(timeout=2)
    assert not proc.running and proc not in live_processes()
    wait_until(lambda: not _alive(child), 5, "the grandchild to go")
    assert "not an event" in (tmp_path / "p.log").read_text()


def test_a_child_that_dies_early_is_reported_with_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess([sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"],
                          name="early", log_path=tmp_path / "e.log").start()
    with pytest.raises(RuntimeError, match=r"(?s)early exited \(3\).*boom"):
        wait_until(lambda: False, 10, "something", alive=proc)
    proc.stop()
