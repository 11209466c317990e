"""The SQLite status store and the bot-side reporter: statuses as a bot moves, results once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.errors import StorageError
from core.lifecycle import Phase, Status
from status.sqlite import SqliteStatusStore
from status.store import MeetingRecord, Result

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


async def test_reporter_writes_phases_and_result_in_order(tmp_path: Path) -> None:
    from bot.recording_store import Recording, RecordingStore
    from bot.reporting import JobResult, Reporter
    from callbacks.factory import build_deliverer
    from core.job import Job
    from core.outcomes import Outcome
    from storage import LocalStorage
    from tests.server.support import settings_for

    settings = settings_for(tmp_path, public_url="http://api.example:8000/")
    store = SqliteStatusStore(tmp_path / "s.db")
    job = Job.parse({"meeting_url": "https://meet.google.com/abc-defg-hij", "meeting_id": "mt-1",
                     "video_id": "m-1", "output_dir": str(tmp_path / "o")})
    await store.create(record())
    storage = LocalStorage(tmp_path / "o", public_url=str(settings.public_url), asset_id="m-1")
    async with build_deliverer(settings) as deliverer:
        rep = Reporter(job, settings, files=RecordingStore(storage), deliverer=deliverer, store=store)
        await rep.start()
        for old, new in [(Phase.CREATED, Phase.STARTING), (Phase.STARTING, Phase.JOINING),
                         (Phase.JOINING, Phase.IN_CALL_RECORDING),
                         (Phase.IN_CALL_RECORDING, Phase.LEAVING), (Phase.LEAVING, Phase.UPLOADING),
                         (Phase.UPLOADING, Phase.DONE)]:
            rep.phase_changed(old, new, 1.0)
        url = await storage.put_bytes("hls/playlist.m3u8", b"#EXTM3U\n")
        # The server's URLs, while the file is written locally; no key escapes the store.
        assert url == "http://api.example:8000/media/m-1/hls/playlist.m3u8"
        assert (tmp_path / "o" / "hls" / "playlist.m3u8").read_bytes() == b"#EXTM3U\n"
        with pytest.raises(StorageError):
            storage.url("../escape")
        recording = Recording(duration=30.5, origin=1.0, timeline=[], stream_url=url,
                              recording_url="http://api.example:8000/media/m-1/recording.mp4")
        result = JobResult(meeting_id="mt-1", video_id="m-1", status=Status.DONE,
                           outcome=Outcome.MEETING_ENDED, recording=recording)
        await rep.report(result)
        await rep.aclose()
    r = await store.get("mt-1")
    assert r is not None and r.status is Status.DONE and r.reason == "meeting_ended"
    assert (r.stream_url, r.player_url, r.duration) == (url, "http://api.example:8000/watch?v=m-1", 30.5)
    assert [m.phase for m in r.phases][-3:] == ["leaving", "uploading", "done"]
    body = json.loads((tmp_path / "o" / "result.json").read_text())
    assert body["data"]["player_url"] == "http://api.example:8000/watch?v=m-1"
    assert await store.heartbeat_of("mt-1") is not None  # the bot's own heartbeat
