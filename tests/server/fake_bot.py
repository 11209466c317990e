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

from core.lifecycle import Phase, Status
from core.settings import Settings
from status import open_store
from status.store import Result


async def main(mode: str) -> int:
    job = json.loads(os.environ["MEETBOT_JOB"])
    store = open_store(Settings())  # the store a real bot would report to, from the environment
    assert store is not None
    mid, base = job["meeting_id"], os.environ.get("MEETBOT_PUBLIC_URL")
    urls = {"player_url": f"{base}/watch?v={job['video_id']}"} if base else None
    settings = Settings()

    async def beat() -> None:  # like a real bot, it says it is alive itself
        while True:
            await store.beat(mid, f"fake-{os.getpid()}", settings.heartbeat_ttl)
            await asyncio.sleep(settings.heartbeat_interval)

    beating = asyncio.create_task(beat())
    for phase in (Phase.STARTING, Phase.JOINING, Phase.IN_CALL_RECORDING):
        await store.record_phase(mid, phase, time.time(), urls)
    if mode == "crash":
        os._exit(3)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    beating.cancel()
    await store.finish(mid, Result(status=Status.DONE, reason="stopped"))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
