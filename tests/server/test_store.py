"""The SQLite status store and the bot-side reporter: statuses as a bot moves, results once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.lifecycle import Phase, Status
from server.reporter import StoreReporter, result_of
from server.sqlite_store import SqliteStatusStore
from server.store import MeetingRecord, Result

pytestmark = pytest.mark.unit


def record(mid: str = "mt-1", vid: str = "m-1") -> MeetingRecord:
    return MeetingRecord(meeting_id=mid, video_id=vid, meeting_url="https://meet.google.com/abc-defg-hij",
                         bot_name="Bot", output_dir="/tmp/x")


async def test_phases_move_the_status_and_a_result_ends_it_once(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.db")
    await store.create(record())
    assert (await store.get("mt-1")).status is Status.INITIALIZING  # type: ignore[union-attr]
    await store.record_phase("mt-1", Phase.STARTING, 1.0)
    await store.record_phase("mt-1", Phase.IN_CALL_RECORDING, 2.0, {"stream_url": "http://x/s.m3u8"})
    r = await store.get_by_video("m-1")
    assert r is not None and r.status is Status.PROCESSING and r.phase == "in_call_recording"
    assert r.stream_url == "http://x/s.m3u8"
    assert [m.phase for m in r.phases] == ["starting", "in_call_recording"]
    # The terminal phase alone does not end it: the result does, with its data.
    await store.record_phase("mt-1", Phase.DONE, 3.0)
    assert (await store.get("mt-1")).status is Status.PROCESSING  # type: ignore[union-attr]
    tl = [{"speaker_name": "A", "start_time_seconds": 1.0, "end_time_seconds": 2.0}]
    assert await store.finish("mt-1", Result(status=Status.DONE, reason="stopped", speaker_timeline=tl,
                                             duration=12.5))
    assert not await store.finish("mt-1", Result(status=Status.FAILED, reason="internal_error"))
    await store.record_phase("mt-1", Phase.LEAVING, 4.0)
    r = await store.get("mt-1")
    assert r is not None
    assert (r.status, r.reason, r.phase, r.duration) == (Status.DONE, "stopped", "done", 12.5)
    assert r.speaker_timeline == tl
    assert [m.phase for m in r.phases] == ["starting", "in_call_recording", "done"]
    assert await store.active() == []
    assert await store.get("nope") is None and await store.record_phase("nope", Phase.STARTING, 1) is None


async def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.db")
    await store.create(record())
    phases = [Phase.STARTING, Phase.JOINING, Phase.IN_WAITING_ROOM, Phase.IN_CALL_RECORDING] * 5
    other = SqliteStatusStore(tmp_path / "s.db")
    await asyncio.gather(*(s.record_phase("mt-1", p, i) for i, p in enumerate(phases)
                           for s in (store, other)))
    r = await store.get("mt-1")
    assert r is not None and len(r.phases) == 2 * len(phases)


async def test_reporter_writes_in_order_and_reads_the_callback_body(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.db")
    await store.create(record())
    rep = StoreReporter(store, "mt-1", {"stream_url": "http://h/media/m-1/hls/playlist.m3u8"})
    for old, new in [(Phase.CREATED, Phase.STARTING), (Phase.STARTING, Phase.JOINING),
                     (Phase.JOINING, Phase.IN_CALL_RECORDING), (Phase.IN_CALL_RECORDING, Phase.LEAVING),
                     (Phase.LEAVING, Phase.UPLOADING), (Phase.UPLOADING, Phase.DONE)]:
        rep.on_phase(old, new, 1.0)
    body = {"success": True, "message": "Meeting recording completed.", "status": "done",
            "reason": "meeting_ended", "duration": 30.5,
            "recording_url": "http://h/media/m-1/recording.mp4",
            "data": {"video_id": "m-1", "speaker_timeline": [], "stream_url": "http://h/s",
                     "player_url": "p"}}
    rep.on_result(body)
    await rep.aclose()
    r = await store.get("mt-1")
    assert r is not None and r.status is Status.DONE and r.reason == "meeting_ended"
    assert (r.stream_url, r.player_url, r.duration) == ("http://h/s", "p", 30.5)
    assert result_of({"status": "failed", "reason": "denied_admission", "error": "no"}).error == "no"


async def test_a_bot_under_a_server_stores_locally_and_reports_http_urls(tmp_path: Path) -> None:
    from bot.errors import StorageError
    from bot.job import Job
    from bot.outcomes import Outcome
    from bot.runner import JobRunner, Recording
    from tests.server.support import settings_for

    settings = settings_for(tmp_path, public_url="http://api.example:8000/")
    job = Job.parse({"meeting_url": "https://meet.google.com/abc-defg-hij",
                     "output_dir": str(tmp_path / "o")})
    runner = JobRunner(job, settings=settings)
    store = SqliteStatusStore(tmp_path / "s.db")
    reporter = StoreReporter.attach(runner, settings, store)
    assert reporter is not None
    url = await runner.storage.put_bytes("hls/playlist.m3u8", b"#EXTM3U\n")
    assert url == f"http://api.example:8000/media/{job.video_id}/hls/playlist.m3u8"
    assert (tmp_path / "o" / "hls" / "playlist.m3u8").read_bytes() == b"#EXTM3U\n"
    with pytest.raises(StorageError):
        runner.storage.url("../escape")
    payload = runner._payload(Outcome.MEETING_ENDED, None, Recording(recording_url=url, stream_url=url), True)
    assert payload.data is not None
    assert payload.data.player_url == f"http://api.example:8000/watch?v={job.video_id}"
    await reporter.aclose()
