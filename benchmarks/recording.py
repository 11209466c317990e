"""Benchmark: record a bundled demo scenario N times on this machine and print the figures.

    .venv/bin/python benchmarks/recording.py [--runs 3] [--platform meet|zoom|teams]

Figures per run and overall: time from `meetbot run` to in call, recording duration against the
time in call (simulator truth), timeline boundary errors against ground truth, CPU and memory of
the bot's process tree while recording, and time from the meeting's end to the result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from cli.demo import SCENARIOS, record


async def one(scenario: Path, out: Path) -> dict[str, float]:
    t0 = time.time()
    rc, truth, payload, received = await record(scenario, out)
    finished = time.time()
    assert rc == 0 and payload.get("success"), payload
    stats = json.loads((out / "stats.json").read_text())
    origin = payload["recording_started_at"]
    starts, ends = [], []
    for seg, said in zip(payload["data"]["speaker_timeline"], truth["speech"], strict=True):
        starts.append(seg["start_time_seconds"] - (said["start"] - origin))
        ends.append(seg["end_time_seconds"] - (said["end"] - origin))
    in_call = truth["ended_at"] - truth["admitted_at"]
    return {
        "start_to_in_call_s": stats["timings"]["in_call_recording"],
        "lobby_wait_s": truth["admitted_at"] - truth["join_clicked_at"],
        "duration_minus_in_call_s": payload["duration"] - in_call,
        "start_err_mean_ms": 1000 * statistics.fmean(starts),
        "start_err_max_abs_ms": 1000 * max(abs(e) for e in starts),
        "end_err_max_abs_ms": 1000 * max(abs(e) for e in ends),
        "end_err_mean_ms": 1000 * statistics.fmean(ends),
        "cpu_avg_pct": stats["usage"]["cpu_percent_avg"],
        "cpu_max_pct": stats["usage"]["cpu_percent_max"],
        "pss_max_mb": stats["usage"]["pss_mb_max"],
        "meeting_end_to_result_s": finished - truth["ended_at"],
        "callbacks": received,
        "total_s": finished - t0,
    }


async def main(runs: int, platform: str) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="meetbot-bench-") as tmp:
        for i in range(runs):
            rows.append(await one(SCENARIOS[platform], Path(tmp) / f"run{i}"))
            print(json.dumps({k: round(v, 3) for k, v in rows[-1].items()}))
    print("\nfigure                      mean      min      max")
    for key in rows[0]:
        vals = [r[key] for r in rows]
        print(f"{key:<26} {statistics.fmean(vals):8.3f} {min(vals):8.3f} {max(vals):8.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--platform", choices=sorted(SCENARIOS), default="meet")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.platform))
