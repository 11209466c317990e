"""Benchmark: N bots at once on this machine, each in its own simulated Meet meeting, for N = 1..max.

    .venv/bin/python benchmarks/density.py [--max 5] [--seconds 40] [--env MEETBOT_X264_PRESET=ultrafast]
        [--bot-arg=--audio-only] [--json out.json] [--png out.png]

Per bot: video frames lost (captured against due, from its stats), sound lost (windows where the
meeting's room tone, always playing under the speech, is missing from the recording), the A/V
offset of its sync markers, speaker start/end errors against the simulator's truth, its CPU (cores,
averaged over its run) and PSS (mean and peak) summed over its process tree (Python, Playwright's
driver, Chromium, Xvfb, ffmpeg, pacat; PulseAudio's shared daemon is counted apart). A level is
clean when every bot succeeded with at most 1 % of frames lost (no 10 s window above 5 %), at most
0.2 % of its sound lost and its A/V offset within 45 ms. Prints one JSON line per level, the
largest clean N, and writes the JSON report and a PNG plot (cost per bot and losses against N).
``--env`` passes settings to every bot, ``--bot-arg`` job options (``--audio-only``, ``--fps 10``):
the way to measure one lever alone or several together.
The machine must otherwise be idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callbacks.receiver import CallbackReceiver
from simulator.measure import audio_gaps, audio_samples, av_offsets, heard_errors, timeline_errors
from simulator.scenario import load_scenario
from simulator.server import SimulatorServer
from simulator.urls import ROUTED_HOSTS
from tests.helpers import ffprobe

PEOPLE = [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"},
          {"name": "Carol", "voice": "en+f4"}]
LINES = ["Let us review the new design today.", "I like the colours a lot.",
         "The buttons are too small on phones.", "Good point, we will fix that."]
TONE_DB = -60.0  # under the bot's silence threshold (-50 dB): its speaker gating is unaffected
FRAMES_LOST_MAX, WINDOW_LOST_MAX, SOUND_LOST_MAX, AV_MAX = 0.01, 0.05, 0.002, 0.045


def meeting(code: str, seconds: float) -> Any:
    turns = [{"speaker": PEOPLE[i % 3]["name"], "at": 1.5 + 3.5 * i, "text": LINES[i % 4]}
             for i in range(int((seconds - 4) / 3.5))]
    return load_scenario({
        "platform": "meet", "meeting_code": code, "title": "Density", "participants": PEOPLE,
        "lobby": {"mode": "ask", "admit_after": 1.5}, "speech": turns, "room_tone_db": TONE_DB,
        "end": {"kind": "host_ended", "at": seconds}})


def code_of(n: int, i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    stamp = int(time.time()) % 26 ** 4
    tail = "".join(letters[(stamp // 26 ** k) % 26] for k in range(4))
    return f"d{letters[n]}{letters[i]}-{tail}-{letters[(n * 7 + i) % 26]}zz"


def part_of(p: psutil.Process) -> str:
    """What a process of a bot is: chromium-<type>, ffmpeg, Xvfb, node (Playwright), python..."""
    name = p.name()
    if "chrom" in name:
        kind = next((a.split("=", 1)[1] for a in p.cmdline() if a.startswith("--type=")), "browser")
        sub = next((a.split("=", 1)[1].split(".")[0] for a in p.cmdline()
                    if a.startswith("--utility-sub-type=")), "")
        return f"chromium-{kind}" + (f"-{sub}" if sub else "")
    return name


class TreeMeter:
    """CPU seconds and PSS of a process and its descendants, sampled; the CPU time of a process
    that ended counts as last seen."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.cpu: dict[int, float] = {}
        self.part: dict[int, str] = {}
        self.pss: list[float] = []

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                self.cpu[p.pid] = t.user + t.system
                if p.pid not in self.part:
                    self.part[p.pid] = part_of(p)
                total += p.memory_full_info().pss
        if total:
            self.pss.append(total)


async def level(sim: SimulatorServer, n: int, seconds: float, tmp: Path,
                env_extra: dict[str, str], bot_args: list[str]) -> dict[str, Any]:
    scenarios = [meeting(code_of(n, i), seconds) for i in range(n)]
    for sc in scenarios:
        await sim.add_scenario(sc)
    env = dict(os.environ, MEETBOT_ALLOW_PRIVATE_URLS="127.0.0.1/32",
               MEETBOT_HOST_OVERRIDES=",".join(f"{h}={sim.url}" for h in ROUTED_HOSTS), **env_extra)
    pulse = next((p for p in psutil.process_iter(["name"]) if p.info["name"] == "pulseaudio"), None)
    pulse_cpu0 = sum(pulse.cpu_times()[:2]) if pulse else 0.0
    psutil.cpu_percent()
    async with CallbackReceiver() as rx:
        procs, meters, outs = [], [], []
        t0 = time.time()
        steal0 = getattr(psutil.cpu_times(), "steal", 0.0)
        for i, sc in enumerate(scenarios):
            out = tmp / f"n{n}-{i}"
            outs.append(out)
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli", "run", "--meeting-url", sc.public_url("meet"),
                "--bot-name", f"Density {i}", "--callback-url", rx.url, "--output-dir", str(out),
                *bot_args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))
            meters.append(TreeMeter(procs[-1].pid))
        waits = [asyncio.create_task(p.wait()) for p in procs]
        ended: dict[int, float] = {}
        while len(ended) < n:
            for i, (m, w) in enumerate(zip(meters, waits, strict=True)):
                if w.done():
                    ended.setdefault(i, time.time())
                else:
                    m.sample()
            await asyncio.sleep(1.0)
        machine_busy = psutil.cpu_percent() / 100 * psutil.cpu_count()
        # CPU the hypervisor gave to others: a noisy host looks like a busy one.
        steal = (getattr(psutil.cpu_times(), "steal", 0.0) - steal0) / (time.time() - t0)
        with contextlib.suppress(TimeoutError):
            await rx.wait_for(n, timeout=20)
    pulse_cores = ((sum(pulse.cpu_times()[:2]) - pulse_cpu0) / (time.time() - t0)) if pulse else None
    bots = []
    for i, (sc, out, m) in enumerate(zip(scenarios, outs, meters, strict=True)):
        row = measure(out, sim.truth(sc.meeting_code))
        parts: dict[str, float] = {}
        for pid, seconds in m.cpu.items():
            key = m.part.get(pid, "?")
            parts[key] = parts.get(key, 0.0) + seconds / (ended[i] - t0)
        row["cpu_parts"] = dict(sorted(parts.items(), key=lambda kv: -kv[1]))
        row.update(rc=waits[i].result(), cpu_cores=sum(m.cpu.values()) / (ended[i] - t0),
                   pss_mean_gb=statistics.fmean(m.pss) / 1e9 if m.pss else None,
                   pss_peak_gb=max(m.pss) / 1e9 if m.pss else None)
        row["clean"] = clean(row)
        bots.append(row)
    fig = {"n": n, "clean": all(b["clean"] for b in bots), "machine_cores_busy": machine_busy,
           "machine_cores_stolen": steal,
           "pulseaudio_cores": pulse_cores, "bots": bots}
    print(json.dumps({k: v for k, v in fig.items() if k != "bots"} | {
        "per_bot": [{k: b.get(k) for k in ("cpu_cores", "pss_peak_gb", "frames_lost", "sound_lost",
                                           "sound_gaps", "bot_dropouts", "bot_warned_sound",
                                           "av_mean_ms", "av_median_ms", "av_onsets_within",
                                           "av_spread_ms", "sound_late_ms", "picture_late_ms",
                                           "self_test_ms", "self_test_picture_ms", "self_test_clock_ms",
                                           "self_test_clock_rtt_ms", "path_adjust_ms",
                                           "start_err_p95_ms",
                                           "heard_start_median_ms",
                                           "heard_start_p95_ms", "heard_end_p95_ms", "reason")}
                    for b in bots]},
        default=lambda v: round(v, 4)), flush=True)
    return fig


def measure(out: Path, truth: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads((out / "result.json").read_text())
        stats = json.loads((out / "stats.json").read_text())["timings"]
    except (OSError, ValueError) as exc:
        return {"success": False, "reason": f"no result: {exc}"}
    row: dict[str, Any] = {"success": bool(body.get("success")), "reason": body.get("reason"),
                           "warnings": body.get("warnings", [])}
    if not row["success"]:
        return row
    mp4, origin = out / "recording.mp4", body["recording_started_at"]
    expected = stats.get("capture_frames_expected") or 0
    # Window edges can count a frame more than was due: no loss then, not a negative one.
    captured = stats.get("capture_frames_captured", 0)
    row["frames_lost"] = max(0.0, 1 - captured / expected) if expected else None
    row["worst_window_lost"] = stats.get("capture_worst_window_lost")
    start, samples = audio_samples(mp4)
    # The tone plays from admission to the end; half a second off each edge for the page's start.
    # A page too loaded to report its end leaves no ended_at: the bot's leave bounds it then.
    end = truth.get("ended_at") or truth.get("left_at")
    if end is None:
        row["truth_missing"] = "ended_at and left_at"
    lo = truth["admitted_at"] - origin + 0.5
    hi = (end - origin if end is not None else float(body.get("duration") or 0)) - 0.5
    gaps = audio_gaps(samples, start, lo, hi, floor_db=TONE_DB - 12)
    row["sound_lost"] = sum(d for _, d in gaps) / max(hi - lo, 1e-9)
    row["sound_gaps"] = len(gaps)
    # What the bot itself counted (its recorder's dropout detector), against the measured gaps.
    row["bot_dropouts"] = stats.get("capture_sound_dropouts")
    row["bot_dropout_s"] = stats.get("capture_sound_dropout_s")
    row["bot_warned_sound"] = any("sound dropped out" in w for w in body.get("warnings", []))
    row["audio_only"] = not any(s["codec_type"] == "video" for s in ffprobe(mp4)["streams"])
    found = [] if row["audio_only"] else av_offsets(mp4, truth, origin, sound=(start, samples))
    offsets = [o.offset for o in found]
    row["av_mean_ms"] = 1000 * statistics.fmean(offsets) if offsets else None
    # A stall of the picture (a frame grabbed 100-200 ms late under load) moves the mean by its
    # share: the median and the onsets within the bound say how much of the call was in sync.
    row["av_median_ms"] = 1000 * statistics.median(offsets) if offsets else None
    row["onsets"] = [(round(o.at, 2), round(1000 * o.audio_late), round(1000 * o.video_late),
                      o.precise) for o in found]
    row["av_onsets_within"] = (f"{sum(abs(o) <= AV_MAX for o in offsets)}/{len(offsets)}"
                               if offsets else None)
    # Which side: the sound against the page's clock, the picture against it (see AvOffset).
    row["sound_late_ms"] = 1000 * statistics.fmean(o.audio_late for o in found) if found else None
    row["picture_late_ms"] = 1000 * statistics.fmean(o.video_late for o in found) if found else None
    row["self_test_ms"] = stats.get("av_sound_late_ms")
    row["self_test_picture_ms"] = stats.get("av_picture_late_ms")
    row["self_test_spread_ms"] = stats.get("av_probe_spread_ms")
    # Its page's clock against the bot's, and the round trip that placed it.
    row["self_test_clock_ms"] = stats.get("av_clock_offset_ms")
    row["self_test_clock_rtt_ms"] = stats.get("av_clock_rtt_ms")
    # Chromium's own output latency for the self-test's context and, in the call, the page's.
    row["self_test_output_ms"] = stats.get("av_chromium_output_latency_ms")
    row["page_output_ms"] = stats.get("page_audio_context_output_ms")
    # What PulseAudio said the sound waited in it: as the self-test's tones played, in the call.
    row["sink_wait_ms"] = {k: stats.get(f"{k}_ms") for k in ("av_sink_latency", "sink_latency_first",
                                                             "sink_latency_median", "sink_latency_max")}
    row["page_audio"] = {k.removeprefix("page_audio_"): v for k, v in stats.items()
                         if k.startswith("page_audio_") and v}
    row["path_adjust_ms"] = stats.get("av_page_path_adjust_ms")
    row["av_spread_ms"] = 1000 * (max(offsets) - min(offsets)) if offsets else None
    starts, ends = timeline_errors(body["data"]["speaker_timeline"], truth, origin)
    row["start_err_p95_ms"] = 1000 * p95([abs(e) for e in starts]) if starts else None
    row["end_err_p95_ms"] = 1000 * p95([abs(e) for e in ends]) if ends else None
    row["turns_found"] = f"{len(starts)}/{len(truth.get('speech', []))}"
    # Against the voice as the recording has it (the timeline a user hears).
    h_starts, h_ends = heard_errors(mp4, body["data"]["speaker_timeline"], truth, origin,
                                    sound=(start, samples))
    row["heard_start_median_ms"] = 1000 * statistics.median(h_starts) if h_starts else None
    row["heard_start_p95_ms"] = 1000 * p95([abs(e) for e in h_starts]) if h_starts else None
    row["heard_end_p95_ms"] = 1000 * p95([abs(e) for e in h_ends]) if h_ends else None
    return row


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def clean(row: dict[str, Any]) -> bool:
    return bool(row.get("success") and row.get("rc") == 0
                and (row.get("frames_lost") or 0) <= FRAMES_LOST_MAX
                and (row.get("worst_window_lost") or 0) <= WINDOW_LOST_MAX
                and row.get("sound_lost", 1) <= SOUND_LOST_MAX
                and (row.get("audio_only") or (row.get("av_mean_ms") is not None
                                               and abs(row["av_mean_ms"]) <= AV_MAX * 1000)))


def plot(levels: list[dict[str, Any]], png: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no PNG: matplotlib is not installed (pip install -e .[bench])", file=sys.stderr)
        return
    ns = [lv["n"] for lv in levels]

    def per(key: str, agg: Any) -> list[float]:
        return [agg([b.get(key) or 0 for b in lv["bots"]]) for lv in levels]

    fig, (cost, loss) = plt.subplots(1, 2, figsize=(11, 4.2))
    cost.plot(ns, per("cpu_cores", statistics.fmean), "o-", label="CPU per bot (cores)")
    cost.plot(ns, per("pss_peak_gb", statistics.fmean), "s-", label="peak PSS per bot (GB)")
    cost.plot(ns, [lv["machine_cores_busy"] for lv in levels], "^--", label="machine busy (cores)")
    cost.axhline(psutil.cpu_count(), color="grey", lw=0.8)
    cost.set_xlabel("bots at once")
    cost.set_title("cost")
    cost.legend()
    loss.plot(ns, [100 * v for v in per("frames_lost", max)], "o-", label="frames lost, worst bot (%)")
    loss.plot(ns, [100 * v for v in per("sound_lost", max)], "s-", label="sound lost, worst bot (%)")
    av = loss.twinx()
    av.plot(ns, per("av_mean_ms", lambda xs: max(abs(x) for x in xs)), "^:", color="tab:red",
            label="|A/V|, worst bot (ms)")
    av.axhline(AV_MAX * 1000, color="tab:red", lw=0.8)
    av.set_ylabel("ms")
    loss.set_xlabel("bots at once")
    loss.set_title("losses")
    loss.legend(loc="upper left")
    av.legend(loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


async def main(args: argparse.Namespace) -> None:
    env_extra = dict(kv.split("=", 1) for kv in args.env)
    levels = []
    with tempfile.TemporaryDirectory(prefix="meetbot-density-") as tmp:
        async with SimulatorServer() as sim:
            for n in ([int(x) for x in args.levels.split(",")] if args.levels
                      else range(args.min, args.max + 1)):
                levels.append(await level(sim, n, args.seconds, Path(tmp), env_extra, args.bot_arg))
    best = max((lv["n"] for lv in levels if lv["clean"]), default=0)
    print(f"largest N with nothing lost: {best}")
    report = {"cores": psutil.cpu_count(), "seconds": args.seconds, "env": env_extra,
              "largest_clean_n": best, "levels": levels}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=lambda v: round(v, 4)))
    if args.png:
        plot(levels, args.png, f"{args.seconds:.0f} s Meet meetings, {psutil.cpu_count()} cores"
             + (f", {' '.join(args.env)}" if args.env else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min", type=int, default=1)
    parser.add_argument("--max", type=int, default=5)
    parser.add_argument("--levels", help="only these N, comma-separated (e.g. 1,3,4)")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each meeting")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every bot (repeatable)")
    parser.add_argument("--bot-arg", action="append", default=[], metavar="ARG",
                        help="an option of `meetbot run` for every bot (repeatable; --bot-arg=--audio-only)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--png", type=Path)
    asyncio.run(main(parser.parse_args()))
