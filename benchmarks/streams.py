"""Benchmark: the RTStream lifecycle against a real `meetbot serve` and live sources.

    .venv/bin/python benchmarks/streams.py [--rounds 5] [--long 600] [--json out.json]

Prints, per round of one RTSP stream (H.264/AAC 640x360, 15 fps, copied):
- connect -> first stored segment (the playlist lists it);
- stop() -> the call returns, and whether any segment was stored after it returned;
- start() -> first segment of the new span;
- export of the span (server log: seconds to remux);
- the ingest ffmpeg's CPU (share of one core, sampled over 10 s of ingest).
Then export time against stream length: a stream fed faster than real time (an RTMP publisher
without -re) to ``--long`` seconds of media, exported; the remux time should grow with bytes only.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import videodb

from media.hls import parse_playlist
from tests.streams.serve import KEY, serve
from tests.support.media import H264_AAC
from tests.support.sources import RtmpServer, RtspServer, RtspSource


def segments(url: str) -> list[str]:
    r = httpx.get(url, timeout=5)
    return [ln for ln in r.text.splitlines() if ln and not ln.startswith("#")] if r.status_code == 200 else []


def wait_for(cond: Any, timeout: float) -> float:
    t0 = time.time()
    while not cond():
        if time.time() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.05)
    return time.time() - t0


def ingest_proc(stream_id: str) -> psutil.Process | None:
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] == "ffmpeg" and f"meetbot-ingest-{stream_id}" in cmd:
            return p
    return None


def export_seconds(log: Path, video_id: str) -> float | None:
    m = re.search(rf"rtstream exported .*video={video_id} segments=\d+ seconds=([\d.]+)", log.read_text())
    return float(m.group(1)) if m else None


def one_round(coll: Any, source: RtspSource, log: Path) -> dict[str, float]:
    t0 = time.time()
    rts = coll.connect_rtstream(url=source.url, name="bench", media_types=["video", "audio"], store=True)
    wait_for(lambda: len(segments(rts.stream_url)) >= 1, 30)
    first = time.time() - t0
    proc = ingest_proc(rts.id)
    cpu = None
    if proc is not None:
        proc.cpu_percent(None)
        time.sleep(10)
        cpu = proc.cpu_percent(None) / 100
    else:
        time.sleep(10)
    t_stop = time.time()
    rts.stop()
    stop_call = time.time() - t_stop
    held = segments(rts.stream_url)
    time.sleep(2.5)
    late = len(segments(rts.stream_url)) - len(held)
    exported = rts.export()
    t_start = time.time()
    rts.start()
    n = len(segments(rts.stream_url))
    wait_for(lambda: len(segments(rts.stream_url)) > n, 30)
    resume = time.time() - t_start
    rts.stop()
    return {"connect_to_first_segment_s": round(first, 2), "stop_call_s": round(stop_call, 3),
            "segments_after_stop": late, "start_to_first_segment_s": round(resume, 2),
            "export_s": export_seconds(log, exported.video_id) or -1.0,
            "span_seconds": exported.duration, "ingest_cpu_cores": round(cpu, 3) if cpu is not None else -1}


def kill_gap(coll: Any, source: RtspSource) -> dict[str, float]:
    """SIGKILL the ingest ffmpeg mid-segment: the media lost is the hole in the stream's timeline
    (the open segment, plus the time to reconnect, which a live source does not replay)."""
    rts = coll.connect_rtstream(url=source.url, name="killed", media_types=["video", "audio"], store=True)
    wait_for(lambda: len(segments(rts.stream_url)) >= 3, 30)
    time.sleep(1.0)  # mid-segment
    proc = ingest_proc(rts.id)
    assert proc is not None
    before = len(segments(rts.stream_url))
    killed_at = time.time()
    proc.kill()
    wait_for(lambda: len(segments(rts.stream_url)) >= before + 2, 60)
    segs = parse_playlist(httpx.get(rts.stream_url, timeout=5).text)
    rts.stop()
    prev, nxt = segs[before - 1], segs[before]
    return {"gap_s": round(nxt.start - prev.end, 2), "open_segment_lost_s": round(killed_at - prev.end, 2),
            "kill_to_next_segment_s": round(nxt.start + nxt.duration - killed_at, 2)}


def long_export(coll: Any, work: Path, seconds: int, log: Path) -> dict[str, float]:
    """A stream of ``seconds`` of media fed faster than real time, then exported."""
    media = work / f"long-{seconds}.ts"
    if not media.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi",
                        "-i", f"testsrc2=size=640x360:rate=15:duration={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", "-shortest",
                        "-f", "mpegts", str(media)], check=True)
    rtmp = RtmpServer(work / "rtmp").start()
    try:
        name = f"long{seconds}"
        pub = subprocess.Popen(["ffmpeg", "-v", "error", "-readrate", "8", "-i", str(media), "-c", "copy",
                                "-f", "flv", rtmp.url(name)])
        wait_for(lambda: rtmp.is_published(f"/live/{name}"), 20)
        rts = coll.connect_rtstream(url=rtmp.url(name), name=name, media_types=["video", "audio"],
                                    store=True)
        pub.wait(timeout=seconds)
        time.sleep(3)
        rts.stop()
        exported = rts.export()
        took = export_seconds(log, exported.video_id)
        return {"media_seconds": exported.duration, "export_s": took if took is not None else -1.0}
    finally:
        rtmp.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--long", type=int, nargs="*", default=[60, 600])
    ap.add_argument("--json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="meetbot-bench-streams-") as tmp:
        work = Path(tmp)
        rtsp = RtspServer(work / "rtsp").start()
        source = RtspSource(rtsp, H264_AAC, name="bench", workdir=work / "src")
        source.start()
        report: dict[str, Any] = {}
        try:
            with serve(work / "serve") as server:
                coll = videodb.connect(api_key=KEY, base_url=server.url).get_collection()
                rounds = [one_round(coll, source, server.log) for _ in range(args.rounds)]
                for r in rounds:
                    print(json.dumps(r))
                report["rounds"] = rounds
                report["summary"] = {k: {"median": statistics.median(r[k] for r in rounds),
                                         "max": max(r[k] for r in rounds)} for k in rounds[0]}
                report["sigkill"] = [kill_gap(coll, source) for _ in range(2)]
                report["long"] = [long_export(coll, work, s, server.log) for s in args.long]
        finally:
            source.close()
            rtsp.close()
    print(json.dumps({k: report[k] for k in ("summary", "sigkill", "long")}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
