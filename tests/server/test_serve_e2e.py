"""`meetbot serve` end to end: the official videodb SDK records simulated meetings through it.

The server runs its own bots (`meetbot run` subprocesses) against the simulator; the SDK is
synchronous, so its calls run in threads while the simulator serves on this loop.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import videodb
from videodb.exceptions import AuthenticationError, InvalidRequestError

from callbacks.receiver import CallbackReceiver
from tests.conftest import meetbot_cmd, meetbot_env
from tests.e2e.bot_run import overrides

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

KEY = "e2e-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sdk(fn: Any, *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


@pytest.fixture(scope="module", params=["embedded", "queue"])
async def server(request: pytest.FixtureRequest, simulator: Any,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """`meetbot serve` running its own bots (embedded), or handing them over Redis to a
    `meetbot worker` (queue): the same SDK tests pass against both."""
    tmp = tmp_path_factory.mktemp(f"serve-{request.param}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = meetbot_env(MEETBOT_HOST_OVERRIDES=overrides(simulator), MEETBOT_API_KEYS=KEY,
                      MEETBOT_DATA_DIR=str(tmp / "data"), MEETBOT_OUTPUT_DIR=str(tmp / "recordings"),
                      MEETBOT_MAX_BOTS="1", MEETBOT_CALLBACK_STATUS_GRACE="2")
    if request.param == "queue":
        env.update(MEETBOT_REDIS_URL=request.getfixturevalue("redis_url"), MEETBOT_PUBLIC_URL=url)
    log = (tmp / "serve.log").open("wb")
    procs = [await asyncio.create_subprocess_exec(*meetbot_cmd(), "serve", "--port", str(port), env=env,
                                                  stdout=log, stderr=asyncio.subprocess.STDOUT)]
    if request.param == "queue":
        procs.append(await asyncio.create_subprocess_exec(*meetbot_cmd(), "worker", env=env, stdout=log,
                                                          stderr=asyncio.subprocess.STDOUT))
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(f"{url}/openapi.json")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError((tmp / "serve.log").read_text())
    yield url
    for proc in procs:
        proc.terminate()
    for proc in procs:
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    log.close()
    print((tmp / "serve.log").read_text()[-2000:])


def scenario(code: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "platform": "meet", "meeting_code": code, "title": "Design review",
        "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
        "lobby": {"mode": "ask", "admit_after": 1.0},
        "speech": [
            {"speaker": "Alice", "at": 1.5, "text": "Let us review the new design today."},
            {"speaker": "Bob", "at": 5.0, "text": "I like the colours a lot."},
            {"speaker": "Alice", "at": 8.5, "text": "Good, then we are done."},
        ],
        "end": {"kind": "host_ended", "at": 12.0},
    }
    base.update(over)
    return base


async def wait_status(meeting: Any, status: str, timeout: float) -> float:
    """Poll like the SDK's wait_for_status, finely; the time it was first seen."""
    assert await sdk(meeting.wait_for_status, status, timeout=timeout, interval=0.2), meeting.status
    return time.time()


async def test_sdk_records_a_meeting_through_the_server(simulator: Any, server: str,
                                                        meeting_code: str) -> None:
    await simulator.add_scenario(scenario(meeting_code))
    conn = await sdk(videodb.connect, api_key=KEY, base_url=server)
    coll = await sdk(conn.get_collection)
    async with CallbackReceiver() as rx:
        t0 = time.time()
        meeting = await sdk(coll.record_meeting, meeting_url=f"https://meet.google.com/{meeting_code}",
                            bot_name="Acme Notes", meeting_title="Design review", callback_url=rx.url,
                            callback_data={"crm_id": 42})
        assert meeting.status == "initializing" and meeting.id.startswith("mt-")
        t_processing = await wait_status(meeting, "processing", 90)
        t_done = await wait_status(meeting, "done", 120)
        [cb] = [r.json() for r in await rx.wait_for(1, timeout=30)]
    truth = simulator.truth(meeting_code)
    data = await sdk(conn.get, f"collection/default/meeting/{meeting.id}")
    at = {m["phase"]: m["at"] for m in data["phases"]}
    assert list(at) == ["starting", "joining", "in_waiting_room", "in_call_recording", "leaving",
                        "uploading", "done"]
    print(f"record_meeting -> processing: {t_processing - t0:.2f} s as the SDK saw it "
          f"({at['in_call_recording'] - t0:.2f} s in the store); meeting end -> done: "
          f"{t_done - truth['ended_at']:.2f} s ({at['done'] - truth['ended_at']:.2f} s in the store)")

    assert [s["speaker_name"] for s in meeting.speaker_timeline] == [s["speaker"] for s in truth["speech"]]
    video = await sdk(coll.get_video, meeting.video_id)
    assert video.id == meeting.video_id and video.collection_id == "default"
    assert video.stream_url == f"{server}/media/{video.id}/hls/playlist.m3u8"
    assert video.player_url == f"{server}/watch?v={video.id}"
    assert abs(video.length - (truth["ended_at"] - truth["admitted_at"])) < 1.5
    async with httpx.AsyncClient() as http:
        playlist = (await http.get(video.stream_url)).text
        assert "#EXT-X-ENDLIST" in playlist
        assert (await http.get(video.player_url)).status_code == 200
    again = await sdk(conn.get_meeting, meeting.id)
    assert (again.status, again.video_id) == ("done", meeting.video_id)
    assert (await sdk(video.get_meeting)).id == meeting.id

    # The bot's own callback carries the server's http URLs.
    assert cb["success"] is True and cb["meeting_id"] == meeting.id and cb["callback_data"] == {"crm_id": 42}
    assert cb["data"]["stream_url"] == video.stream_url and cb["data"]["player_url"] == video.player_url
    assert cb["recording_url"] == f"{server}/media/{video.id}/recording.mp4"

    with pytest.raises(AuthenticationError):
        await sdk((await sdk(videodb.connect, api_key="nope", base_url=server)).get_collection)
    with pytest.raises(InvalidRequestError):
        await sdk(coll.record_meeting, meeting_url="https://meet.example.com/abc")


async def test_leave_ends_a_running_bot_with_stopped(simulator: Any, server: str, meeting_code: str) -> None:
    await simulator.add_scenario(scenario(meeting_code, end={"kind": "none"}))
    conn = await sdk(videodb.connect, api_key=KEY, base_url=server)
    async with CallbackReceiver() as rx:
        meeting = await sdk(conn.record_meeting, meeting_url=f"https://meet.google.com/{meeting_code}",
                            callback_url=rx.url)
        await wait_status(meeting, "processing", 90)
        await asyncio.sleep(4)
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{server}/collection/default/meeting/{meeting.id}/leave",
                                headers={"x-access-token": KEY})
            assert r.status_code == 200 and r.json()["success"] is True
        t_leave = time.time()
        t_done = await wait_status(meeting, "done", 90)
        [cb] = [r.json() for r in await rx.wait_for(1, timeout=30)]
    print(f"leave -> done: {t_done - t_leave:.2f} s")
    data = (await sdk(conn.get, f"collection/default/meeting/{meeting.id}"))
    assert data["reason"] == "stopped" and data["status"] == "done"
    assert cb["reason"] == "stopped" and cb["success"] is True
    assert simulator.truth(meeting_code)["left_at"] is not None  # the bot really left the call
