"""RTStreams through a real `meetbot serve`, driven by the official Python SDK: live RTSP (TCP and
UDP), RTMP and HLS sources, the stop/start/export lifecycle, source loss and recovery, and the
errors a user gets for what cannot be done."""

from __future__ import annotations

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

from tests.streams.serve import KEY, Serve, serve
from tests.support.media import AUDIO_ONLY, H264_AAC, MPEG4_MP3
from tests.support.procs import wait_until
from tests.support.sources import RtspServer, RtspSource, Source

pytestmark = pytest.mark.media


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with serve(tmp_path_factory.mktemp("serve-streams")) as s:
        yield s


@pytest.fixture
def coll(server: Serve) -> Any:
    return videodb.connect(api_key=KEY, base_url=server.url).get_collection()


def playlist(url: str) -> str:
    r = httpx.get(url, follow_redirects=True, timeout=10)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.text


def segment_names(text: str) -> list[str]:
    return [line.rsplit("/", 1)[-1] for line in text.splitlines() if line and not line.startswith("#")]


def ffprobe_url(url: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                          "-show_format", url], capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)


def codecs(info: dict[str, Any]) -> dict[str, str]:
    return {s["codec_type"]: s["codec_name"] for s in info["streams"]}


def wait_segments(url: str, n: int, timeout: float = 20) -> list[str]:
    got: list[str] = []

    def enough() -> bool:
        nonlocal got
        r = httpx.get(url, follow_redirects=True, timeout=5)
        got = segment_names(r.text) if r.status_code == 200 else []
        return len(got) >= n

    wait_until(enough, timeout, f"{n} segments at {url}")
    return got


def test_rtsp_stream_stops_starts_and_exports_its_latest_span(coll: Any, server: Serve,
                                                             rtsp_source: RtspSource) -> None:
    rts = coll.connect_rtstream(url=rtsp_source.url, name="Lobby camera", media_types=["video", "audio"],
                                store=True)
    assert rts.id.startswith("rts-") and rts.status == "connected"
    assert rts.player_url == f"{server.url}/watch?v={rts.id}"
    assert httpx.get(rts.player_url).status_code == 200
    first = wait_segments(rts.stream_url, 3)
    t_stop = time.time()
    rts.stop()
    took_stop = time.time() - t_stop
    assert coll.get_rtstream(rts.id).status == "stopped"
    assert took_stop < 2.0, took_stop
    # Nothing is ingested while stopped.
    held = segment_names(playlist(rts.stream_url))
    time.sleep(2.5)
    assert segment_names(playlist(rts.stream_url)) == held
    span_one = time.time() - t_stop

    # Export: refused while connected, the latest completed span once stopped, the same asset twice.
    exported = rts.export()
    assert exported.name == "Lobby camera - Recording"
    assert exported.player_url == f"{server.url}/watch?v={exported.video_id}"
    assert rts.export().video_id == exported.video_id
    assert 2.0 < exported.duration < span_one + 30
    info = ffprobe_url(f"{server.url}/media/{exported.video_id}/recording.mp4")
    assert codecs(info) == {"video": "h264", "audio": "aac"}  # copied, not re-encoded
    assert abs(float(info["format"]["duration"]) - exported.duration) < 0.5
    assert "#EXT-X-ENDLIST" in playlist(exported.stream_url)
    video = coll.get_video(exported.video_id)
    assert abs(video.length - exported.duration) < 0.5

    rts.start()
    assert coll.get_rtstream(rts.id).status == "connected"
    with pytest.raises(InvalidRequestError, match="stop it before exporting"):
        rts.export()
    with pytest.raises(InvalidRequestError, match="already"):
        rts.start()
    after = wait_segments(rts.stream_url, len(held) + 2)
    live = playlist(rts.stream_url)
    assert "#EXT-X-DISCONTINUITY" in live and set(first) <= set(after)
    rts.stop()
    second = rts.export(name="Second take")
    assert second.video_id != exported.video_id and second.name == "Second take"

    # A time range of the stream as a VOD playlist (Unix seconds).
    now = time.time()
    start, end = int(t_stop - 3), int(now)
    # The Python SDK returns the player URL; the npm one (and the wire) the stream URL too.
    assert rts.generate_stream(start, end) == f"{server.url}/watch?v={rts.id}&start={start}&end={end}"
    ranged = coll._connection.get(f"rtstream/{rts.id}/stream", params={"start": start, "end": end})
    vod = playlist(ranged["stream_url"])
    assert "#EXT-X-ENDLIST" in vod and 1 <= len(segment_names(vod)) < len(after) + 3
    listed = coll.list_rtstreams(status="stopped")
    assert rts.id in [r.id for r in listed]
    assert rts.id not in [r.id for r in coll.list_rtstreams(status="connected")]


@pytest.fixture(scope="module")
def udp_only_rtsp(streams_workdir: Path) -> Iterator[RtspServer]:
    """A camera that plays to readers over UDP only (TCP answered 461)."""
    server = RtspServer(streams_workdir / "rtsp-udp", reader_transports=("udp",))
    try:
        yield server.start()
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["rtsp-udp", "rtmp", "hls", "rtsp-mpeg4-mp3", "rtmp-audio-only"])
def test_every_source_kind_ingests_and_exports(coll: Any, server: Serve, kind: str, tmp_path: Path,
                                               request: pytest.FixtureRequest,
                                               make_rtsp_source: Callable[..., Source],
                                               make_rtmp_source: Callable[..., Source],
                                               make_hls_source: Callable[..., Source]) -> None:
    media = {"rtsp-mpeg4-mp3": MPEG4_MP3, "rtmp-audio-only": AUDIO_ONLY}.get(kind, H264_AAC)
    if kind == "rtsp-udp":
        source = RtspSource(request.getfixturevalue("udp_only_rtsp"), media, name="udp-cam",
                            workdir=tmp_path / "udp-cam")
        request.addfinalizer(source.close)
        source.start()
    elif kind.startswith("rtsp"):
        source = make_rtsp_source(media)
    elif kind.startswith("rtmp"):
        source = make_rtmp_source(media)
    else:
        source = make_hls_source(media)
    types = ["audio"] if media.video is None else ["video", "audio"]
    rts = coll.connect_rtstream(url=source.url, name=kind, media_types=types, store=True)
    wait_segments(rts.stream_url, 2, timeout=30)
    rts.stop()
    exported = rts.export()
    info = ffprobe_url(f"{server.url}/media/{exported.video_id}/recording.mp4")
    if media.video is None:
        assert exported.player_url is None and codecs(info) == {"audio": "aac"}
        assert rts.player_url is None
    else:
        # H.264/AAC copied; anything else transcoded to it.
        assert codecs(info) == {"video": "h264", "audio": "aac"}
    assert exported.duration > 1.0


def test_a_live_only_stream_plays_but_does_not_export(coll: Any, rtsp_source: RtspSource) -> None:
    rts = coll.connect_rtstream(url=rtsp_source.url, name="live only", media_types=["video"])
    wait_segments(rts.stream_url, 2)
    rts.stop()
    with pytest.raises(InvalidRequestError, match="store"):
        rts.export()


def test_refusals_say_what_is_wrong(coll: Any, server: Serve) -> None:
    with pytest.raises(InvalidRequestError, match="scheme"):
        coll.connect_rtstream(url="ftp://example.com/cam", name="ftp")
    with pytest.raises(InvalidRequestError, match="m3u8"):
        coll.connect_rtstream(url="http://127.0.0.1:9/page.html", name="not hls")
    # Private addresses follow the callback URL rules (this server allows 127.0.0.1/32 only).
    with pytest.raises(InvalidRequestError, match="refused"):
        coll.connect_rtstream(url="rtsp://10.1.2.3/cam", name="private")
    with pytest.raises(InvalidRequestError, match="not found"):
        coll.get_rtstream("rts-doesnotexist")
    with server.http() as http:
        r = http.patch("/rtstream/rts-doesnotexist/status", json={"action": "stop"})
        assert r.status_code == 404 and r.json()["success"] is False
        r = http.post("/rtstream", json={"url": "rtsp://127.0.0.1:9/x", "name": "x",
                                         "media_types": ["subtitles"]})
        assert r.status_code in (400, 422) and "media_types" in r.text


def test_source_loss_goes_to_error_then_back_by_itself(coll: Any, rtsp_source: RtspSource) -> None:
    rts = coll.connect_rtstream(url=rtsp_source.url, name="flaky", media_types=["video", "audio"],
                                store=True)
    before = wait_segments(rts.stream_url, 2)
    rtsp_source.stop()
    lost = time.time()
    wait_until(lambda: coll.get_rtstream(rts.id).status == "error", 30, "status error")
    print(f"source lost -> error after {time.time() - lost:.1f} s")
    rec = coll._connection.get(f"rtstream/{rts.id}")
    assert rec["error"], rec
    rtsp_source.start()
    back = time.time()
    wait_until(lambda: coll.get_rtstream(rts.id).status == "connected", 40, "status connected")
    print(f"source back -> connected after {time.time() - back:.1f} s")
    after = wait_segments(rts.stream_url, len(before) + 2, timeout=30)
    assert after[: len(before)] == before
    rts.stop()
    assert rts.export().duration > 2.0


def test_concurrent_stop_and_start_never_run_two_ingests(coll: Any, server: Serve,
                                                        rtsp_source: RtspSource) -> None:
    import concurrent.futures

    rts = coll.connect_rtstream(url=rtsp_source.url, name="racy", media_types=["video", "audio"],
                                store=True)
    wait_segments(rts.stream_url, 1)
    with server.http() as http, concurrent.futures.ThreadPoolExecutor(8) as pool:
        actions = ["stop", "start"] * 6
        codes = list(pool.map(lambda a: http.patch(f"/rtstream/{rts.id}/status",
                                                    json={"action": a}).status_code, actions))
    assert set(codes) <= {200, 409}, codes
    time.sleep(1.5)
    readers = rtsp_source.server.readers(rtsp_source.name)
    status = coll.get_rtstream(rts.id).status
    assert len(readers) == (1 if status == "connected" else 0), (status, readers)


def s3_env(s3_server: Any) -> dict[str, str]:
    return {"MEETBOT_STORAGE_BACKEND": "s3", "MEETBOT_S3_BUCKET": s3_server.bucket,
            "MEETBOT_S3_ENDPOINT": s3_server.endpoint_url, "MEETBOT_S3_REGION": s3_server.region,
            "MEETBOT_S3_ACCESS_KEY_ID": s3_server.access_key,
            "MEETBOT_S3_SECRET_ACCESS_KEY": s3_server.secret_key, "MEETBOT_S3_PREFIX": "tenant-a"}


@pytest.fixture(scope="module")
def s3_serve(s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A server keeping every stream's media in the bucket."""
    with serve(tmp_path_factory.mktemp("serve-s3"), **s3_env(s3_server)) as s:
        yield s


def any_source(kind: str, request: pytest.FixtureRequest) -> Source:
    return request.getfixturevalue({"rtsp": "rtsp_source", "hls": "hls_source",
                                    "rtmp": "rtmp_source"}[kind])


@pytest.mark.parametrize("kind", ["rtsp", "hls"])
def test_s3_storage_keeps_segments_and_exports_in_the_bucket(s3_server: Any, s3_serve: Serve, kind: str,
                                                             request: pytest.FixtureRequest) -> None:
    server = s3_serve
    source = any_source(kind, request)
    coll = videodb.connect(api_key=KEY, base_url=server.url).get_collection()
    rts = coll.connect_rtstream(url=source.url, name="bucketed", media_types=["video", "audio"],
                                store=True)
    wait_segments(rts.stream_url, 3)
    rts.stop()
    exported = rts.export()
    keys = s3_server.keys()
    assert any(k.startswith(f"tenant-a/streams/{rts.id}/hls/") and k.endswith(".ts") for k in keys), keys
    assert f"tenant-a/videos/{exported.video_id}/recording.mp4" in keys, keys
    info = ffprobe_url(f"{server.url}/media/{exported.video_id}/recording.mp4")
    assert codecs(info) == {"video": "h264", "audio": "aac"}
    # Nothing of the stream on the server's disk.
    assert not list(server.log.parent.joinpath("recordings").rglob("*.ts"))


@pytest.mark.parametrize(("kind", "backend"), [("rtmp", "local"), ("rtsp", "local"), ("hls", "local"),
                                               ("rtsp", "s3"), ("hls", "s3")])
def test_the_npm_sdk_drives_the_same_lifecycle(kind: str, backend: str,
                                               request: pytest.FixtureRequest) -> None:
    """videodb 0.2.0 (npm): connectRTStream, stop, export (plain object), start, getRTStream,
    listRTStreams, and the same refusals; every source kind, both storage backends."""
    from tests.support.npm_sdk import run_sdk

    server: Serve = request.getfixturevalue("server" if backend == "local" else "s3_serve")
    rtmp_source = any_source(kind, request)

    steps = [
        {"call": "getCollection", "args": ["default"], "as": "coll", "required": True},
        {"call": "connectRTStream", "on": "coll", "args": [rtmp_source.url, "npm cam", ["video", "audio"],
                                                            30, True], "as": "rt", "required": True},
        {"sleep": 7},
        {"call": "stop", "on": "rt"},
        {"call": "export", "on": "rt", "as": "exp"},
        {"call": "export", "on": "rt"},
        {"call": "start", "on": "rt"},
        {"call": "export", "on": "rt"},
        {"call": "getRTStream", "on": "coll", "args": [{"$ref": "rt.id"}]},
        {"call": "listRTStreams", "on": "coll", "args": [{"status": "connected"}]},
        {"call": "stop", "on": "rt"},
        {"call": "getRTStream", "on": "coll", "args": ["rts-missing"]},
    ]
    out = run_sdk(server.url, KEY, steps, timeout=120)
    by = dict(enumerate(out))
    rt = by[1]["result"]
    assert by[1]["ok"] and rt["id"].startswith("rts-") and rt["status"] == "connected", by[1]
    assert by[3]["ok"] and by[3]["object"]["status"] == "stopped", by[3]
    exp = by[4]["result"]
    assert by[4]["ok"] and exp["name"] == "npm cam - Recording" and exp["duration"] > 2, by[4]
    assert exp["videoId"].startswith("m-") and exp["playerUrl"].endswith(f"/watch?v={exp['videoId']}")
    assert by[5]["result"]["videoId"] == exp["videoId"]  # idempotent
    assert by[6]["ok"] and by[6]["object"]["status"] == "connected", by[6]
    assert not by[7]["ok"] and by[7]["error"]["status"] == 409, by[7]
    assert "stop it before exporting" in json.dumps(by[7]["error"])
    assert by[8]["ok"] and by[8]["result"]["status"] == "connected"
    assert rt["id"] in [r["id"] for r in by[9]["result"]]
    assert not by[11]["ok"] and by[11]["error"].get("status") == 404, by[11]
    info = ffprobe_url(f"{server.url}/media/{exp['videoId']}/recording.mp4")
    assert codecs(info) == {"video": "h264", "audio": "aac"}
