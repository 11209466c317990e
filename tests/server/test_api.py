"""The API as the official videodb SDK speaks it, with the bots played by the test."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import videodb
from videodb._utils._video import build_iframe_embed_code
from videodb.exceptions import AuthenticationError, InvalidRequestError

from core.lifecycle import Phase, Status
from status.store import Result
from tests.server.support import KEY, running_server

pytestmark = pytest.mark.unit

MEETING_KEYS = {"meeting_id", "bot_name", "meeting_title", "meeting_url", "status", "time_zone",
                "video_id", "speaker_timeline"}


async def sdk(fn: Any, *args: Any, **kw: Any) -> Any:
    """The SDK is synchronous (requests); the server runs on this loop."""
    return await asyncio.to_thread(fn, *args, **kw)


async def test_sdk_round_trip(tmp_path: Path) -> None:
    async with running_server(tmp_path) as (url, store, bots):
        conn = await sdk(videodb.connect, api_key=KEY, base_url=url)
        coll = await sdk(conn.get_collection)
        assert coll.id == "default"
        meeting = await sdk(coll.record_meeting, meeting_url="https://meet.google.com/abc-defg-hij",
                            bot_name="Notes", meeting_title="Standup", callback_data={"x": 1})
        assert meeting.status == "initializing" and meeting.bot_name == "Notes"
        assert meeting.time_zone == "UTC" and meeting.meeting_title == "Standup"
        [job] = bots.jobs
        assert job.meeting_id == meeting.id and job.video_id == meeting.video_id
        assert job.callback_data == {"x": 1} and job.output_dir == (tmp_path / "recordings" / job.meeting_id)

        await store.record_phase(meeting.id, Phase.IN_CALL_RECORDING, 1.0,
                                 {"stream_url": f"{url}/media/{job.video_id}/hls/playlist.m3u8",
                                  "player_url": f"{url}/watch?v={job.video_id}"})
        await sdk(meeting.refresh)
        assert meeting.status == "processing"
        tl = [{"speaker_name": "Alice", "start_time_seconds": 1.5, "end_time_seconds": 3.0}]
        await store.finish(meeting.id, Result(status=Status.DONE, reason="meeting_ended",
                                              speaker_timeline=tl, duration=20.25))
        assert await sdk(meeting.wait_for_status, "done", timeout=5, interval=0.1)
        assert meeting.speaker_timeline == tl

        video = await sdk(coll.get_video, meeting.video_id)
        assert (video.id, video.collection_id, video.length) == (job.video_id, "default", 20.25)
        assert video.player_url == f"{url}/watch?v={job.video_id}"
        assert f'src="{url}/embed?v={job.video_id}"' in build_iframe_embed_code(video.player_url)
        same = await sdk(conn.get_meeting, meeting.id)  # the `default` alias
        assert same.status == "done" and same.video_id == meeting.video_id
        by_video = await sdk(video.get_meeting)
        assert by_video.id == meeting.id and by_video.status == "done"


async def test_error_paths(tmp_path: Path) -> None:
    async with running_server(tmp_path) as (url, _store, bots):
        bad = await sdk(videodb.connect, api_key="wrong", base_url=url)
        with pytest.raises(AuthenticationError):
            await sdk(bad.get_collection)
        conn = await sdk(videodb.connect, api_key=KEY, base_url=url)
        coll = await sdk(conn.get_collection)
        with pytest.raises(InvalidRequestError, match="unsupported meeting URL"):
            await sdk(coll.record_meeting, meeting_url="https://example.com/not-a-meeting")
        with pytest.raises(InvalidRequestError, match="not found"):
            await sdk(conn.get_meeting, "mt-missing")
        with pytest.raises(InvalidRequestError):
            await sdk(coll.get_video, "m-missing")
        with pytest.raises(InvalidRequestError):
            await sdk(conn.get_collection, "c-other")
        assert bots.jobs == []


async def test_wire_contract(tmp_path: Path) -> None:
    async with running_server(tmp_path) as (url, store, bots), httpx.AsyncClient(base_url=url) as http:
        h = {"x-access-token": KEY}
        r = await http.get("/collection/default")
        assert r.status_code == 401 and r.json()["success"] is False and "status" not in r.json()
        r = await http.get("/collection/default/", headers=h)  # paths never end in a slash
        assert r.status_code == 404 and r.json() == {"success": False, "message": "Not Found",
                                                     "error_code": "not_found"}
        body = {"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": None,
                "bot_image_url": None, "meeting_title": None, "callback_url": None, "callback_data": {},
                "time_zone": "UTC"}
        r = await http.post("/collection/default/meeting/record", json=body, headers=h)
        assert r.status_code == 200
        doc = r.json()
        assert set(doc) == {"success", "data"} and doc["success"] is True
        data = doc["data"]
        assert MEETING_KEYS <= set(data) and not {"id", "collection_id"} & set(data)
        assert data["bot_name"] == "Meeting Recorder" and data["status"] == "initializing"
        mid = data["meeting_id"]
        r = await http.post("/collection/default/meeting/record", json={"bot_name": "x"}, headers=h)
        assert r.status_code == 400 and r.json()["error_code"] == "invalid_request"
        r = await http.post("/collection/default/meeting/record",
                            json={**body, "callback_url": "not a url"}, headers=h)
        assert r.status_code == 400 and r.json()["error_code"] == "invalid_job"
        # Not a video until it records; then `length` is a number or absent, never null.
        r = await http.get(f"/video/{data['video_id']}", headers=h)
        assert r.status_code == 404
        await store.record_phase(mid, Phase.IN_CALL_RECORDING, 1.0, {"stream_url": "http://s/p.m3u8"})
        v = (await http.get(f"/video/{data['video_id']}", params={"collection_id": "default"},
                            headers=h)).json()["data"]
        assert v["id"] == data["video_id"] and v["collection_id"] == "default" and "length" not in v
        # The leave extension reaches the bots; once ended, there is nothing to leave.
        r = await http.post(f"/collection/default/meeting/{mid}/leave", headers=h)
        assert r.status_code == 200 and bots.left == [mid]
        await store.finish(mid, Result(status=Status.DONE, reason="stopped"))
        r = await http.post(f"/collection/default/meeting/{mid}/leave", headers=h)
        assert r.status_code == 409 and r.json()["error_code"] == "meeting_not_active"
        # OpenAPI is served and documents the routes.
        spec = (await http.get("/openapi.json")).json()
        assert {"/collection/{cid}/meeting/record", "/collection/{cid}/meeting/{meeting_id}/leave",
                "/video/{video_id}", "/video/{video_id}/meeting"} <= set(spec["paths"])
        assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "x-access-token"


async def test_bad_input_is_refused_at_the_door(tmp_path: Path) -> None:
    """Address rules and sizes are checked when the request arrives, naming the field."""
    async with running_server(tmp_path) as (url, _store, bots), httpx.AsyncClient(base_url=url) as http:
        h = {"x-access-token": KEY}
        body = {"meeting_url": "https://meet.google.com/abc-defg-hij", "callback_data": {}}
        for field, target in [("callback_url", "http://169.254.169.254/latest/meta-data/"),
                              ("callback_url", "http://10.0.0.7/hook"),
                              ("bot_image_url", "http://[::1]:8080/me.png")]:
            r = await http.post("/collection/default/meeting/record", json={**body, field: target},
                                headers=h)
            doc = r.json()
            assert r.status_code == 400 and doc["error_code"] == "unsafe_url", doc
            assert doc["message"].startswith(f"{field} refused")
            assert "MEETBOT_ALLOW_PRIVATE_URLS" in doc["message"]
        big = {"blob": "x" * (64 * 1024)}
        r = await http.post("/collection/default/meeting/record", json={**body, "callback_data": big},
                            headers=h)
        assert r.status_code == 400 and "callback_data" in r.json()["message"], r.json()
        r = await http.post("/collection/default/meeting/record", json={**body, "bot_name": "n" * 101},
                            headers=h)
        assert r.status_code == 400 and "bot_name" in r.json()["message"]
        # A body over the limit is refused before it is parsed, declared or streamed.
        huge = b'{"meeting_url": "' + b"a" * (2 * 1024 * 1024) + b'"}'
        r = await http.post("/collection/default/meeting/record", content=huge,
                            headers={**h, "content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error_code"] == "payload_too_large"

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(40):
                yield b"a" * 65536

        r = await http.post("/collection/default/meeting/record", content=chunks(),
                            headers={**h, "content-type": "application/json"})
        assert r.status_code == 413
        assert bots.jobs == []
        # A public host that does not resolve now is accepted (DNS may recover; delivery checks).
        r = await http.post("/collection/default/meeting/record",
                            json={**body, "callback_url": "https://hooks.invalid/x"}, headers=h)
        assert r.status_code == 200 and len(bots.jobs) == 1
