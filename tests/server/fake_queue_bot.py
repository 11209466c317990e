"""A stand-in for `meetbot run` under `meetbot worker`: reports to Redis like a bot, then waits for
SIGTERM (ends done/stopped) or crashes (``crash``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from bot.lifecycle import Phase, Status
from server.redis_store import RedisStatusStore
from server.store import Result


async def main(mode: str) -> int:
    job = json.loads(os.environ["MEETBOT_JOB"])
    store = RedisStatusStore(os.environ["MEETBOT_REDIS_URL"])
    mid = job["meeting_id"]
    for phase in (Phase.STARTING, Phase.JOINING, Phase.IN_CALL_RECORDING):
        await store.record_phase(mid, phase, time.time())
    if mode == "crash":
        os._exit(3)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await store.finish(mid, Result(status=Status.DONE, reason="stopped"))
    await store.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
