"""`meetbot demo`: a bundled three-speaker scenario, recorded end to end on this machine.

Starts the simulator, an image server for the bot's avatar and a callback receiver on real
sockets, then runs `meetbot run` as a separate process against https://meet.google.com/...
routed to the simulator, and prints what came out, checked against the simulator's ground truth.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Route

import simulator
from callbacks.receiver import CallbackReceiver
from core.http import EmbeddedServer
from simulator.scenario import load_scenario
from simulator.server import SimulatorServer
from simulator.urls import ROUTED_HOSTS

SCENARIOS = {p: Path(simulator.__file__).parent / "scenarios" / f"demo-{p}.yaml"
             for p in ("meet", "zoom", "teams")}
SCENARIO = SCENARIOS["meet"]


async def _make_avatar(path: Path) -> None:
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    text = f",drawtext=fontfile={font}:text=meetbot:fontcolor=white:fontsize=96:" \
           "x=(w-text_w)/2:y=(h-text_h)/2" if Path(font).exists() else ""
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x1a73e8:s=1280x720",
        "-vf", f"format=rgb24{text}", "-frames:v", "1", str(path))
    await proc.wait()


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _report(out: Path, truth: dict[str, Any], payload: dict[str, Any], received: int) -> str:
    lines = [f"\nstatus: {payload.get('status')} ({payload.get('reason')})"]
    lines += [f"  MP4:       {out / 'recording.mp4'}",
              f"  playlist:  {out / 'hls' / 'playlist.m3u8'}",
              f"  timeline:  {out / 'timeline.json'}",
              f"  payload:   {out / 'result.json'}  (callback received {received}x)"]
    origin = payload.get("recording_started_at")
    data = payload.get("data") or {}
    speech = truth.get("speech", [])
    if origin and data.get("speaker_timeline"):
        rows = [["speaker", "start", "end", "truth start", "error"]]
        for seg, said in zip(data["speaker_timeline"], speech, strict=False):
            t = said["start"] - origin
            rows.append([seg["speaker_name"], f"{seg['start_time_seconds']:.2f}",
                         f"{seg['end_time_seconds']:.2f}", f"{t:.2f}",
                         f"{(seg['start_time_seconds'] - t) * 1000:+.0f} ms"])
        lines += ["", "speaker timeline (seconds on the recording's clock) vs ground truth:",
                  _table(rows)]
    stats_file = out / "stats.json"
    if stats_file.exists():
        stats = json.loads(stats_file.read_text())
        t, u = stats["timings"], stats["usage"]
        in_call = (truth.get("ended_at") or 0) - (truth.get("admitted_at") or 0)
        lines += ["", "figures:",
                  f"  start -> in call:        {t.get('in_call_recording', float('nan')):.2f} s",
                  f"  recording duration:      {t.get('recording_duration_s', 0):.2f} s "
                  f"(time in call per simulator: {in_call:.2f} s)",
                  f"  CPU while recording:     {u['cpu_percent_avg']}% avg, {u['cpu_percent_max']}% "
                  f"max (100% = one core)",
                  f"  memory (PSS sum, peak):  {u['pss_mb_max']} MB"]
        if payload.get("av_offset_ms") is not None:
            lines.append(f"  A/V self-test:           sound {t.get('av_sound_late_ms')} ms late at the sink, "
                         f"placed {payload.get('av_correction_ms')} ms earlier")
    return "\n".join(lines)


async def record(scenario_file: Path, output_dir: Path, *,
                 bot_name: str = "Meetbot Demo") -> tuple[int, dict[str, Any], dict[str, Any], int]:
    """Run `meetbot run` against a simulated meeting; return (exit code, truth, payload, callbacks)."""
    scenario = load_scenario(scenario_file)
    url = scenario.public_url()
    out = output_dir.resolve()
    if (out / "result.json").exists():
        shutil.rmtree(out)  # a previous run's files; never anything else
    with tempfile.TemporaryDirectory(prefix="meetbot-demo-") as tmp:
        avatar = Path(tmp) / "avatar.png"
        await _make_avatar(avatar)
        images = EmbeddedServer(Starlette(routes=[
            Route("/avatar.png", lambda _r: FileResponse(avatar, media_type="image/png"))]),
            name="demo-images")
        await images.start()
        try:
            async with SimulatorServer(scenarios=[scenario]) as sim, CallbackReceiver() as rx:
                print(f"simulator: {sim.url} (serving {url})", file=sys.stderr)
                cmd = [sys.executable, "-m", "cli", "run", "--meeting-url", url,
                       "--bot-name", bot_name, "--meeting-title", "Weekly Standup",
                       "--bot-image-url", f"{images.url}/avatar.png",
                       "--callback-url", rx.url, "--callback-data", '{"source": "demo"}',
                       "--output-dir", str(out)]
                # The demo's receiver and image server are on loopback, which the SSRF guard refuses
                # unless allowed.
                overrides = ",".join(f"{host}={sim.url}" for host in ROUTED_HOSTS)
                env = dict(os.environ, MEETBOT_HOST_OVERRIDES=overrides,
                           MEETBOT_ALLOW_PRIVATE_URLS="127.0.0.1/32")
                proc = await asyncio.create_subprocess_exec(*cmd, env=env)
                rc = await proc.wait()
                truth = sim.truth(scenario.meeting_code)
                received = len(rx.received)
        finally:
            await images.aclose()
    result = out / "result.json"
    payload = json.loads(result.read_text()) if result.exists() else {}
    return rc, truth, payload, received


async def main(output_dir: Path, scenario: Path = SCENARIO) -> int:
    rc, truth, payload, received = await record(scenario, output_dir)
    if not payload:
        print("demo failed: no result.json was written", file=sys.stderr)
        return 1
    print(_report(output_dir.resolve(), truth, payload, received))
    return rc
