"""Indexes on a live RTStream through a real `meetbot serve`: scenes described by the text on screen
(tesseract), transcript windows (PocketSphinx), records as segments land, an index paused and
resumed while the stream goes on, search, and alerts delivered as signed webhooks to a real socket.
The source is an RTSP camera that shows a caption and says a sentence in a loop (flite)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import videodb
from videodb.exceptions import InvalidRequestError

from callbacks.receiver import CallbackReceiver
from callbacks.signing import WebhookSigner, generate_secret
from tests.streams.serve import KEY, Serve, serve
from tests.support.media import H264_AAC
from tests.support.procs import wait_until
from tests.support.sources import RtspSource

pytestmark = pytest.mark.media

SECRET = generate_secret()
CAPTION = "QUARTERLY REVENUE"
SENTENCE = "We need to talk about the budget for next year."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with serve(tmp_path_factory.mktemp("serve-indexes"), MEETBOT_WEBHOOK_SECRET=SECRET,
               MEETBOT_INDEX_POLL_INTERVAL="0.5") as s:
        yield s


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sentence in flite's rms voice, then 1.5 s of silence (a recogniser follows flite)."""
    d = tmp_path_factory.mktemp("speech")
    subprocess.run(["flite", "-voice", "rms", "-t", SENTENCE, "-o", str(d / "raw.wav")], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(d / "raw.wav"), "-af", "apad=pad_dur=1.5",
                    "-ar", "48000", str(d / "speech.wav")], check=True)
    return d / "speech.wav"


@pytest.fixture
def camera(make_rtsp_source: Callable[..., RtspSource], speech: Path) -> RtspSource:
    return make_rtsp_source(H264_AAC.but(caption=CAPTION, speech=str(speech)))


async def sdk(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


async def wait_scenes(index: Any, n: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    scenes: list[dict[str, Any]] = []
    while time.time() < deadline:
        scenes = (await sdk(index.get_scenes))["scenes"]
        if len(scenes) >= n:
            return scenes
        await asyncio.sleep(0.5)
    raise AssertionError(f"{len(scenes)} records after {timeout} s, wanted {n}: {scenes}")


async def test_live_indexes_describe_transcribe_pause_search_and_alert(server: Serve,
                                                                      camera: RtspSource) -> None:
    conn = await sdk(videodb.connect, api_key=KEY, base_url=server.url)
    coll = await sdk(conn.get_collection)
    # Live only (store unset): a stream is indexed whether or not its media is kept.
    rts = await sdk(coll.connect_rtstream, url=camera.url, name="Board room", media_types=["video", "audio"])
    t_connect = time.time()
    scene = await sdk(rts.index_scenes, extraction_config={"time": 2, "frame_count": 1},
                      prompt="What is on the slide?", name="Slides")
    spoken = await sdk(rts.index_spoken_words, segmenter="time", length=4, name="Words")
    assert scene.rtstream_index_id.startswith("rsi-") and scene.status == "connected"
    assert (scene.extraction_type, scene.name) == ("time", "Slides")
    assert spoken.extraction_config == {"segmenter": "time", "segmentation_value": 4}

    revenue = await sdk(conn.create_event, event_prompt=f'Alert when "{CAPTION.lower()}" is shown',
                        label="revenue")
    budget = await sdk(conn.create_event, event_prompt="Detect when someone mentions the budget",
                       label="budget")
    payroll = await sdk(conn.create_event, event_prompt=r"re:\bpayroll\b", label="payroll")
    assert {e["label"] for e in await sdk(conn.list_events)} >= {"revenue", "budget", "payroll"}
    with pytest.raises(InvalidRequestError, match="regular expression"):
        await sdk(conn.create_event, event_prompt="re:([unclosed", label="bad")

    async with CallbackReceiver() as rx:
        alert = await sdk(scene.create_alert, revenue, callback_url=rx.url)
        await sdk(scene.create_alert, payroll, callback_url=rx.url)
        await sdk(spoken.create_alert, budget, callback_url=rx.url)
        assert {a["event_id"] for a in await sdk(scene.list_alerts)} == {revenue, payroll}

        # Scenes: one record per 2 s, the caption read off the picture, on the Unix clock.
        scenes = await wait_scenes(scene, 3)
        t_seen = time.time()
        read = sum(CAPTION.lower() in s["description"].lower() for s in scenes)
        print(f"caption read in {read} of {len(scenes)} frames")
        assert read >= 2 * len(scenes) / 3, scenes
        starts = [s["start"] for s in scenes]
        assert t_connect - 5 < starts[0] and scenes[-1]["end"] < t_seen
        assert all(abs((b - a) - 2.0) < 0.6 for a, b in itertools.pairwise(starts)), starts
        print(f"scene lag: last record ends {t_seen - scenes[-1]['end']:.1f} s before it was read")

        # Transcript windows of 4 s: the sentence is heard.
        words = await wait_scenes(spoken, 2, timeout=60)
        text = " ".join(s["text"] for s in words).lower()
        assert "budget" in text, words

        # Search on the stream: each index finds its own; times are Unix seconds.
        found = await sdk(rts.search, "budget")
        assert found.shots and "budget" in found.shots[0].text.lower(), found.shots
        assert found.shots[0].scene_index_id == spoken.rtstream_index_id
        assert t_connect - 5 < found.shots[0].start < time.time()
        slides = await sdk(rts.search, "revenue", index_id=scene.rtstream_index_id)
        assert slides.shots and all(s.scene_index_id == scene.rtstream_index_id for s in slides.shots)
        assert (await sdk(rts.search, "payroll")).shots == []
        everywhere = await sdk(conn.post, "rtstream/collection/default/search", data={"query": "budget"})
        assert any(r["rtstream_id"] == rts.id and r["rtstream_name"] == "Board room"
                   for r in everywhere["results"])

        # Alerts: signed webhooks for the caption and the sentence, none for payroll.
        for _ in range(60):
            if {r.json()["label"] for r in rx.events()} == {"revenue", "budget"}:
                break
            await rx.wait_for(len(rx.received) + 1, timeout=30)
        signer = WebhookSigner.from_secret(SECRET)
        labels = set()
        for r in rx.events():
            signer.verify(r.body, r.headers)
            body = r.json()
            labels.add(body["label"])
            assert body["rtstream_id"] == rts.id and body["start"] < body["end"]
        assert labels == {"revenue", "budget"}, [r.json() for r in rx.events()]
        first = next(r.json() for r in rx.events() if r.json()["label"] == "revenue")
        assert first["alert_id"] == alert and first["matched"].lower() == CAPTION.lower()
        assert first["player_url"].startswith(f"{server.url}/watch?v={rts.id}&start=")

        # The caption stays on screen: one alert for the whole stretch, not one per record.
        await wait_scenes(scene, len(await wait_scenes(scene, 1)) + 2)
        assert sum(1 for r in rx.events() if r.json()["alert_id"] == alert) == 1
        assert [a["fired"] for a in await sdk(scene.list_alerts) if a["alert_id"] == alert] == [1]
        await sdk(scene.disable_alert, alert)
        assert [a["status"] for a in await sdk(scene.list_alerts) if a["alert_id"] == alert] == ["disabled"]

    # The scene index paused while the stream goes on; resumed from that moment.
    await sdk(scene.stop)
    t_stop = time.time()
    assert (await sdk(rts.get_scene_index, scene.rtstream_index_id)).status == "stopped"
    held = len((await sdk(scene.get_scenes))["scenes"])
    await asyncio.sleep(6)
    assert len((await sdk(scene.get_scenes))["scenes"]) == held
    await sdk(scene.start)
    t_start = time.time()
    after = await wait_scenes(scene, held + 2)
    gap = [s for s in after if t_stop + 2.5 < s["start"] < t_start - 2.5]
    assert not gap, gap  # what was ingested while paused stays unindexed
    assert (await sdk(coll.get_rtstream, rts.id)).status == "connected"

    # A time range and paging, as get_scenes(start, end, page, page_size) asks.
    lo, hi = int(after[0]["start"]), int(after[-1]["end"]) + 1
    page1 = await sdk(scene.get_scenes, lo, hi, 1, 2)
    assert len(page1["scenes"]) == 2 and page1["next_page"] is True
    listed = await sdk(rts.list_scene_indexes)
    assert [i.rtstream_index_id for i in listed] == [scene.rtstream_index_id, spoken.rtstream_index_id]
    await sdk(rts.stop)
    await sdk(spoken.stop)
    await sdk(scene.stop)


def test_index_requests_that_cannot_be_served_are_refused(server: Serve, rtsp_source: RtspSource) -> None:
    conn = videodb.connect(api_key=KEY, base_url=server.url)
    coll = conn.get_collection()
    video_only = coll.connect_rtstream(url=rtsp_source.url, name="Silent cam", media_types=["video"])
    try:
        with pytest.raises(InvalidRequestError, match="no audio"):
            video_only.index_spoken_words()
        with pytest.raises(InvalidRequestError, match="not supported on a stream"):
            video_only.index_scenes(extraction_type="shot")
        with pytest.raises(InvalidRequestError, match="not found"):
            video_only.get_scene_index("rsi-0000")
        with pytest.raises(InvalidRequestError, match="not found"):
            videodb.rtstream.RTStream(conn, id="rts-missing").index_scenes()
    finally:
        video_only.stop()


def test_the_npm_sdk_indexes_a_stream_and_searches_it(server: Serve, camera: RtspSource) -> None:
    from tests.support.npm_sdk import run_sdk

    steps = [
        {"call": "getCollection", "args": ["default"], "as": "coll"},
        {"call": "connectRTStream", "on": "coll", "args": [camera.url, "npm board", ["video", "audio"]],
         "as": "rt"},
        # The npm SDK's default: "time_based", {time: 2, frame_count: 5}.
        {"call": "indexScenes", "on": "rt", "args": [{"name": "npm slides"}], "as": "si"},
        {"call": "getSceneIndex", "on": "rt", "args": [{"$ref": "si.rtstreamIndexId"}]},
        {"sleep": 9},
        {"call": "getScenes", "on": "si", "args": [0, 0]},
        {"call": "search", "on": "rt", "args": [{"query": "revenue", "indexType": "scene"}]},
        {"call": "stop", "on": "si"},
        {"call": "stop", "on": "rt"},
    ]
    out = run_sdk(server.url, KEY, steps, timeout=120)
    assert all(r["ok"] for r in out), [r for r in out if not r["ok"]]
    si = out[2]["result"]
    assert si["extractionType"] == "time_based" and si["status"] == "connected"
    assert out[3]["result"]["name"] == "npm slides"
    scenes = out[5]["result"]["scenes"]
    assert scenes and CAPTION.lower() in scenes[0]["description"].lower(), scenes
    shots = out[6]["result"]["shots"]
    assert shots and shots[0]["sceneIndexId"] == si["rtstreamIndexId"], out[6]
    wait_until(lambda: videodb.connect(api_key=KEY, base_url=server.url).get_collection()
               .get_rtstream(out[1]["result"]["id"]).status == "stopped", 10, "the stream to stop")


def test_the_npm_sdk_indexes_transcribes_and_searches_a_video(server: Serve, camera: RtspSource) -> None:
    """A video (a stream's export) through the npm SDK: indexSpokenWords as the long job it polls,
    getTranscript / getTranscriptText, and its legacy video search."""
    from tests.support.npm_sdk import run_sdk

    coll = videodb.connect(api_key=KEY, base_url=server.url).get_collection()
    rts = coll.connect_rtstream(url=camera.url, name="Recorded board", media_types=["video", "audio"],
                                store=True)
    wait_until(lambda: sum(1 for ln in httpx.get(rts.stream_url, timeout=5).text.splitlines()
                           if ln.endswith(".ts")) >= 5, 30, "10 s of the stream stored")
    rts.stop()
    video_id = rts.export().video_id
    steps = [
        {"call": "getCollection", "args": ["default"], "as": "coll"},
        {"call": "getVideo", "on": "coll", "args": [video_id], "as": "v"},
        {"call": "indexSpokenWords", "on": "v"},
        {"call": "getTranscript", "on": "v"},
        {"call": "getTranscriptText", "on": "v"},
        {"call": "search", "on": "v", "args": ["budget"]},
    ]
    out = run_sdk(server.url, KEY, steps, timeout=180)
    assert all(r["ok"] for r in out), [r for r in out if not r["ok"]]
    assert out[2]["result"] == {"success": True}
    words = out[3]["result"]["wordTimestamps"]
    assert any(w["text"] == "budget" for w in words) and all(w["start"] < w["end"] for w in words)
    assert "budget" in out[4]["result"]
    assert "budget" in json.dumps(out[5]["result"]).lower(), out[5]
