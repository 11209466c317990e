"""`meetbot serve` end to end: the official videodb SDK records simulated meetings through it.

The server runs its own bots (`meetbot run` subprocesses) against the simulator; the SDK is
synchronous, so its calls run in threads while the simulator serves on this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import videodb
from videodb.exceptions import AuthenticationError, InvalidRequestError

from callbacks.receiver import CallbackReceiver
from core.aio import bounded
from tests.conftest import meetbot_cmd, meetbot_env
from tests.e2e.bot_run import NO_SELFTEST, overrides

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

KEY = "e2e-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sdk(fn: Any, *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


METRICS: dict[str, str] = {}
"""Where the bots' metrics are, by server URL: the worker's port in queue mode (else /metrics)."""


async def scrape(server: str, *, own: bool = False) -> dict[str, float]:
    """The bots' Prometheus metrics as ``{'name{label="v"}': value}`` (``own``: the server's
    /metrics, even in queue mode)."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient() as http:
        r = await http.get(f"{server}/metrics" if own else METRICS.get(server, f"{server}/metrics"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {s.name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())) + "}"
                      if s.labels else ""): s.value
            for fam in text_string_to_metric_families(r.text) for s in fam.samples}


async def start_serve(tmp: Path, simulator: Any, redis_url: str | None, port: int,
                      **extra: str) -> list[asyncio.subprocess.Process]:
    """`meetbot serve` running its own bots, or (with ``redis_url``) handing them over Redis to a
    `meetbot worker`; returns once the API answers. Output goes to ``tmp/serve.log``. The bots
    skip the A/V self-test (``NO_SELFTEST``: these cases check the server, not the sync; 5 s a
    bot); the benchmarks that start it pass ``MEETBOT_AV_SELFTEST="true"``, the product's default."""
    url = f"http://127.0.0.1:{port}"
    env = meetbot_env(**{"MEETBOT_HOST_OVERRIDES": overrides(simulator), "MEETBOT_API_KEYS": KEY,
                         "MEETBOT_DATA_DIR": str(tmp / "data"), "MEETBOT_OUTPUT_DIR": str(tmp / "recordings"),
                         "MEETBOT_MAX_BOTS": "1", "MEETBOT_CALLBACK_STATUS_GRACE": "2",
                         "MEETBOT_HEARTBEAT_INTERVAL": "2", **NO_SELFTEST, **extra})
    if redis_url:
        metrics_port = free_port()
        env.update(MEETBOT_REDIS_URL=redis_url, MEETBOT_PUBLIC_URL=url,
                   MEETBOT_METRICS_PORT=str(metrics_port))
        METRICS[url] = f"http://127.0.0.1:{metrics_port}/metrics"
    with (tmp / "serve.log").open("ab") as log:
        procs = [await asyncio.create_subprocess_exec(*meetbot_cmd(), "serve", "--port", str(port), env=env,
                                                      stdout=log, stderr=asyncio.subprocess.STDOUT)]
        if redis_url:
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
    return procs


@contextlib.asynccontextmanager
async def running_serve(tmp: Path, simulator: Any, redis_url: str | None, **extra: str) -> AsyncIterator[str]:
    """A server for the block; stopped gracefully (SIGTERM) after it, and it must exit cleanly."""
    port = free_port()
    procs = await start_serve(tmp, simulator, redis_url, port, **extra)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.terminate()
        codes = [await bounded(proc.wait(), 60) for proc in procs]
        print((tmp / "serve.log").read_text()[-2000:])
    assert codes == [0] * len(procs), codes


@pytest.fixture(scope="module", params=["embedded", "queue"])
async def server(request: pytest.FixtureRequest, simulator: Any,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The same SDK tests pass against both modes."""
    tmp = tmp_path_factory.mktemp(f"serve-{request.param}")
    redis = request.getfixturevalue("redis_url") if request.param == "queue" else None
    async with running_serve(tmp, simulator, redis) as url:
        yield url


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
    # flite voices: a speech recogniser understands them (the transcript is checked below).
    await simulator.add_scenario(scenario(meeting_code, participants=[
        {"name": "Alice", "voice": "flite:slt"}, {"name": "Bob", "voice": "flite:rms"}]))
    conn = await sdk(videodb.connect, api_key=KEY, base_url=server)
    coll = await sdk(conn.get_collection)
    async with CallbackReceiver() as rx:
        t0 = time.time()
        meeting = await sdk(coll.record_meeting, meeting_url=f"https://meet.google.com/{meeting_code}",
                            bot_name="Acme Notes", meeting_title="Design review", callback_url=rx.url,
                            callback_data={"crm_id": 42})
        assert meeting.status == "initializing" and meeting.id.startswith("mt-")
        t_processing = await wait_status(meeting, "processing", 90)
        live_bot = await scrape(server)
        assert live_bot["meetbot_bots_running"] == 1, live_bot
        if server not in METRICS:  # a worker samples the Redis queue every 5 s: not exact here
            assert live_bot["meetbot_bots_queued"] == 0, live_bot
        # A bot's process tree (Chromium, Xvfb, ffmpeg, Python): hundreds of MB, busy.
        mode = "queue" if server in METRICS else "embedded"
        bot = f'launcher="{mode}",meeting_id="{meeting.id}"'
        assert live_bot[f"meetbot_bot_memory_bytes{{{bot}}}"] > 100e6, live_bot
        assert live_bot[f"meetbot_bot_cpu_cores{{{bot}}}"] > 0.05, live_bot
        if mode == "queue":
            # The server did not start this bot (a worker did): its figures reach the server's
            # /metrics through the heartbeats in Redis, within a beat (2 s here).
            recording = f'meetbot_bot_phase{{host="{socket.gethostname()}",{bot},phase="in_call_recording"}}'
            for _ in range(40):  # the first beat since it began recording
                served = await scrape(server, own=True)
                if served.get(recording):
                    break
                await asyncio.sleep(0.25)
            print("serve's /metrics, a worker's bot:", {k: v for k, v in served.items() if meeting.id in k})
            assert served.get(recording) == 1, served
            assert served[f"meetbot_bot_memory_bytes{{{bot}}}"] > 100e6, served
            assert served[f"meetbot_bot_cpu_cores{{{bot}}}"] > 0.05, served
            assert served['meetbot_bots_reporting{launcher="queue"}'] == 1, served
        # The meeting's stream, indexed live while the bot records.
        rts_id = (await sdk(conn.get, f"collection/default/meeting/{meeting.id}"))["rtstream_id"]
        meeting_stream = await sdk(coll.get_rtstream, rts_id)
        live = await sdk(meeting_stream.index_spoken_words, segmenter="time", length=4, name="Live words")
        live_scenes = await sdk(meeting_stream.index_scenes, extraction_config={"time": 2},
                                name="Live scenes")
        t_done = await wait_status(meeting, "done", 120)
        [cb] = [r.json() for r in await rx.wait_for(1, timeout=30)]
    truth = simulator.truth(meeting_code)
    # Counted once the bot has exited (just after its callback): how it ended, the callback's
    # latency, the frames it captured.
    for _ in range(50):
        ended = await scrape(server)
        if ended.get('meetbot_bots_ended_total{outcome="meeting_ended"}', 0) >= 1:
            break
        await asyncio.sleep(0.2)
    assert ended['meetbot_bots_ended_total{outcome="meeting_ended"}'] >= 1, ended
    calls = ended["meetbot_callback_latency_seconds_count"]
    assert calls >= 1 and 0 < ended["meetbot_callback_latency_seconds_sum"] / calls < 30, ended
    assert ended["meetbot_video_frames_due_total"] > 100, ended
    assert ended["meetbot_video_frames_lost_total"] < 0.05 * ended["meetbot_video_frames_due_total"], ended
    # Counted, and the sound mostly whole: a bot on an idle machine has none or the odd one as the
    # first voice starts; a host that steals CPU a few more (CI: 4), tens of ms in all.
    dropouts, dropped_s = ended["meetbot_sound_dropouts_total"], ended["meetbot_sound_dropout_seconds_total"]
    in_call = truth["ended_at"] - truth["admitted_at"]
    assert (dropouts > 0) == (dropped_s > 0) and dropped_s < 0.02 * in_call, ended
    # Through the call's audio path and 4 s windows a word or two may be misheard: most words,
    # in order of the script, must be there once the last window (after the stream stopped) is in.
    script = [w.strip(".,").lower().replace("colours", "colors") for u in truth["speech"]
              for w in u["text"].split()]
    records: list[dict[str, Any]] = []
    for _ in range(40):
        records = (await sdk(live.get_scenes))["scenes"]
        heard_live = {w.strip(".,?!") for w in " ".join(r["text"] for r in records).lower().split()}
        if sum(w in heard_live for w in script) >= 0.7 * len(script) and "done" in heard_live:
            break
        await asyncio.sleep(0.5)
    assert sum(w in heard_live for w in script) >= 0.7 * len(script), (records, script)
    # Live records carry who the page showed speaking (the bot notes it in each segment).
    by = {r["metadata"].get("speaker") for r in records}
    assert {"Alice", "Bob"} <= by, records
    for r in records:  # a record given to one speaker lies inside that speaker's turn
        mid = (r["start"] + r["end"]) / 2
        around = {u["speaker"] for u in truth["speech"] if u["start"] - 0.5 < mid < u["end"] + 0.5}
        assert r["metadata"].get("speaker") in (None, *around), (r, around)
    bob_turn = truth["speech"][1]
    scenes = (await sdk(live_scenes.get_scenes))["scenes"]
    during = [r for r in scenes
              if min(r["end"], bob_turn["end"]) - max(r["start"], bob_turn["start"]) > 0.5]
    assert during and all("Bob" in r["description"].split("Speaking:")[-1] for r in during), scenes
    quiet = [r for r in scenes if all(min(r["end"], u["end"]) - max(r["start"], u["start"]) < -0.5
                                      for u in truth["speech"])]
    assert all("Speaking:" not in r["description"] for r in quiet), quiet
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

    # Spoken words: the index is a long job the SDK polls; the transcript is on the video's clock,
    # each word given to the speaker the timeline shows; search finds the utterance; shots play.
    t_index = time.time()
    await sdk(video.index_spoken_words)
    print(f"index_spoken_words: {time.time() - t_index:.1f} s for {video.length:.1f} s of video")
    with pytest.raises(InvalidRequestError, match="already indexed"):
        await sdk(video.index_spoken_words)
    text = await sdk(video.get_transcript_text)
    # The recogniser writes US English ("colours" is heard as "colors") with punctuation; through
    # the call's audio path a word or two may be misheard, so most words, not all, must be there.
    said = [w.strip(".,").lower().replace("colours", "colors") for s in truth["speech"]
            for w in s["text"].split()]
    heard = {w.strip(".,?!") for w in text.lower().split()}
    assert sum(w in heard for w in said) >= 0.7 * len(said), (text, said)
    words = await sdk(video.get_transcript)
    # The video's clock starts at its first frame (a few hundred ms after admission).
    origin = cb["recording_started_at"]
    bob = truth["speech"][1]
    # A word of Bob's that the recogniser heard ("colours" is missed now and then).
    key = next(w for w in words if w["text"].lower().strip(".,") in ("colors", "like", "lot"))
    assert bob["start"] - origin - 0.5 < key["start"] < bob["end"] - origin + 0.5, (key, bob)
    word = key["text"].lower().strip(".,")
    rows = (await sdk(conn.get, f"video/{video.id}/transcription",
                      params={"segmenter": "sentence", "length": 1}))["word_timestamps"]
    turns = [r["speaker"] for r in rows]
    assert [a for i, a in enumerate(turns) if i == 0 or turns[i - 1] != a] == ["Alice", "Bob", "Alice"], rows
    found = await sdk(video.search, f"{word} design")
    assert found.response_type == "shots" and found.shots, found
    top = next(shot for shot in found.shots if word in shot.text.lower())
    assert bob["start"] - origin - 0.5 < top.start < bob["end"] - origin, (top.start, bob)
    legacy = await sdk(video.search, word, search_type="keyword", index_type="spoken_word")
    assert legacy.shots and word in legacy.shots[0].text.lower()
    compiled = await sdk(legacy.compile)
    async with httpx.AsyncClient() as http:
        clip = (await http.get(compiled)).text
    assert "#EXT-X-ENDLIST" in clip and ".ts" in clip
    hits = await sdk(coll.search, word)
    assert any(s.video_id == video.id for s in hits.shots)

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


async def test_a_meetings_rtstream_pauses_and_resumes_its_recording(simulator: Any, server: str,
                                                                   meeting_code: str) -> None:
    """stop() on the meeting's RTStream pauses the recording while the bot stays in the call;
    start() resumes it; the video and the timeline have the pause cut out; export makes the
    latest span a video."""
    speech = [{"speaker": "Alice", "at": 1.0, "text": "Before the pause."},
              {"speaker": "Bob", "at": 6.0, "text": "During the pause nobody records this."},
              {"speaker": "Alice", "at": 11.0, "text": "After the pause."}]
    await simulator.add_scenario(scenario(meeting_code, lobby={"mode": "open"}, speech=speech,
                                          end={"kind": "host_ended", "at": 14.0}))
    conn = await sdk(videodb.connect, api_key=KEY, base_url=server)
    coll = await sdk(conn.get_collection)
    async with CallbackReceiver() as rx:
        meeting = await sdk(coll.record_meeting, meeting_url=f"https://meet.google.com/{meeting_code}",
                            callback_url=rx.url)
        admitted = (await simulator.wait_for_event(meeting_code, "admitted", timeout=90))["t"]
        # The SDK's Meeting keeps only its seven attributes: our rtstream_id is in the raw data.
        rts_id = (await sdk(conn.get, f"collection/default/meeting/{meeting.id}"))["rtstream_id"]
        rts = await sdk(coll.get_rtstream, rts_id)
        await asyncio.sleep(max(0.0, admitted + 4.0 - time.time()))
        t_stop = time.time()
        await sdk(rts.stop)
        stopped = await sdk(coll.get_rtstream, rts.id)
        took_stop = time.time() - t_stop
        assert stopped.status == "stopped", stopped.status
        await asyncio.sleep(max(0.0, admitted + 9.0 - time.time()))
        t_start = time.time()
        await sdk(rts.start)
        started = await sdk(coll.get_rtstream, rts.id)
        assert started.status == "connected"
        await wait_status(meeting, "done", 90)
        [cb] = [r.json() for r in await rx.wait_for(1, timeout=30)]
    truth = simulator.truth(meeting_code)
    print(f"meeting stream: stop() -> stopped {took_stop:.2f} s; start() -> connected "
          f"{time.time() - t_start:.2f} s or less")
    assert simulator.truth(meeting_code)["left_at"] is None or truth["left_at"] >= truth["ended_at"]
    # The pause is cut out: the video is the call minus the pause; Bob spoke only in the pause.
    paused = t_start - t_stop
    [pause] = cb["pauses"]
    assert abs(pause["duration"] - paused) < 1.0, (pause, paused, {k: cb[k] for k in cb if k != "data"})
    video = await sdk(coll.get_video, meeting.video_id)
    in_call = truth["ended_at"] - truth["admitted_at"]
    assert abs(video.length - (in_call - pause["duration"])) < 1.5, (video.length, in_call, pause)
    timeline = cb["data"]["speaker_timeline"]
    assert [s["speaker_name"] for s in timeline] == ["Alice", "Alice"], timeline
    resumed_alice = truth["speech"][2]["start"] - cb["recording_started_at"] - pause["duration"]
    assert abs(timeline[1]["start_time_seconds"] - resumed_alice) < 0.6, (timeline, resumed_alice)
    assert cb["rtstream_id"] == rts.id
    # The meeting's stream: stopped with the meeting; its last span exports as a video.
    final = await sdk(coll.get_rtstream, rts.id)
    assert final.status == "stopped"
    exported = await sdk(final.export)
    again = await sdk(final.export)
    assert exported.video_id == again.video_id  # idempotent
    assert abs(exported.duration - (truth["ended_at"] - t_start)) < 1.5, exported.duration
    assert exported.name.endswith(" - Recording")
    async with httpx.AsyncClient(follow_redirects=True) as http:
        assert "#EXT-X-ENDLIST" in (await http.get(exported.stream_url)).text


async def test_a_worker_records_into_s3_and_the_server_plays_it(simulator: Any, meeting_code: str,
                                                                 redis_url: str, s3_server: Any,
                                                                 tmp_path: Path) -> None:
    """Queue mode with S3: the worker's bot writes segments, playlist and MP4 into the bucket; the
    server, which shares no disk with it, answers the video and plays it (playlist proxied, media
    redirected to presigned URLs)."""
    await simulator.add_scenario(scenario(meeting_code, lobby={"mode": "open"},
                                          end={"kind": "host_ended", "at": 8.0}))
    env = {"MEETBOT_STORAGE_BACKEND": "s3", "MEETBOT_S3_BUCKET": s3_server.bucket,
           "MEETBOT_S3_ENDPOINT": s3_server.endpoint_url, "MEETBOT_S3_REGION": s3_server.region,
           "MEETBOT_S3_ACCESS_KEY_ID": s3_server.access_key,
           "MEETBOT_S3_SECRET_ACCESS_KEY": s3_server.secret_key, "MEETBOT_S3_PREFIX": "acme"}
    # A Redis database of its own: the module's queue-mode worker (no S3 credentials) must not
    # take this job.
    own_db = redis_url.rsplit("/", 1)[0] + "/1"
    async with running_serve(tmp_path, simulator, own_db, **env) as url:
        conn = await sdk(videodb.connect, api_key=KEY, base_url=url)
        async with CallbackReceiver() as rx:
            meeting = await sdk(conn.record_meeting, meeting_url=f"https://meet.google.com/{meeting_code}",
                                callback_url=rx.url)
            await wait_status(meeting, "done", 120)
            [cb] = [r.json() for r in await rx.wait_for(1, timeout=30)]
        video = await sdk((await sdk(conn.get_collection)).get_video, meeting.video_id)
        keys = s3_server.keys()
        assert f"acme/recordings/{meeting.id}/recording.mp4" in keys, keys
        assert any(k.startswith(f"acme/recordings/{meeting.id}/hls/") and k.endswith(".ts") for k in keys)
        assert not list((tmp_path / "recordings").rglob("*.ts")), "media left on the local disk"
        assert cb["recording_url"] == f"{url}/media/{video.id}/recording.mp4"
        async with httpx.AsyncClient(follow_redirects=True) as http:
            assert "#EXT-X-ENDLIST" in (await http.get(video.stream_url)).text
            mp4 = await http.get(cb["recording_url"])
            assert mp4.status_code == 200 and mp4.history and mp4.history[0].status_code == 302
        probe = await asyncio.to_thread(subprocess.run, ["ffprobe", "-v", "error", "-show_entries",
                                        "format=duration", "-of", "csv=p=0", cb["recording_url"]],
                                        capture_output=True, text=True, check=True)
        assert abs(float(probe.stdout) - video.length) < 0.5


async def test_a_server_killed_with_its_bots_settles_the_meeting_when_it_starts_again(
        simulator: Any, tmp_path: Path, meeting_code: str) -> None:
    """As when the container or host dies: `serve` and its bots SIGKILLed together mid-recording.
    Started again on the same data, the server finds the bot gone and settles the meeting from
    the segments it had stored: `done` / `recording_interrupted`, with the callback."""
    await simulator.add_scenario(scenario(meeting_code, end={"kind": "none"}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = await start_serve(tmp_path, simulator, None, port)
    async with CallbackReceiver() as rx:
        conn = await sdk(videodb.connect, api_key=KEY, base_url=url)
        meeting = await sdk(conn.record_meeting, meeting_url=f"https://meet.google.com/{meeting_code}",
                            callback_url=rx.url, callback_data={"n": 1})
        await wait_status(meeting, "processing", 90)
        await asyncio.sleep(7)
        family = [psutil.Process(procs[0].pid), *psutil.Process(procs[0].pid).children(recursive=True)]
        for p in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        await procs[0].wait()
        t_killed = time.time()
        assert not rx.received, "nothing reported by the dead"
        async with running_serve_on(tmp_path, simulator, port):
            t_done = await wait_status(meeting, "done", 60)
            [cb] = [r.json() for r in await rx.wait_for(1, timeout=30)]
    print(f"restart -> done: {t_done - t_killed:.2f} s")
    assert cb["success"] is True and cb["reason"] == "recording_interrupted", cb
    assert cb["callback_data"] == {"n": 1} and cb["warnings"]
    mp4 = Path(cb["recording_url"].removeprefix("file://"))
    # The bot recorded ~7 s; at most the open segment (2 s) and one being stored were lost.
    assert float(await probe_duration(mp4)) > 3.5
    assert any(s["speaker_name"] == "Alice" for s in cb["data"]["speaker_timeline"])


async def test_a_scheduled_meeting_joins_at_its_time_once_though_the_server_was_killed_meanwhile(
        simulator: Any, tmp_path: Path, meeting_code: str) -> None:
    """Scheduled 14 s ahead (ISO 8601); `serve` SIGKILLed 3 s later, before the bot is due, and
    started again on the same data: the bot asks to join within 2 s of join_at (as the page
    dates its click), and only one bot ever does."""
    await simulator.add_scenario(scenario(
        meeting_code, lobby={"mode": "open"}, end={"kind": "host_ended", "at": 4.0},
        speech=[{"speaker": "Alice", "at": 0.5, "text": "We start on time."}]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A fresh store has no start-ups to measure: a bot without the self-test starts in ~3 s, so
    # one is due 9 s ahead (with the join lead), after the restart.
    unmeasured = {"MEETBOT_JOIN_STARTUP_S": "7"}
    procs = await start_serve(tmp_path, simulator, None, port, **unmeasured)
    async with CallbackReceiver() as rx, httpx.AsyncClient() as http:
        join_at = time.time() + 14
        r = await http.post(f"{url}/collection/default/meeting/record", headers={"x-access-token": KEY},
                            json={"meeting_url": f"https://meet.google.com/{meeting_code}",
                                  "callback_url": rx.url,
                                  "join_at": datetime.fromtimestamp(join_at, UTC).isoformat()})
        data = r.json()["data"]
        assert (data["status"], data["phase"]) == ("initializing", "scheduled"), data
        await asyncio.sleep(3)
        for p in [psutil.Process(procs[0].pid), *psutil.Process(procs[0].pid).children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        await procs[0].wait()
        async with running_serve_on(tmp_path, simulator, port, **unmeasured):
            [cb] = [c.json() for c in await rx.wait_for(1, timeout=join_at - time.time() + 60)]
    truth = simulator.truth(meeting_code)
    clicks = [e for e in simulator.registry.get(meeting_code).truth.events if e.get("type") == "join_clicked"]
    error = truth["join_clicked_at"] - join_at
    print(f"join_at -> the page's join click: {error:+.2f} s")
    assert len(clicks) == 1, clicks
    assert abs(error) < 2.0, error
    assert cb["success"] is True and cb["meeting_id"] == data["meeting_id"], cb


@contextlib.asynccontextmanager
async def running_serve_on(tmp: Path, simulator: Any, port: int, **extra: str) -> AsyncIterator[None]:
    procs = await start_serve(tmp, simulator, None, port, **extra)
    try:
        yield
    finally:
        procs[0].terminate()
        assert await bounded(procs[0].wait(), 60) == 0


async def probe_duration(path: Path) -> float:
    from media.ffmpeg import probe

    return float((await probe(path))["format"]["duration"])


async def _sse(http: httpx.AsyncClient, url: str, *, last_id: int | None = None,
               stop_after: int | None = None) -> list[tuple[float, int, dict[str, Any]]]:
    """(arrival, id, event) read from a server-sent event stream, until it ends or ``stop_after``."""
    headers = {"x-access-token": KEY, **({"Last-Event-ID": str(last_id)} if last_id is not None else {})}
    got: list[tuple[float, int, dict[str, Any]]] = []
    async with http.stream("GET", url, headers=headers, timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for line in r.aiter_lines():
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
                continue
            if "data" in fields:
                got.append((time.time(), int(fields["id"]), json.loads(fields["data"])))
                if stop_after is not None and len(got) >= stop_after:
                    break
            fields = {}
    return got


@pytest.mark.parametrize("server", ["queue"], indirect=True)
async def test_live_transcript_events_stream_from_the_server_and_resume(simulator: Any, server: str,
                                                                        meeting_code: str) -> None:
    """A queue worker's bot transcribes while the meeting is on; serve streams its transcript.data
    events (SSE): a client that leaves after the first and comes back with Last-Event-ID gets the
    rest, each once, in order; each utterance within 6 s of the voice's end (the simulator's date of
    it); speaker and participant changes and chat messages come the same way, and the chat is also
    ``GET .../meeting/{id}/chat``."""
    speech = [{"speaker": "Alice", "at": 1.0, "text": "Let us review the new design today."},
              {"speaker": "Bob", "at": 4.5, "text": "The buttons are too small on phones."},
              {"speaker": "Alice", "at": 8.0, "text": "Good, then we are done."}]
    await simulator.add_scenario(scenario(
        meeting_code, participants=[{"name": "Alice", "voice": "flite:slt"},
                                    {"name": "Bob", "voice": "flite:rms"}],
        speech=speech, end={"kind": "host_ended", "at": 11.0},
        chat={"messages": [{"sender": "Bob", "at": 2.0, "text": "Slides are in the channel."}]}))
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{server}/collection/default/meeting/record", headers={"x-access-token": KEY},
                            json={"meeting_url": f"https://meet.google.com/{meeting_code}",
                                  "bot_name": "Live", "live_transcript": True, "read_chat": True})
        assert r.status_code == 200, r.text
        mid = r.json()["data"]["meeting_id"]
        url = f"{server}/collection/default/meeting/{mid}/events"
        first = await _sse(http, url, stop_after=1)
        rest = await _sse(http, url, last_id=first[-1][1])
        again = await _sse(http, f"{url}?after=0")  # joined late: everything, then the stream ends
        chat = await http.get(f"{server}/collection/default/meeting/{mid}/chat",
                              headers={"x-access-token": KEY})
    everything = first + rest
    assert [i for _, i, _ in everything] == list(range(1, len(everything) + 1)), [i for _, i, _ in everything]
    assert [e for _, _, e in again] == [e for _, _, e in everything]
    events = [x for x in everything if x[2]["event"] == "transcript.data"]
    kinds = {x[2]["event"] for x in everything}
    assert kinds == {"transcript.data", "speaker.changed", "participants.changed", "chat.message"}, kinds
    assert chat.status_code == 200, chat.text
    assert [(m["sender"], m["text"], m["from_bot"]) for m in chat.json()["data"]["messages"]] == \
        [("Bob", "Slides are in the channel.", False)]
    truth = simulator.truth(meeting_code)
    lags = []
    for arrived, _, e in events:
        assert e["event"] == "transcript.data" and e["meeting_id"] == mid and e["data"]["source"] == "local"
        at = e["recording_started_at"] + e["data"]["end"]
        line = min(truth["speech"], key=lambda s: abs(s["end"] - at))
        assert abs(line["end"] - at) < 0.6 and e["data"]["speaker"] == line["speaker"], (e, truth["speech"])
        lags.append(arrived - line["end"])
    print(f"live events over SSE: {len(events)}, lag {', '.join(f'{x:.1f}' for x in lags)} s")
    assert len(events) >= 3 and max(lags) <= 6.0, lags
