"""Benchmark: many jobs in a row on one `meetbot worker` leave nothing behind, and memory stays flat.

    .venv/bin/python benchmarks/soak.py [--jobs 50] [--json out.json] [--png out.png]

Queue mode, as in production: a real redis-server, `meetbot serve` taking the API calls and one
`meetbot worker` running the bots, one at a time. Each job is a short simulated Meet meeting (two
speakers, 8 s) with a callback. After each job: the PSS, open file descriptors and threads of
`serve` and of the worker (their own processes; the bots have ended), the job's status and its
callbacks. At the end, what is left on the machine that was not there before: bot processes
(Xvfb, Chromium, ffmpeg, keep-alive), PulseAudio sinks, scratch directories, and the two servers'
descriptors. The memory trend is the slope of PSS over the second half of the run (MB per job).
The machine should otherwise be idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.faults import scratch_dirs
from callbacks.receiver import CallbackReceiver
from simulator.server import SimulatorServer
from tests.helpers import bot_processes, bot_sinks, redis_server
from tests.server.test_serve_e2e import KEY, free_port, start_serve


def scenario(code: str) -> dict[str, Any]:
    return {"platform": "meet", "meeting_code": code, "title": "Soak",
            "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
            "lobby": {"mode": "open"},
            "speech": [{"speaker": "Alice", "at": 1.0, "text": "Hello there."},
                       {"speaker": "Bob", "at": 3.0, "text": "I like the colours a lot."}],
            "end": {"kind": "host_ended", "at": 8.0}}


def own(pid: int) -> dict[str, float]:
    """PSS (MB), descriptors and threads of one process, not its children."""
    p = psutil.Process(pid)
    with p.oneshot():
        return {"pss_mb": p.memory_full_info().pss / 1e6, "fds": p.num_fds(), "threads": p.num_threads()}


def slope(ys: list[float]) -> float:
    """Least-squares slope per step."""
    if len(ys) < 2:
        return 0.0
    xs = list(range(len(ys)))
    return statistics.linear_regression(xs, ys).slope


async def run_jobs(jobs: int, work: Path, redis_url: str,
                   rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The jobs, one after the other; the servers' own figures at the start and the end."""
    async with SimulatorServer() as sim, CallbackReceiver() as rx, httpx.AsyncClient() as http:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        procs = await start_serve(work, sim, redis_url, port, MEETBOT_AV_SELFTEST="true")
        serve_pid, worker_pid = procs[0].pid, procs[1].pid
        await asyncio.sleep(2)
        start = {"serve": own(serve_pid), "worker": own(worker_pid)}
        headers = {"x-access-token": KEY}
        try:
            for i in range(jobs):
                code = "sok-" + "".join("abcdefghij"[int(d)] for d in f"{i:04d}") + "-job"
                await sim.add_scenario(scenario(code))
                t0 = time.time()
                r = await http.post(f"{url}/collection/default/meeting/record", headers=headers,
                                    json={"meeting_url": f"https://meet.google.com/{code}",
                                          "callback_url": rx.url, "callback_data": {"job": i}})
                if r.status_code != 200:
                    raise SystemExit(f"the API refused job {i}: {r.status_code} {r.text}")
                mid = r.json()["data"]["meeting_id"]
                status = reason = None
                for _ in range(900):
                    with contextlib.suppress(httpx.HTTPError):
                        data = (await http.get(f"{url}/collection/default/meeting/{mid}",
                                               headers=headers)).json()["data"]
                        status, reason = data["status"], data.get("reason")
                        if status in ("done", "failed"):
                            break
                    await asyncio.sleep(0.2)
                # The worker's bot exits just after its job is final.
                for _ in range(50):
                    if not psutil.Process(worker_pid).children(recursive=True):
                        break
                    await asyncio.sleep(0.2)
                calls = sum(1 for c in rx.received if c.json().get("meeting_id") == mid)
                row = {"job": i, "status": status, "reason": reason, "seconds": time.time() - t0,
                       "callbacks": calls, "serve": own(serve_pid), "worker": own(worker_pid)}
                rows.append(row)
                print(json.dumps(row, default=lambda v: round(v, 2)), flush=True)
        finally:
            end = {"serve": own(serve_pid), "worker": own(worker_pid)}
            for p in procs:
                p.terminate()
                await p.wait()
    return start, end


async def main(jobs: int, out_json: Path | None, out_png: Path | None) -> dict[str, Any]:
    before = (set(bot_processes()), set(bot_sinks()), scratch_dirs())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="meetbot-soak-") as tmp, redis_server(Path(tmp)) as redis_url:
        start, end = await run_jobs(jobs, Path(tmp), redis_url, rows)
    await asyncio.sleep(2)
    left = {"processes": sorted(set(bot_processes()) - before[0]),
            "sinks": sorted(set(bot_sinks()) - before[1]),
            "dirs": sorted(scratch_dirs() - before[2])}
    half = rows[len(rows) // 2:]
    summary: dict[str, Any] = {
        "jobs": len(rows),
        "ended": {s: sum(r["status"] == s for r in rows) for s in ("done", "failed")},
        "not_final": sum(r["status"] not in ("done", "failed") for r in rows),
        "callbacks_not_one": sum(r["callbacks"] != 1 for r in rows),
        "left": {k: len(v) for k, v in left.items()},
    }
    for who in ("serve", "worker"):
        summary[who] = {
            "pss_mb_start": start[who]["pss_mb"], "pss_mb_end": end[who]["pss_mb"],
            "pss_mb_per_job_second_half": slope([r[who]["pss_mb"] for r in half]),
            "fds_start": start[who]["fds"], "fds_end": end[who]["fds"],
            "fds_max": max(r[who]["fds"] for r in rows) if rows else None,
            "threads_start": start[who]["threads"], "threads_end": end[who]["threads"]}
    print(json.dumps(summary, default=lambda v: round(v, 3)), flush=True)
    if left["processes"] or left["sinks"] or left["dirs"]:
        print(f"left behind: {left}")
    if out_json:
        out_json.write_text(json.dumps({"summary": summary, "rows": rows, "left": left}, indent=2,
                                       default=lambda v: round(v, 3)))
    if out_png and rows:
        plot(rows, out_png)
    return summary


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no PNG: matplotlib is not installed (pip install -e .[bench])", file=sys.stderr)
        return
    fig, (mem, fds) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    jobs = [r["job"] + 1 for r in rows]
    for who in ("serve", "worker"):
        mem.plot(jobs, [r[who]["pss_mb"] for r in rows], label=who)
        fds.plot(jobs, [r[who]["fds"] for r in rows], label=who)
    mem.set_ylabel("PSS (MB)")
    fds.set_ylabel("open descriptors")
    fds.set_xlabel("jobs done")
    mem.legend()
    mem.set_title("meetbot serve + worker over jobs in a row")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.json, args.png))
