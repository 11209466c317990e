"""Leases on resources that outlive a SIGKILLed bot: its Xvfb server, its PulseAudio sink and its
temporary directories (the browser profile, the segments being recorded).

ffmpeg and pacat die with the bot (PR_SET_PDEATHSIG) and Chromium with Playwright's driver, but
Xvfb and a loaded sink module would stay forever. Each owner writes a lease while it holds one;
the next bot on the machine releases what dead owners left (``reap_stale``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pulsectl

log = logging.getLogger("meetbot.leases")
_STARTED = psutil.Process().create_time()


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether ``pid`` runs and, given its start time, is still that process.

    A zombie counts as dead: a SIGKILLed bot whose parent died too stays a zombie until its new
    parent reaps it, forever where PID 1 does not (a container without an init); a pid can be
    reused after a wrap-around, hence the start time."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 0.05
    except psutil.Error:
        return False


class Lease:
    def __init__(self, directory: Path, kind: str, **facts: Any) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}-{kind}-{facts.get('pid') or facts.get('name')}.json"
        self.path.write_text(json.dumps({"owner": os.getpid(), "started": _STARTED, "kind": kind,
                                         **facts}))

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def leased_tempdir(lease_dir: Path, prefix: str) -> Iterator[Path]:
    """A scratch directory (``meetbot-<prefix>...``) removed on exit and, should this process be
    SIGKILLed first, by the next bot, worker or server on the machine (its lease names a dead
    owner)."""
    path = Path(tempfile.mkdtemp(prefix=f"meetbot-{prefix}"))
    lease = Lease(lease_dir, "dir", path=str(path), name=path.name)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        lease.release()


def reap_stale(directory: Path, pulse_server: str) -> list[str]:
    """Release resources whose owning bot process is gone; returns what was released."""
    released: list[str] = []
    if not directory.is_dir():
        return released
    for path in directory.glob("*.json"):
        try:
            lease = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            path.unlink(missing_ok=True)
            continue
        if process_alive(int(lease.get("owner", 0)), lease.get("started")):
            continue
        if lease.get("kind") == "xvfb":
            pid = int(lease["pid"])
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                cmdline = b""
            if b"Xvfb" in cmdline:  # the pid may have been reused by something else
                os.kill(pid, signal.SIGTERM)
                released.append(f"xvfb:{pid}")
        elif lease.get("kind") == "dir":
            where = Path(str(lease.get("path", "")))
            # Only a directory of ours: the lease file could have been written by anything.
            if where.is_absolute() and where.name.startswith("meetbot-") and where.is_dir():
                shutil.rmtree(where, ignore_errors=True)
                released.append(f"dir:{where}")
        elif lease.get("kind") == "sink":
            try:
                with pulsectl.Pulse("meetbot-reaper", server=pulse_server) as pulse:
                    for mod in pulse.module_list():
                        if mod.name == "module-null-sink" and f"sink_name={lease['name']} " in \
                                f"{mod.argument} ":
                            pulse.module_unload(mod.index)
                            released.append(f"sink:{lease['name']}")
            except pulsectl.PulseError:
                if _daemon_socket(pulse_server).exists():
                    continue  # a daemon that did not answer now: keep the lease for the next pass
                # no daemon: nothing of the sink is left
        path.unlink(missing_ok=True)
    if released:
        log.warning("released resources of dead bots", extra={"released": released})
    return released


def _daemon_socket(pulse_server: str) -> Path:
    return Path(pulse_server.removeprefix("unix:"))
