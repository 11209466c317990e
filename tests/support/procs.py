"""Child processes for the test servers and publishers, which must never outlive the session.

Each child runs in its own process group (``start_new_session``) so that stopping it also stops
whatever it started (npm's node, ffmpeg's helpers). Fixtures stop their children in teardown; as
a safety net every child still alive when the interpreter exits is killed by an ``atexit`` hook,
and on SIGTERM (which skips atexit) by a handler that then lets the signal kill the process as
before (installed only where SIGTERM had its default action). SIGKILL cannot be caught.
Stdout can be read line by line as JSON events (the RTSP relay and the RTMP server announce
publishers and players that way); stderr goes to a log file whose tail is shown on failure.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_LIVE: set[ManagedProcess] = set()
_LIVE_LOCK = threading.Lock()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on 127.0.0.1 right now (for servers that cannot be told to pick one)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, *,
               alive: ManagedProcess | None = None, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if alive is not None and not alive.running:
            raise RuntimeError(f"{alive.name} exited ({alive.returncode}) while waiting for {what}\n"
                               f"{alive.log_tail()}")
        if time.monotonic() > deadline:
            tail = f"\n{alive.log_tail()}" if alive is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)


async def wait_until_async(check: Callable[[], Any], timeout: float, what: str, *,
                           alive: ManagedProcess | None = None, interval: float = 0.05) -> Any:
    """``wait_until`` for async tests: the checks are quick and non-blocking, the waits are awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if alive is not None and not alive.running:
            raise RuntimeError(f"{alive.name} exited ({alive.returncode}) while waiting for {what}\n"
                               f"{alive.log_tail()}")
        if time.monotonic() > deadline:
            tail = f"\n{alive.log_tail()}" if alive is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        await asyncio.sleep(interval)


class ManagedProcess:
    """One child process in its own group, with a log file and optional JSON events on stdout."""

    def __init__(self, args: Sequence[str], *, name: str, log_path: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None, events: bool = False) -> None:
        self.args = [str(a) for a in args]
        self.name = name
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self.events: list[dict[str, Any]] = []
        self._want_events = events
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ManagedProcess:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # the child keeps its own copy
        try:
            self._proc = subprocess.Popen(
                self.args, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self._want_events else log, stderr=log,
                start_new_session=True)
        finally:
            log.close()
        with _LIVE_LOCK:
            _LIVE.add(self)
        _install_sigterm_cleanup()
        if self._want_events:
            self._reader = threading.Thread(target=self._read_events, name=f"{self.name}-events",
                                            daemon=True)
            self._reader.start()
        return self

    def stop(self, timeout: float = 5.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the whole group, wait, then SIGKILL what is left. Idempotent."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
                if sig != signal.SIGKILL:
                    os.killpg(proc.pid, signal.SIGCONT)  # a paused child handles it now
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # The group may hold children of the leader: always sweep it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        return proc.returncode

    def kill(self) -> int | None:
        """Stop at once, without letting the child say goodbye (a source that is simply lost)."""
        return self.stop(timeout=0.0, sig=signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP the group: the child keeps its connections open and sends nothing."""
        if self.running:
            assert self._proc is not None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            assert self._proc is not None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"[{self.name}: no log]"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"[{self.name} log {self.log_path}]\n{tail}"

    # -- events ----------------------------------------------------------------------------------

    def _read_events(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        with open(self.log_path, "ab") as log:
            for raw in proc.stdout:
                line = raw.decode(errors="replace").strip()
                event = None
                if line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        event = json.loads(line)
                if isinstance(event, dict):
                    event.setdefault("t", time.monotonic())
                    with self._cond:
                        self.events.append(event)
                        self._cond.notify_all()
                else:
                    log.write(raw)
                    log.flush()
        proc.stdout.close()
        with self._cond:
            self._cond.notify_all()

    def find_event(self, match: Callable[[dict[str, Any]], bool], since: int = 0) -> dict[str, Any] | None:
        with self._cond:
            return next((e for e in self.events[since:] if match(e)), None)

    def mark(self) -> int:
        """A position in the event list: ``find_event(..., since=mark)`` sees only later events."""
        with self._cond:
            return len(self.events)

    def wait_event(self, match: Callable[[dict[str, Any]], bool], timeout: float, what: str,
                   since: int = 0) -> dict[str, Any]:
        return wait_until(lambda: self.find_event(match, since), timeout, what, alive=self)

    async def wait_event_async(self, match: Callable[[dict[str, Any]], bool], timeout: float, what: str,
                               since: int = 0) -> dict[str, Any]:
        return await wait_until_async(lambda: self.find_event(match, since), timeout, what, alive=self)


def live_processes() -> list[ManagedProcess]:
    """Children started here and not stopped yet (fixtures assert this is empty at the end)."""
    with _LIVE_LOCK:
        return [p for p in _LIVE if p.running]


@atexit.register
def _kill_leftovers() -> None:
    with _LIVE_LOCK:
        left = list(_LIVE)
    for proc in left:
        with contextlib.suppress(Exception):
            proc.kill()


def _on_sigterm(signum: int, frame: Any) -> None:
    """A SIGTERM skips atexit: kill the children first, then die of the signal as before."""
    _kill_leftovers()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm_cleanup() -> None:
    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
