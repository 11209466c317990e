"""Benchmark: every platform x variant of the e2e matrix, recorded N times, measured against truth.

    .venv/bin/python benchmarks/variants.py [--runs 10] [--only zoom-auto] [--json out.json]
        [--env MEETBOT_X264_PRESET=ultrafast] [--onsets] [--paths all|webaudio,webrtc_element,...]

Per variant: admission (as the page showed it) -> the recording's first frame; speaker start and
end errors against the simulator's audio (median, p95 of |error|); the A/V offset of each run (the
mean over its sync-marker onsets: audio onset minus marker onset; negative = audio first); the time
from the meeting's end to the callback. The machine should otherwise be idle.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callbacks.receiver import CallbackReceiver
from simulator.measure import audio_samples, av_offsets, heard_errors, timeline_errors
from simulator.scenario import AUDIO_PATHS
from simulator.server import SimulatorServer
from simulator.urls import ROUTED_HOSTS
from tests.e2e.test_platforms import MATRIX, build, meet_code, teams_code, zoom_id


async def one(sim: SimulatorServer, entry: tuple[Any, ...], out: Path,
              env_extra: dict[str, str], path: str | None = None) -> dict[str, Any]:
    _, platform, options, changes, form = entry
    if path:
        changes = {**changes, "audio_path": path}
    code = {"zoom": zoom_id, "teams": teams_code, "meet": meet_code}[platform]()
    sc = build(platform, code, options, **changes)
    await sim.add_scenario(sc)
    async with CallbackReceiver() as rx:
        env = dict(os.environ, MEETBOT_ALLOW_PRIVATE_URLS="127.0.0.1/32",
                   MEETBOT_HOST_OVERRIDES=",".join(f"{h}={sim.url}" for h in ROUTED_HOSTS), **env_extra)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "run", "--meeting-url", sc.public_url(form),
            "--bot-name", "Bench Notetaker", "--callback-url", rx.url, "--output-dir", str(out),
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        rc = await proc.wait()
        try:
            await rx.wait_for(1, timeout=15)
        except TimeoutError:
            return {"failed": f"no callback (exit status {rc})", "rc": rc}
        received_at = rx.received[-1].at
    body = json.loads((out / "result.json").read_text())
    truth = sim.truth(code)
    if rc != 0 or not body.get("success"):
        return {"failed": body.get("reason"), "rc": rc}
    stats = json.loads((out / "stats.json").read_text())
    origin = body["recording_started_at"]
    starts, ends = timeline_errors(body["data"]["speaker_timeline"], truth, origin)
    mp4, timeline = out / "recording.mp4", body["data"]["speaker_timeline"]
    sound = audio_samples(mp4)
    heard_starts, heard_ends = heard_errors(mp4, timeline, truth, origin, sound=sound)
    found = av_offsets(mp4, truth, origin, sound=sound)
    offsets = [o.offset for o in found]
    return {
        "first_frame_s": stats["timings"].get("admission_to_first_frame_s"),
        "starts": starts, "ends": ends if platform != "zoom" else [],
        "heard_starts": heard_starts, "heard_ends": heard_ends if platform != "zoom" else [],
        "av_mean": statistics.fmean(offsets) if offsets else None, "av_all": offsets,
        # Which side moved: each onset against the time the page meant it (see AvOffset).
        "audio_late": statistics.fmean(o.audio_late for o in found) if found else None,
        "video_late": statistics.fmean(o.video_late for o in found) if found else None,
        "onsets": [(round(o.at, 2), round(1000 * o.audio_late), round(1000 * o.video_late)) for o in found],
        "callback_s": received_at - truth["ended_at"],
        "self_test_ms": stats["timings"].get("av_sound_late_ms"),
        "self_test_element_ms": stats["timings"].get("av_element_stream_late_ms"),
        "path_adjust_ms": stats["timings"].get("av_page_path_adjust_ms"),
        "page_audio": {k.removeprefix("page_audio_"): v for k, v in stats["timings"].items()
                       if k.startswith("page_audio_") and v},
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(errors: list[float]) -> dict[str, float] | None:
    """Median and p95 of absolute errors, in ms."""
    if not errors:
        return None
    return {"median": 1000 * statistics.median(errors), "p95": 1000 * pct(errors, 0.95)}


def report(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if "failed" not in r]
    starts = [abs(e) for r in ok for e in r["starts"]]
    ends = [abs(e) for r in ok for e in r["ends"]]
    heard_starts = [abs(e) for r in ok for e in r["heard_starts"]]
    heard_ends = [abs(e) for r in ok for e in r["heard_ends"]]
    av = [r["av_mean"] for r in ok if r["av_mean"] is not None]
    ff = [r["first_frame_s"] for r in ok if r["first_frame_s"] is not None]
    cb = [r["callback_s"] for r in ok]
    fig = {
        "variant": name, "runs": len(rows), "failed": len(rows) - len(ok),
        "first_frame_ms": {"median": 1000 * statistics.median(ff), "max": 1000 * max(ff)} if ff else None,
        "start_err_ms": spread(starts),
        "end_err_ms": spread(ends),
        # Against the voice as the recording has it (what a user hears), not the page's dating.
        "heard_start_err_ms": spread(heard_starts),
        "heard_end_err_ms": spread(heard_ends),
        "av_offset_ms": {"mean": 1000 * statistics.fmean(av), "min": 1000 * min(av), "max": 1000 * max(av),
                         "runs_within_45ms": sum(abs(a) <= 0.045 for a in av)} if av else None,
        "callback_s": {"median": statistics.median(cb), "max": max(cb)} if cb else None,
    }
    print(json.dumps(fig, default=lambda v: round(v, 1)))
    return fig


async def main(runs: int, only: str | None, out_json: Path | None, env_extra: dict[str, str],
               onsets: bool = False, paths: list[str | None] | None = None) -> None:
    figures = []
    with tempfile.TemporaryDirectory(prefix="meetbot-variants-") as tmp:
        async with SimulatorServer() as sim:
            for entry, path in itertools.product(MATRIX, paths or [None]):
                if only and only not in entry[0]:
                    continue
                name = f"{entry[0]}/{path}" if path else entry[0]
                rows = []
                for i in range(runs):
                    t0 = time.time()
                    row = await one(sim, entry, Path(tmp) / f"{entry[0]}-{path}-{i}", env_extra, path)
                    row["wall_s"] = time.time() - t0
                    av = row.get("av_all") or []
                    print(f"  {name} #{i}: " + (f"failed {row['failed']}" if "failed" in row else
                          f"A/V {1000 * row['av_mean']:+.0f} ms (markers {1000 * min(av):+.0f}.."
                          f"{1000 * max(av):+.0f}; audio {1000 * row['audio_late']:+.0f}, picture "
                          f"{1000 * row['video_late']:+.0f} late), "
                          f"first frame {1000 * (row['first_frame_s'] or 0):.0f} ms; self-test "
                          f"{row['self_test_ms']} ms (element {row['self_test_element_ms']} ms, "
                          f"adjust {row['path_adjust_ms']} ms), page audio {row['page_audio']}"
                          if av else "no A/V markers"), flush=True)
                    if onsets:
                        print("    onsets (file s, audio late ms, picture late ms):", row.get("onsets"))
                        print("    heard errors, ms (start / end per turn):",
                              [round(1000 * e) for e in row.get("heard_starts", [])], "/",
                              [round(1000 * e) for e in row.get("heard_ends", [])])
                    rows.append(row)
                figures.append(report(name, rows))
    if out_json:
        out_json.write_text(json.dumps(figures, indent=2, default=lambda v: round(v, 4)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", help="run the variants whose id contains this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--onsets", action="store_true",
                        help="also print each onset's sound and picture lateness")
    parser.add_argument("--paths", help="comma-separated audio paths to run each variant on "
                        f"(of {', '.join(AUDIO_PATHS)}; 'all' for every one); default: the variant's own")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every bot (repeatable)")
    args = parser.parse_args()
    chosen: list[str | None] | None = None
    if args.paths:
        chosen = list(AUDIO_PATHS) if args.paths == "all" else args.paths.split(",")
        if unknown := set(chosen) - set(AUDIO_PATHS):
            parser.error(f"unknown audio paths {sorted(unknown)}")
    asyncio.run(main(args.runs, args.only, args.json, dict(kv.split("=", 1) for kv in args.env),
                     args.onsets, chosen))
