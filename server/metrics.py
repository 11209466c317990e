"""Prometheus metrics of one `meetbot serve` (``GET /metrics``) or `meetbot worker` (its own port).

Live, read at each scrape: bots running and queued, and per running bot its CPU (cores, since the
last scrape) and memory (PSS of its process tree: Python, Chromium, Xvfb, ffmpeg) and the share
of video frames its last 10 s window did not capture (from its health file). Bots this process did
not start (queue workers elsewhere, Kubernetes pods) are there too, labelled by launcher, from the
figures each writes with its heartbeat into the status store; one whose heartbeat lapsed drops
out. Counted as bots end: outcomes, callback latency (bot stopped recording -> receiver's 2xx),
frames due and lost, sound dropouts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from core.health import process_tree_usage, read_health
from status import StatusStore

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "health_path"]

log = logging.getLogger("meetbot.metrics")


def health_path(runtime_dir: Path, meeting_id: str) -> Path:
    return runtime_dir / "health" / f"{meeting_id}.json"


class Metrics:
    def __init__(self, *, bots: Callable[[], Mapping[str, int]], queued: Callable[[], int],
                 runtime_dir: Path, store: StatusStore | None = None, launcher: str = "embedded") -> None:
        """``bots``: meeting id -> bot pid of the bots running now (``launcher`` labels them);
        ``queued``: jobs waiting; ``store``: where every other bot's heartbeat figures are."""
        self._bots, self._queued, self._runtime = bots, queued, runtime_dir
        self._store, self._launcher = store, launcher
        self._reported: dict[str, dict[str, Any]] = {}
        self._cpu: dict[str, tuple[float, float]] = {}  # meeting id -> (time, CPU seconds) last seen
        self.registry = CollectorRegistry()
        self.ended = Counter("meetbot_bots_ended", "Bots that ended, by outcome", ["outcome"],
                             registry=self.registry)
        self.callback_latency = Histogram(
            "meetbot_callback_latency_seconds", "From the bot's stop to its callback delivered",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 300), registry=self.registry)
        self.frames_due = Counter("meetbot_video_frames_due", "Video frames ended bots should have "
                                  "captured", registry=self.registry)
        self.frames_lost = Counter("meetbot_video_frames_lost", "Of those, frames never captured "
                                   "(overload)", registry=self.registry)
        self.dropouts = Counter("meetbot_sound_dropouts", "Dropouts (10-200 ms of exact zeros) in "
                                "ended bots' sound: their audio output ran dry", registry=self.registry)
        self.dropout_seconds = Counter("meetbot_sound_dropout_seconds", "Sound those dropouts took",
                                       registry=self.registry)
        self.registry.register(_Live(self))

    def bot_ended(self, meeting_id: str, outcome: str | None) -> None:
        """Count a bot that ended, with what its health file says; the file is then removed."""
        path = health_path(self._runtime, meeting_id)
        health = read_health(path)
        self.ended.labels(outcome=health.get("outcome") or outcome or "unknown").inc()
        if isinstance(health.get("callback_latency_s"), int | float):
            self.callback_latency.observe(health["callback_latency_s"])
        due = float(health.get("frames_expected") or 0)
        if due:
            self.frames_due.inc(due)
            self.frames_lost.inc(max(0.0, due - float(health.get("frames_captured") or 0)))
        self.dropouts.inc(float(health.get("sound_dropouts") or 0))
        self.dropout_seconds.inc(float(health.get("sound_dropout_s") or 0))
        path.unlink(missing_ok=True)
        self._cpu.pop(meeting_id, None)

    async def refresh(self) -> None:
        """Read the bots' heartbeat figures from the status store (before ``render``)."""
        if self._store is None:
            return
        try:
            self._reported = await self._store.live_bots()
        except Exception:
            log.warning("bot figures not read from the status store", exc_info=True)
            self._reported = {}

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- live figures, at scrape time ---------------------------------------------------------
    def live(self) -> Iterator[Metric]:
        bots = dict(self._bots())
        yield GaugeMetricFamily("meetbot_bots_running", "Bots running now", value=len(bots))
        yield GaugeMetricFamily("meetbot_bots_queued", "Meetings waiting for a bot", value=self._queued())
        labels = ["meeting_id", "launcher"]
        cpu = GaugeMetricFamily("meetbot_bot_cpu_cores", "CPU of a bot's process tree since the "
                                "last scrape, or its last heartbeat (cores)", labels=labels)
        mem = GaugeMetricFamily("meetbot_bot_memory_bytes", "PSS of a bot's process tree",
                                labels=labels)
        lost = GaugeMetricFamily("meetbot_bot_frames_lost_ratio", "Share of video frames not "
                                 "captured in the bot's last 10 s window", labels=labels)
        sound = GaugeMetricFamily("meetbot_bot_sound_lost_ratio", "Share of the bot's last 10 s "
                                  "window its sound dropped out", labels=labels)
        phase = GaugeMetricFamily("meetbot_bot_phase", "1 for each bot with a live heartbeat, in "
                                  "its phase", labels=[*labels, "phase", "host"])
        reporting = GaugeMetricFamily("meetbot_bots_reporting", "Bots with a live heartbeat in the "
                                      "status store, however and wherever launched", labels=["launcher"])
        by_launcher: dict[str, int] = {}
        for mid, fig in self._reported.items():
            launcher = str(fig.get("launcher") or "unknown")
            by_launcher[launcher] = by_launcher.get(launcher, 0) + 1
            phase.add_metric([mid, launcher, str(fig.get("phase")), str(fig.get("host"))], 1)
            if mid in bots:
                continue  # measured directly below
            for family, key in ((cpu, "cpu_cores"), (mem, "memory_bytes"), (lost, "frames_lost_ratio"),
                                (sound, "sound_lost_ratio")):
                if isinstance(fig.get(key), int | float):
                    family.add_metric([mid, launcher], fig[key])
        for launcher, n in sorted(by_launcher.items()):
            reporting.add_metric([launcher], n)
        for mid, pid in bots.items():
            own = [mid, self._launcher]
            seconds, pss, started = process_tree_usage(pid)
            if started is None:
                continue
            now = time.time()
            t0, s0 = self._cpu.get(mid, (started, 0.0))
            self._cpu[mid] = (now, seconds)
            if now > t0:
                cpu.add_metric(own, max(0.0, (seconds - s0) / (now - t0)))
            mem.add_metric(own, pss)
            health = read_health(health_path(self._runtime, mid))
            for family, key in ((lost, "last_window_lost"), (sound, "last_window_sound_lost")):
                if isinstance(health.get(key), int | float):
                    family.add_metric(own, health[key])
        yield from (cpu, mem, lost, sound, phase, reporting)


class _Live:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.live()
