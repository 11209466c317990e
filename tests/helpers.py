"""Measurements the tests make on real outputs: ffprobe, audio levels, leftover resources."""

from __future__ import annotations

import array
import contextlib
import json
import math
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulsectl

PULSE_SERVER = "unix:/tmp/meetbot-pulse/native"


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        check=True, capture_output=True, timeout=60,
    ).stdout
    return dict(json.loads(out))


def stream(info: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


class AudioTrack:
    """The file's audio as mono 8 kHz samples, indexed by the file's own clock."""

    RATE = 8000

    def __init__(self, path: Path) -> None:
        info = ffprobe(path)
        self.start = float(stream(info, "audio").get("start_time", 0.0))
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar",
             str(self.RATE), "-f", "s16le", "-"], check=True, capture_output=True, timeout=120,
        ).stdout
        self.samples = array.array("h", raw)

    def rms_db(self, t0: float, t1: float) -> float:
        a = max(0, int((t0 - self.start) * self.RATE))
        b = min(len(self.samples), int((t1 - self.start) * self.RATE))
        if b <= a:
            return -120.0
        acc = sum(s * s for s in self.samples[a:b]) / (b - a)
        return 20 * math.log10(math.sqrt(acc) / 32768) if acc > 0 else -120.0


def bot_processes() -> list[str]:
    """Processes a bot starts and must stop: Xvfb, Chromium, ffmpeg, pacat keep-alive."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines()[1:]:
        args = line.strip().split(None, 1)[1] if " " in line.strip() else ""
        if ("Xvfb" in args and "-nolisten" in args) or "meetbot-profile" in args \
                or ("ffmpeg" in args and "x11grab" in args) or "meetbot-keepalive" in args:
            found.append(line.strip())
    return found


def bot_sinks() -> list[str]:
    try:
        with pulsectl.Pulse("meetbot-test", server=PULSE_SERVER) as pulse:
            return [s.name for s in pulse.sink_list() if s.name.startswith("meetbot_")]
    except pulsectl.PulseError:
        return []


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port (no persistence); its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (scripts/setup.sh installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
