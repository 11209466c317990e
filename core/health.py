"""A bot's live figures, in a small JSON file its launcher reads on the same machine: frames
captured against due while it records, its outcome and callback latency when it ends. The
launcher (``serve``, ``worker``) names the file in ``MEETBOT_HEALTH_FILE``; a bot run alone
writes none."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import psutil


def update_health(path: Path | None, **figures: Any) -> None:
    """Merge ``figures`` into the file (written whole, then renamed: a reader never sees half)."""
    if path is None:
        return
    try:
        current = read_health(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({**current, **figures}))
        tmp.replace(path)
    except OSError:
        pass  # figures for metrics: never worth failing a recording over


def read_health(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def process_tree_usage(pid: int) -> tuple[float, float, float | None]:
    """CPU seconds and PSS bytes of a process and its descendants (for a bot: Python, Chromium,
    Xvfb, ffmpeg), and when it started; (0, 0, None) when it is gone."""
    try:
        root = psutil.Process(pid)
        procs, started = [root, *root.children(recursive=True)], root.create_time()
    except psutil.Error:
        return 0.0, 0.0, None
    seconds = pss = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            seconds += t.user + t.system
            pss += getattr(p.memory_full_info(), "pss", 0.0)
    return seconds, pss, started
