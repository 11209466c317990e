"""Benchmark: seeded fault injection against `meetbot serve` recording simulated meetings.

    .venv/bin/python benchmarks/faults.py [--jobs 14] [--seed 1] [--json out.json]

Each job is a 12 s Meet meeting sent through the API with a callback; a fault picked by the seed
strikes a random 1-8 s after admission: none, the bot process, its ffmpeg, its Chromium renderer,
its whole browser, its Xvfb, or the server with all its bots (started again on the same data).
Per fault kind: how the meetings ended, the seconds from the fault to the final status, the
callbacks received per meeting (exactly one is right), and what was left on the machine (bot
processes, sinks, scratch directories). Nothing lost, nothing stuck: every meeting final, one
callback each, nothing left. The machine should otherwise be idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callbacks.receiver import CallbackReceiver
from simulator.server import SimulatorServer
from tests.helpers import bot_processes, bot_sinks
from tests.server.test_serve_e2e import KEY, free_port, start_serve

FAULTS = ["none", "bot", "ffmpeg", "renderer", "browser", "xvfb", "server"]


def meeting(code: str) -> dict[str, Any]:
    return {"platform": "meet", "meeting_code": code, "title": "Faults",
            "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
            "lobby": {"mode": "open"},
            "speech": [{"speaker": "Alice", "at": 1.0, "text": "Let us review the new design today."},
                       {"speaker": "Bob", "at": 5.0, "text": "I like the colours a lot."}],
            "end": {"kind": "host_ended", "at": 12.0}}


def strike(fault: str, server_pid: int) -> bool:
    """Kill what the fault names among the server's descendants; False if it was not there."""
    family = psutil.Process(server_pid).children(recursive=True)

    def cmd(p: psutil.Process) -> str:
        with contextlib.suppress(psutil.Error):
            return " ".join(p.cmdline())
        return ""
    pick = {
        "bot": lambda p: " -m bot" in cmd(p) or cmd(p).endswith("bot"),
        "ffmpeg": lambda p: p.name() == "ffmpeg" and "x11grab" in cmd(p),
        "renderer": lambda p: "--type=renderer" in cmd(p) and "--extension-process" not in cmd(p),
        "browser": lambda p: "chrom" in p.name() and "--type=" not in cmd(p),
        "xvfb": lambda p: p.name() == "Xvfb",
    }[fault]
    hit = [p for p in family if pick(p)]
    for p in hit:
        with contextlib.suppress(psutil.Error):
            p.kill()
    return bool(hit)


def media_lost(fault: str, struck_at: float, body: dict[str, Any]) -> float | None:
    """Seconds of the call before the fault that the recording lacks (what was recorded up to the
    fault, against the time from its start to the fault); for ffmpeg, restarted, its gaps."""
    if body.get("duration") is None or body.get("recording_started_at") is None:
        return None
    if fault == "ffmpeg":
        return sum(p.get("duration", 0.0) for p in body.get("pauses") or [])
    if fault == "none":
        return 0.0
    return max(0.0, struck_at - body["recording_started_at"] - body["duration"])


def scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("meetbot-*") if p.is_dir()
            and not p.name.startswith(("meetbot-pulse", "meetbot-faults", "meetbot-test"))}


async def main(jobs: int, seed: int, out_json: Path | None) -> None:
    rng = random.Random(seed)
    plan = [(FAULTS[i % len(FAULTS)], round(rng.uniform(1, 8), 1)) for i in range(jobs)]
    rng.shuffle(plan)
    before = (set(bot_processes()), set(bot_sinks()), scratch_dirs())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="meetbot-faults-") as tmp:
        work = Path(tmp)
        async with SimulatorServer() as sim, CallbackReceiver() as rx, httpx.AsyncClient() as http:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            procs = await start_serve(work, sim, None, port, MEETBOT_AV_SELFTEST="true")
            headers = {"x-access-token": KEY}
            for i, (fault, delay) in enumerate(plan):
                code = "-".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
                                for n in (3, 4, 3))
                await sim.add_scenario(meeting(code))
                r = await http.post(f"{url}/collection/default/meeting/record", headers=headers, json={
                    "meeting_url": f"https://meet.google.com/{code}", "callback_url": rx.url,
                    "callback_data": {"job": i}})
                mid = r.json()["data"]["meeting_id"]
                await sim.wait_for_event(code, "admitted", timeout=90)
                await asyncio.sleep(delay)
                struck_at = time.time()
                hit = True
                if fault == "server":
                    for p in [psutil.Process(procs[0].pid), *psutil.Process(procs[0].pid).children(True)]:
                        with contextlib.suppress(psutil.Error):
                            p.kill()
                    await procs[0].wait()
                    procs = await start_serve(work, sim, None, port, MEETBOT_AV_SELFTEST="true")
                elif fault != "none":
                    hit = strike(fault, procs[0].pid)
                final, status, data = None, None, {}
                for _ in range(600):
                    with contextlib.suppress(httpx.HTTPError):
                        data = (await http.get(f"{url}/collection/default/meeting/{mid}",
                                               headers=headers)).json()["data"]
                        status = data["status"]
                        if status in ("done", "failed"):
                            final = time.time()
                            break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(3)  # a second callback, if any, would come now
                calls = [c for c in rx.received if c.json().get("meeting_id") == mid]
                rows.append({"fault": fault, "hit": hit, "delay_s": delay, "status": status,
                             "reason": data.get("reason"), "to_final_s": final and final - struck_at,
                             "callbacks": len(calls),
                             "media_lost_s": media_lost(fault, struck_at, calls[-1].json() if calls else {})})
                print(json.dumps(rows[-1], default=lambda v: round(v, 2)), flush=True)
            for p in procs:
                p.terminate()
                await p.wait()
    await asyncio.sleep(2)
    left = (set(bot_processes()) - before[0], set(bot_sinks()) - before[1], scratch_dirs() - before[2])
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["fault"]].append(r)
    summary = {}
    for fault, rs in by.items():
        times = [r["to_final_s"] for r in rs if r["to_final_s"] is not None]
        summary[fault] = {"jobs": len(rs), "ended": dict(Counter(f"{r['status']}/{r['reason']}" for r in rs)),
                          "stuck": sum(r["status"] not in ("done", "failed") for r in rs),
                          "callbacks_not_one": sum(r["callbacks"] != 1 for r in rs),
                          "to_final_s_max": max(times) if times else None,
                          "media_lost_s_max": max((r["media_lost_s"] for r in rs
                                                   if r["media_lost_s"] is not None), default=None)}
        print(fault, json.dumps(summary[fault], default=lambda v: round(v, 1)))
    print(f"left behind: processes {sorted(left[0])}, sinks {sorted(left[1])}, dirs {sorted(left[2])}")
    if out_json:
        out_json.write_text(json.dumps({"seed": seed, "rows": rows, "summary": summary,
                                        "left": [sorted(x) for x in left]}, indent=2, default=str))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.seed, args.json))
