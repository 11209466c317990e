"""The bot's Xvfb dies with the bot, even when the bot is SIGKILLed (nothing left to reap)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.aio import bounded

pytestmark = pytest.mark.media

HOLD = """
import asyncio, os, sys
from bot.display import VirtualDisplay

async def main():
    async with VirtualDisplay(width=320, height=240) as display:
        print(display.pid, display.name, flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_xvfb_ends_when_its_bot_is_sigkilled() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLD, cwd=root,
                                                stdout=asyncio.subprocess.PIPE,
                                                env=dict(os.environ, PYTHONPATH=str(root)))
    assert proc.stdout is not None
    line = (await bounded(proc.stdout.readline(), 20)).decode().split()
    pid, name = int(line[0]), line[1]
    xvfb = psutil.Process(pid)
    assert xvfb.name() == "Xvfb" and xvfb.is_running()
    assert os.path.exists(f"/tmp/.X11-unix/X{name.lstrip(':')}")
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert await asyncio.to_thread(ends_within, xvfb, 5.0), f"Xvfb {pid} outlived its SIGKILLed bot"


def ends_within(proc: psutil.Process, seconds: float) -> bool:
    """``proc`` exits (or is a zombie: where PID 1 does not reap, orphans stay so) in time."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
