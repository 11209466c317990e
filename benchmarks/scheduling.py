"""Benchmark: how close to its ``join_at`` a scheduled bot asks to join, over N meetings.

    .venv/bin/python benchmarks/scheduling.py [--meetings 10] [--spacing 30] [--json out.json]

`meetbot serve` (two bots at once, a fresh store) gets N simulated Meet meetings at once, each
with a ``join_at`` ``spacing`` seconds after the previous one (the first 25 s ahead). The truth is
the page's own date of the bot's join click (the simulator), never the bot's log. The first ones
start on the unmeasured lead (``MEETBOT_JOIN_STARTUP_S``, 30 s); from the fourth on, on what the
earlier ones took. Prints per meeting: the lead the server used, the bot's hold and the error
(click - join_at), then median, max |error| and how many within 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.server import SimulatorServer
from tests.server.test_serve_e2e import KEY, free_port, start_serve


def meeting(code: str) -> dict[str, Any]:
    return {"platform": "meet", "meeting_code": code, "title": "On time",
            "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
            "lobby": {"mode": "open"},
            "speech": [{"speaker": "Alice", "at": 0.5, "text": "We start on time."}],
            "end": {"kind": "host_ended", "at": 5.0}}


async def main(n: int, spacing: float, out_json: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="meetbot-schedule-") as tmp:
        work = Path(tmp)
        async with SimulatorServer() as sim, httpx.AsyncClient() as http:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            procs = await start_serve(work, sim, None, port, MEETBOT_AV_SELFTEST="true", MEETBOT_MAX_BOTS="2",
                                      MEETBOT_LOG_JSON="true")
            headers = {"x-access-token": KEY}
            rows: list[dict[str, Any]] = []
            try:
                first = time.time() + 25
                planned = []
                for i in range(n):
                    code = "sch-" + "".join(chr(97 + i // 26 ** k % 26) for k in range(4)) + "-now"
                    await sim.add_scenario(meeting(code))
                    join_at = first + i * spacing
                    r = await http.post(f"{url}/collection/default/meeting/record", headers=headers,
                                        json={"meeting_url": f"https://meet.google.com/{code}",
                                              "join_at": join_at})
                    assert r.status_code == 200, r.text
                    planned.append((code, join_at, r.json()["data"]["meeting_id"]))
                for code, join_at, mid in planned:
                    while True:
                        data = (await http.get(f"{url}/collection/default/meeting/{mid}",
                                               headers=headers)).json()["data"]
                        if data["status"] in ("done", "failed"):
                            break
                        await asyncio.sleep(0.5)
                    clicked = sim.truth(code)["join_clicked_at"]
                    row = {"meeting": code, "status": data["status"], "reason": data["reason"],
                           "error_s": None if clicked is None else round(clicked - join_at, 3),
                           **_from_log(work / "serve.log", mid)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                for p in procs:
                    p.terminate()
                    await p.wait()
    errors = [abs(r["error_s"]) for r in rows if r["error_s"] is not None]
    result = {"meetings": n, "spacing_s": spacing, "rows": rows,
              "joined": len(errors),
              "median_abs_error_s": round(statistics.median(errors), 3) if errors else None,
              "max_abs_error_s": round(max(errors), 3) if errors else None,
              "within_2s": sum(e <= 2.0 for e in errors)}
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}), flush=True)
    if out_json:
        out_json.write_text(json.dumps(result, indent=2))
    return result


def _from_log(log: Path, meeting_id: str) -> dict[str, Any]:
    """The lead the scheduler used and the bot's hold before joining, from the server's log."""
    out: dict[str, Any] = {}
    text = log.read_text(errors="replace")
    for line in text.splitlines():
        if meeting_id not in line:
            continue
        if "starting its bot" in line:
            for key in ("startup_lead_s", "join_lead_s", "measured_from"):
                if m := re.search(rf'"{key}": ([0-9.]+)', line):
                    out[key] = float(m.group(1))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=10)
    parser.add_argument("--spacing", type=float, default=30.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    asyncio.run(main(args.meetings, args.spacing, args.json))
