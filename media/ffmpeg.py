"""ffmpeg and ffprobe command lines, built one way, and run as asyncio subprocesses.

``FFmpeg`` keeps inputs, outputs and their options in the order ffmpeg needs them (an input's
options before its ``-i``, an output's before its path); option values are strings, numbers, ``True``
for a bare flag, or a (width, height) pair. Every ffmpeg call in meetbot is built here.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.aio import bounded
from core.errors import RecordingError

Value = str | int | float | bool | tuple[int, int] | Path
Options = dict[str, Value]


def _flags(options: Options) -> list[str]:
    out: list[str] = []
    for key, value in options.items():
        if value is False or value is None:
            continue
        out.append(f"-{key}")
        if value is True:
            continue
        if isinstance(value, tuple):
            out.append(f"{value[0]}x{value[1]}")
        else:
            out.append(str(value))
    return out


@dataclass
class FFmpeg:
    """``FFmpeg(loglevel="error").input(src, f="pulse").output(dst, c="copy").args()``."""

    loglevel: str = "error"
    overwrite: bool = True
    interactive: bool = False
    """Read commands (``q`` to finish) on stdin; otherwise ``-nostdin``."""
    global_options: Options = field(default_factory=dict)
    _inputs: list[tuple[str, Options]] = field(default_factory=list)
    _outputs: list[tuple[str, Options]] = field(default_factory=list)
    _filter_complex: str | None = None

    def input(self, target: str | Path, **options: Value) -> FFmpeg:
        self._inputs.append((str(target), options))
        return self

    def filter_complex(self, graph: str) -> FFmpeg:
        self._filter_complex = graph
        return self

    def output(self, target: str | Path, options: Options | None = None, **more: Value) -> FFmpeg:
        """``options`` takes keys that are not identifiers (``{"b:a": "128k", "map": "0"}``)."""
        self._outputs.append((str(target), {**(options or {}), **more}))
        return self

    def args(self) -> list[str]:
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", self.loglevel]
        if not self.interactive:
            cmd.append("-nostdin")
        if self.overwrite:
            cmd.append("-y")
        cmd += _flags(self.global_options)
        for target, options in self._inputs:
            cmd += [*_flags(options), "-i", target]
        if self._filter_complex:
            cmd += ["-filter_complex", self._filter_complex]
        for target, options in self._outputs:
            maps = options.pop("map", None)
            for m in ([maps] if isinstance(maps, str) else maps or []):
                cmd += ["-map", m]
            cmd += [*_flags(options), target]
        return cmd


async def run(cmd: list[str], *, timeout: float | None = 120, nice: int = 0) -> bytes:
    """Run ffmpeg/ffprobe (or another media tool) to completion; its stdout, or RecordingError with
    the end of stderr. ``nice``: a lower priority (work beside a recording, e.g. indexing)."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )
    try:
        out, err = await bounded(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RecordingError(f"{Path(cmd[0]).name} failed: {err.decode(errors='replace').strip()[-400:]}")
    return out


def ffprobe(target: str | Path, *options: str) -> list[str]:
    return ["ffprobe", "-v", "error", *options, str(target)]


async def probe(path: Path) -> dict[str, Any]:
    out = await run(ffprobe(path, "-print_format", "json", "-show_format", "-show_streams"), timeout=60)
    return dict(json.loads(out))


async def first_packet_pts(path: Path, stream: str = "v") -> float | None:
    out = await run(ffprobe(path, "-select_streams", stream, "-show_entries", "packet=pts_time",
                            "-read_intervals", "%+#1", "-of", "csv=p=0"), timeout=30)
    for line in out.decode().split():
        line = line.strip().strip(",")
        if line and line != "N/A":
            return float(line)
    return None


def stream_of(info: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for s in info.get("streams", []):
        if s.get("codec_type") == kind:
            return dict(s)
    return None
