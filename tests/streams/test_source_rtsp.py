"""The RTSP source: ffmpeg publishes to the relay, clients play it over TCP and UDP; stop, restart,
restart with another size or codec, the audio-only and not-H.264/AAC variants."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import rtsp_relay
from tests.support.media import AUDIO_ONLY, MPEG4_MP3, MPEG4_OPUS, Media
from tests.support.procs import ManagedProcess, wait_until
from tests.support.sources import RtspServer, RtspSource, ffprobe_url

pytestmark = pytest.mark.media


@pytest.fixture
def player(tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    """``player(url, transport)``: an ffmpeg client reading the stream to nowhere, until it ends."""
    started: list[ManagedProcess] = []

    def play(url: str, transport: str, *options: str) -> ManagedProcess:
        proc = ManagedProcess(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
                               "-rtsp_transport", transport, *options, "-i", url,
                               "-c", "copy", "-f", "null", "-"],
                              name=f"player-{transport}", log_path=tmp_path / f"player-{len(started)}.log")
        started.append(proc.start())
        return proc

    yield play
    for proc in started:
        proc.stop()


def test_plays_h264_aac_over_tcp_and_udp(rtsp_source: RtspSource, rtsp_server: RtspServer) -> None:
    for transport in ("tcp", "udp"):
        got = rtsp_source.probe(rtsp_transport=transport)
        assert got["video"] == {"codec": "h264", "width": 640, "height": 360}, transport
        assert got["audio"]["codec"] == "aac", transport
    plays = [e for e in rtsp_server.events if e["event"] == "play" and e["path"] == rtsp_source.name]
    assert [e["transport"] for e in plays] == ["tcp", "udp"]
    assert all(e["tracks"] == [0, 1] for e in plays)


def test_a_udp_publisher_is_played_over_tcp(make_rtsp_source: Callable[..., RtspSource]) -> None:
    source = make_rtsp_source(transport="udp")
    got = source.probe(rtsp_transport="tcp")
    assert got["video"]["codec"] == "h264" and got["audio"]["codec"] == "aac"


def test_restart_with_another_size_and_then_another_codec(rtsp_source: RtspSource) -> None:
    assert rtsp_source.probe(rtsp_transport="tcp")["video"]["width"] == 640
    rtsp_source.restart(size=(320, 240))
    assert rtsp_source.probe(rtsp_transport="udp")["video"] == {"codec": "h264", "width": 320, "height": 240}
    rtsp_source.restart(video="hevc")
    got = rtsp_source.probe(rtsp_transport="tcp")
    assert got["video"] == {"codec": "hevc", "width": 320, "height": 240}
    assert got["audio"]["codec"] == "aac"
    assert [m.video for kind, m, _ in rtsp_source.history if kind == "start"] == ["h264", "h264", "hevc"]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_a_lost_source_ends_its_players_and_is_not_found(
        rtsp_source: RtspSource, rtsp_server: RtspServer, player: Callable[..., ManagedProcess],
        transport: str) -> None:
    reader = player(rtsp_source.url, transport)
    wait_until(lambda: rtsp_server.readers(rtsp_source.name), 10, "the player to connect", alive=reader)
    rtsp_source.stop()
    # the relay sent an RTCP BYE and hung up: ffmpeg ends by itself
    wait_until(lambda: not reader.running, 10, f"the {transport} player to end")
    assert rtsp_relay.describe(rtsp_source.url)[0] == 404
    with pytest.raises(RuntimeError, match="404"):
        ffprobe_url(rtsp_source.url, rtsp_transport="tcp", timeout=10)
    rtsp_source.start()
    assert rtsp_source.probe(rtsp_transport=transport)["video"]["codec"] == "h264"


@pytest.mark.parametrize("media", [AUDIO_ONLY, MPEG4_MP3, MPEG4_OPUS], ids=["audio-only", "mpeg4-mp3",
                                                                         "mpeg4-opus"])
def test_variants(make_rtsp_source: Callable[..., RtspSource], media: Media) -> None:
    got = make_rtsp_source(media.but(size=(320, 240))).probe(rtsp_transport="udp")
    if media.video is None:
        assert got["video"] is None
    else:
        assert got["video"] == {"codec": media.video, "width": 320, "height": 240}
    assert got["audio"]["codec"] == media.audio


async def test_async_controls_do_not_block_the_loop(rtsp_source: RtspSource) -> None:
    await rtsp_source.astop()
    assert not rtsp_source.publishing
    t0 = time.monotonic()
    await rtsp_source.arestart(size=(320, 240), gap=0.1)
    assert time.monotonic() - t0 < 15
    assert (await rtsp_source.aprobe(rtsp_transport="tcp"))["video"]["height"] == 240


def test_basic_authentication(tmp_path: Path) -> None:
    server = RtspServer(tmp_path / "auth", auth="cam:secret").start()
    try:
        source = RtspSource(server, AUDIO_ONLY, name="locked", workdir=tmp_path / "src")
        try:
            source.start()
            assert rtsp_relay.describe(server.url("locked", credentials=False))[0] == 401
            assert source.probe(rtsp_transport="tcp")["audio"]["codec"] == "aac"
        finally:
            source.close()
    finally:
        server.close()


def test_a_frozen_source_stalls_its_players_until_it_restarts(
        rtsp_source: RtspSource, rtsp_server: RtspServer, player: Callable[..., ManagedProcess]) -> None:
    reader = player(rtsp_source.url, "tcp", "-timeout", "2000000")  # 2 s socket timeout
    wait_until(lambda: rtsp_server.readers(rtsp_source.name), 10, "the player to connect", alive=reader)
    rtsp_source.freeze()
    assert rtsp_server.is_published(rtsp_source.name)  # still there, sending nothing
    wait_until(lambda: not reader.running, 10, "the player to time out")
    rtsp_source.restart(gap=0)
    assert rtsp_source.probe(rtsp_transport="tcp")["video"]["codec"] == "h264"


def test_a_camera_that_offers_players_only_udp(tmp_path: Path) -> None:
    server = RtspServer(tmp_path / "udp-only", reader_transports=("udp",)).start()
    source = RtspSource(server, AUDIO_ONLY, name="udp-only", workdir=tmp_path / "src")
    try:
        source.start()  # publishing over TCP is still fine
        with pytest.raises(RuntimeError, match="461"):
            ffprobe_url(source.url, rtsp_transport="tcp", timeout=10)
        assert source.probe(rtsp_transport="udp")["audio"]["codec"] == "aac"
    finally:
        source.close()
        server.close()
