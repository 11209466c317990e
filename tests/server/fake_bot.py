"""A stand-in for `meetbot run` under `meetbot serve` (SQLite store) or `meetbot worker` (Redis):
reports like a bot, then crashes or stops.

``python fake_bot.py crash|wait``: ``crash`` exits 3 mid-call; ``wait`` records until SIGTERM,
then ends ``done`` / ``stopped``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from bot.config import Settings
from bot.lifecycle import Phase, Status
from server.store import Result
from server.stores import bot_store


async def main(mode: str) -> int:
    job = json.loads(os.environ["MEETBOT_JOB"])
    store = bot_store(Settings())  # the store a real bot would report to, from the environment
    assert store is not None
    mid, base = job["meeting_id"], os.environ.get("MEETBOT_PUBLIC_URL")
    urls = {"player_url": f"{base}/watch?v={job['video_id']}"} if base else None
    for phase in (Phase.STARTING, Phase.JOINING, Phase.IN_CALL_RECORDING):
        await store.record_phase(mid, phase, time.time(), urls)
    if mode == "crash":
        os._exit(3)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await store.finish(mid, Result(status=Status.DONE, reason="stopped"))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
