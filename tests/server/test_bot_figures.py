"""Every bot in a server's /metrics however it was launched: the figures a bot writes with its
heartbeat, read back from both status stores, and shown labelled by launcher until they lapse."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.lifecycle import Phase
from server.metrics import Metrics
from status.redis import RedisStatusStore
from status.sqlite import SqliteStatusStore
from status.store import MeetingRecord

pytestmark = pytest.mark.unit

FIGURES = {"launcher": "kubernetes", "host": "pod-7", "pid": 12, "phase": "in_call_recording",
           "cpu_cores": 0.42, "memory_bytes": 6.1e8, "frames_lost_ratio": 0.01, "sound_lost_ratio": 0.0}


def scrape(text: bytes) -> dict[str, float]:
    return {s.name + "".join(f"[{k}={v}]" for k, v in sorted(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text.decode()) for s in fam.samples}


async def store_of(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if kind == "sqlite":
        return SqliteStatusStore(tmp_path / "s.db")
    return RedisStatusStore(request.getfixturevalue("redis_url"))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_bots_figures_are_shown_until_its_heartbeat_lapses(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store = await store_of(kind, tmp_path, request)
    mine, theirs, silent = (f"mt-{n}-{kind}-{time.time_ns()}" for n in ("mine", "theirs", "silent"))
    try:
        for mid in (mine, theirs, silent):
            await store.create(MeetingRecord(meeting_id=mid, video_id=f"v-{mid}", bot_name="B",
                                             meeting_url="https://meet.google.com/abc-defg-hij",
                                             output_dir="/x", phase=Phase.IN_CALL_RECORDING.value))
        await store.beat(theirs, "pod-7:12:1.0", 0.6, FIGURES)
        await store.beat(mine, "here:1:1.0", 30, {**FIGURES, "launcher": "embedded", "memory_bytes": 1.0})
        await store.beat(silent, "old-bot:1:1.0", 30)  # a bot from before figures: heartbeat only
        metrics = Metrics(bots=lambda: {mine: os.getpid()}, queued=lambda: 0, runtime_dir=tmp_path,
                          store=store, launcher="embedded")
        await metrics.refresh()
        live = scrape(metrics.render())
        tag = f"[launcher=kubernetes][meeting_id={theirs}]"
        assert live[f"meetbot_bot_memory_bytes{tag}"] == 6.1e8, live
        assert live[f"meetbot_bot_cpu_cores{tag}"] == 0.42
        assert live[f"meetbot_bot_frames_lost_ratio{tag}"] == 0.01
        assert live[f"meetbot_bot_phase[host=pod-7]{tag}[phase=in_call_recording]"] == 1
        assert live["meetbot_bots_reporting[launcher=kubernetes]"] == 1
        assert live["meetbot_bots_reporting[launcher=embedded]"] == 1
        # Its own bot is measured directly (this test process's tree), not from its heartbeat.
        assert live[f"meetbot_bot_memory_bytes[launcher=embedded][meeting_id={mine}]"] > 5e6, live
        assert not any(silent in k for k in live), live
        await asyncio.sleep(0.8)  # the pod's heartbeat (0.6 s) lapses: it drops out
        await metrics.refresh()
        live = scrape(metrics.render())
        assert not any(theirs in k for k in live), live
        assert "meetbot_bots_reporting[launcher=kubernetes]" not in live
    finally:
        await store.aclose()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_an_ended_meeting_has_no_live_bot(kind: str, tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:
    from core.lifecycle import Status
    from status.store import Result

    store = await store_of(kind, tmp_path, request)
    mid = f"mt-ended-{kind}-{time.time_ns()}"
    try:
        await store.create(MeetingRecord(meeting_id=mid, video_id=f"v-{mid}", bot_name="B",
                                         meeting_url="https://meet.google.com/abc-defg-hij", output_dir="/x"))
        await store.beat(mid, "b:1:1.0", 30, FIGURES)
        assert mid in await store.live_bots()
        await store.finish(mid, Result(status=Status.DONE, reason="meeting_ended"))
        assert mid not in await store.live_bots()
    finally:
        await store.aclose()
