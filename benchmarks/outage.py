"""Benchmark: a callback receiver down for ten minutes gets the event exactly once after it is back.

    .venv/bin/python benchmarks/outage.py [--outage 600] [--after 120] [--json out.json]

`meetbot serve` (its own bots, the default retry policy: 5 s doubling to 30 min, for 24 h) records
a 12 s simulated Meet meeting whose callback_url is a port nobody listens on. The receiver comes up
on that port ``--outage`` seconds after the meeting's status is final, then is watched ``--after``
seconds more, for duplicates. Prints: the attempts made while it was down (from the outbox), the
requests the receiver got, their webhook-ids (one, for exactly once), the seconds from the receiver
up to the delivery ("receiver back -> delivered": the probe interval plus the outbox's poll, goal
<= 10 s; 301 s before receivers were probed, the next backoff), and whether the outbox is empty.
Mostly idle: runs beside other work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.faults import meeting
from callbacks.receiver import CallbackReceiver
from simulator.server import SimulatorServer
from tests.server.test_serve_e2e import KEY, free_port, start_serve


def outbox_entries(data: Path, state: str = "") -> list[dict[str, Any]]:
    """The outbox's pending entries, or those in ``state`` ("delivered", "dead")."""
    out = []
    for path in sorted((data / "outbox" / state).glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            out.append(json.loads(path.read_text()))
    return out


async def main(outage: float, after: float, out_json: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="meetbot-outage-") as tmp:
        work = Path(tmp)
        rx_port = free_port()
        callback = f"http://127.0.0.1:{rx_port}/callback"
        async with SimulatorServer() as sim, httpx.AsyncClient() as http:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            # The production retry policy; only the status grace is short, as in the tests.
            procs = await start_serve(work, sim, None, port, MEETBOT_AV_SELFTEST="true")
            headers = {"x-access-token": KEY}
            try:
                code = "out-ages-now"
                await sim.add_scenario(meeting(code))
                r = await http.post(f"{url}/collection/default/meeting/record", headers=headers, json={
                    "meeting_url": f"https://meet.google.com/{code}", "callback_url": callback})
                mid = r.json()["data"]["meeting_id"]
                status = None
                for _ in range(900):
                    data = (await http.get(f"{url}/collection/default/meeting/{mid}",
                                           headers=headers)).json()["data"]
                    status = data["status"]
                    if status in ("done", "failed"):
                        break
                    await asyncio.sleep(0.2)
                final_at = time.time()
                print(json.dumps({"status": status, "receiver_down_for_s": outage}), flush=True)
                await asyncio.sleep(outage)
                pending = outbox_entries(work / "data")
                attempts_down = sum(len(e.get("attempts", [])) for e in pending)
                async with CallbackReceiver(port=rx_port) as rx:
                    up_at = time.time()
                    print(json.dumps({"receiver_up_after_s": round(up_at - final_at, 1),
                                      "pending": len(pending), "attempts_while_down": attempts_down}),
                          flush=True)
                    # The retry policy's longest wait (30 min), and the outbox's poll.
                    with contextlib.suppress(TimeoutError):
                        await rx.wait_for(1, timeout=1800 + 60)
                    delivered_at = rx.received[0].at if rx.received else None
                    await asyncio.sleep(after)
                    got = [{"status": c.status, "webhook_id": c.headers.get("webhook-id"),
                            "meeting_id": c.json().get("meeting_id")} for c in rx.received]
                left = len(outbox_entries(work / "data"))
                done = outbox_entries(work / "data", "delivered")
                dead = len(outbox_entries(work / "data", "dead"))
            finally:
                for p in procs:
                    p.terminate()
                    await p.wait()
    result = {
        "outage_s": outage, "status": status, "attempts_while_down": attempts_down,
        "requests_received": len(got), "ok_received": sum(200 <= (g["status"] or 0) < 300 for g in got),
        "webhook_ids": sorted({g["webhook_id"] for g in got}),
        "delivered_after_up_s": None if delivered_at is None else round(delivered_at - up_at, 1),
        "for_this_meeting": all(g["meeting_id"] == mid for g in got),
        "outbox_pending_left": left, "outbox_dead": dead,
        "outbox_delivered": len(done),  # kept for inspection
        "attempts_in_all": sum(len(e.get("attempts", [])) for e in done),
    }
    print(json.dumps(result), flush=True)
    if out_json:
        out_json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage", type=float, default=600.0)
    parser.add_argument("--after", type=float, default=120.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    asyncio.run(main(args.outage, args.after, args.json))
