"""Restart recovery: a started meeting whose bot is gone is settled from what it stored; one whose
bot still runs is adopted; the callback always goes out (received here on a real socket)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bot.reporting import owner_id
from callbacks.receiver import CallbackReceiver
from core.lifecycle import Status
from core.settings import Settings
from media.ffmpeg import probe
from media.hls import Segment, render_playlist
from server.launchers import recover_meetings
from server.launchers.recovery import owner_alive
from status import MeetingRecord
from status.sqlite import SqliteStatusStore
from tests.support.hls_runs import make_segments

pytestmark = pytest.mark.media

TURNS = [(("Alice", 0.5, 2.0),), (("Alice", 0.0, 1.2), ("Bob", 1.5, 2.0)), (("Bob", 0.0, 1.0),), ()]


def dead_owner() -> str:
    """A heartbeat owner on this host whose process has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return f"{psutil.os.uname().nodename}:{proc.pid}:{started:.2f}"


async def lost_meeting(tmp: Path, store: SqliteStatusStore, rx: CallbackReceiver, mid: str, *,
                       segments: int, owner: str | None) -> MeetingRecord:
    """A meeting in the call whose bot had stored ``segments`` segments and this playlist."""
    rec = tmp / mid
    (rec / "hls").mkdir(parents=True)
    if segments:
        files = make_segments(tmp / f"{mid}-src", 2 * segments, offset=1000)[:segments]
        segs = []
        for i, f in enumerate(files):
            name = f"s000r000_{i:06d}.ts"
            shutil.copy(f, rec / "hls" / name)
            segs.append(Segment(name, 2.0, 1_700_000_000.0 + 2 * i, 0, 0, TURNS[i % len(TURNS)]))
        (rec / "hls" / "playlist.m3u8").write_text(render_playlist(segs, ended=False))
    record = MeetingRecord(meeting_id=mid, video_id=f"v-{mid}", meeting_url="https://meet.google.com/abc-defg-hij",
                           bot_name="Acme Notes", callback_url=rx.url, callback_data={"crm": 7},
                           output_dir=str(rec), storage=rec.as_uri(), status=Status.PROCESSING,
                           phase="in_call_recording")
    await store.create(record)
    if owner:
        await store.beat(mid, owner, 60)
    return record


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", allow_private_urls="127.0.0.1/32",
                    callback_retry_base_delay=0.2, callback_grace=5)


def test_an_owner_is_alive_only_while_its_process_runs() -> None:
    assert owner_alive(owner_id()) is True
    assert owner_alive(dead_owner()) is False
    assert owner_alive("another-host:1:1.00") is None
    assert owner_alive("garbled") is None


async def test_restart_settles_lost_bots_from_storage_and_adopts_live_ones(
        tmp_path: Path, settings: Settings) -> None:
    store = SqliteStatusStore(tmp_path / "status.db")
    async with CallbackReceiver() as rx:
        await lost_meeting(tmp_path, store, rx, "mt-salvaged", segments=4, owner=dead_owner())
        await lost_meeting(tmp_path, store, rx, "mt-empty", segments=0, owner=None)
        await lost_meeting(tmp_path, store, rx, "mt-alive", segments=1, owner=owner_id())
        await lost_meeting(tmp_path, store, rx, "mt-elsewhere", segments=1, owner="other-host:42:1.00")
        outcome = await recover_meetings(store, settings)
        assert outcome == {"mt-salvaged": "salvaged", "mt-empty": "failed", "mt-alive": "adopted",
                           "mt-elsewhere": "adopted"}
        bodies = {b["meeting_id"]: b for b in (r.json() for r in await rx.wait_for(2, timeout=20))}
        await asyncio.sleep(0.5)
        assert len(rx.received) == 2, "exactly one callback per settled meeting"

    saved = await store.get("mt-salvaged")
    assert saved and saved.status is Status.DONE and saved.reason == "recording_interrupted"
    cb = bodies["mt-salvaged"]
    assert cb["success"] is True and cb["status"] == "done" and cb["callback_data"] == {"crm": 7}
    assert cb["reason"] == "recording_interrupted" and "server restarted" in cb["warnings"][0]
    mp4 = Path(cb["recording_url"].removeprefix("file://"))
    assert 7.8 < float((await probe(mp4))["format"]["duration"]) < 8.3
    # The timeline comes back from the turns the playlist carried; a turn cut by a segment edge
    # is one turn again.
    timeline = [(s["speaker_name"], s["start_time_seconds"], s["end_time_seconds"])
                for s in cb["data"]["speaker_timeline"]]
    assert timeline == [("Alice", 0.5, 3.2), ("Bob", 3.5, 5.0)], timeline
    assert json.loads((tmp_path / "mt-salvaged" / "timeline.json").read_text())[0]["speaker_name"] == "Alice"

    failed = await store.get("mt-empty")
    assert failed and failed.status is Status.FAILED and failed.reason == "server_restarted"
    assert bodies["mt-empty"]["success"] is False and bodies["mt-empty"]["error_code"] == "server_restarted"
    for mid in ("mt-alive", "mt-elsewhere"):
        kept = await store.get(mid)
        assert kept and kept.status is Status.PROCESSING and kept.phase == "in_call_recording"
    await store.aclose()


async def test_a_second_pass_changes_nothing(tmp_path: Path, settings: Settings) -> None:
    store = SqliteStatusStore(tmp_path / "status.db")
    async with CallbackReceiver() as rx:
        await lost_meeting(tmp_path, store, rx, "mt-once", segments=2, owner=None)
        assert await recover_meetings(store, settings) == {"mt-once": "salvaged"}
        assert await recover_meetings(store, settings) == {}
        await rx.wait_for(1, timeout=10)
        await asyncio.sleep(0.5)
        assert len(rx.received) == 1
    await store.aclose()
