"""Leftovers of bots that died with their host (SIGKILL of the container's processes): a starting
`meetbot serve` releases them, as a starting worker or bot does."""

from __future__ import annotations

import json
import os
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


def test_serve_removes_the_temporary_directories_of_a_dead_bot_and_nothing_else(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    leases = runtime / "leases"
    leases.mkdir(parents=True)
    owner = dead_pid()
    left = tmp_path / "meetbot-mt-dead-abc"
    (left / "hls0").mkdir(parents=True)
    (left / "hls0" / "seg_00001.ts").write_bytes(b"x" * 1000)
    precious = tmp_path / "user-data"
    precious.mkdir()
    for i, where in enumerate((left, precious)):
        (leases / f"{owner}-dir-{i}.json").write_text(
            json.dumps({"owner": owner, "kind": "dir", "path": str(where), "name": where.name}))
    alive = tmp_path / "meetbot-mt-alive"
    alive.mkdir()
    (leases / f"{os.getpid()}-dir-alive.json").write_text(
        json.dumps({"owner": os.getpid(), "kind": "dir", "path": str(alive), "name": alive.name}))
    with serve(tmp_path / "serve", MEETBOT_RUNTIME_DIR=str(runtime)) as server:
        assert "released resources of dead bots" in server.log.read_text()
    assert not left.exists(), "the dead bot's directory is removed"
    assert precious.is_dir(), "a lease never removes a directory that is not ours"
    assert alive.is_dir() and (leases / f"{os.getpid()}-dir-alive.json").exists(), "a live owner keeps it"


def test_a_zombie_or_a_reused_pid_is_no_owner(tmp_path: Path) -> None:
    """A SIGKILLed bot orphaned with its server stays a zombie where PID 1 does not reap (a
    container without an init); a pid is reused after a wrap-around. Neither keeps a lease."""
    from bot.leases import process_alive, reap_stale

    zombie = subprocess.Popen(["true"])
    try:
        wait_until_zombie(zombie.pid)
        assert not process_alive(zombie.pid)
        reused = os.getpid()  # runs, but started long after the lease's owner did
        leases = tmp_path / "leases"
        leases.mkdir()
        dirs = []
        for i, (owner, started) in enumerate([(zombie.pid, None), (reused, 1_000_000.0)]):
            left = tmp_path / f"meetbot-left-{i}"
            left.mkdir()
            dirs.append(left)
            (leases / f"{owner}-dir-{i}.json").write_text(json.dumps(
                {"owner": owner, "started": started, "kind": "dir", "path": str(left)}))
        released = reap_stale(leases, "unix:/nonexistent/native")
        assert sorted(released) == sorted(f"dir:{d}" for d in dirs)
        assert not any(d.exists() for d in dirs) and not list(leases.glob("*.json"))
    finally:
        zombie.wait()


def wait_until_zombie(pid: int) -> None:
    import psutil

    for _ in range(100):
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return
        time.sleep(0.02)
    raise AssertionError(f"{pid} did not end")


def test_a_servers_scratch_directory_is_leased_while_in_use(tmp_path: Path) -> None:
    """Salvage, export, index and ingest work in such directories: a SIGKILLed server's are
    released by the next process on the machine, like a bot's."""
    from bot.leases import leased_tempdir, reap_stale

    leases = tmp_path / "leases"
    with leased_tempdir(leases, "export-v1-") as work:
        assert work.name.startswith("meetbot-export-v1-") and work.is_dir()
        [lease] = list(leases.glob("*.json"))
        assert json.loads(lease.read_text())["path"] == str(work)
        assert reap_stale(leases, "unix:/nonexistent/native") == [], "its owner is alive"
    assert not work.exists() and not list(leases.glob("*.json"))
