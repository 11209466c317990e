"""The RTMP source: node-media-server takes ffmpeg's publish; clients play, come back, outlive a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.media import AUDIO_ONLY, FLV1_MP3
from tests.support.procs import ManagedProcess, wait_until
from tests.support.sources import RtmpServer, RtmpSource

pytestmark = pytest.mark.media


def test_plays_h264_aac_and_a_client_can_come_back(rtmp_source: RtmpSource, rtmp_server: RtmpServer) -> None:
    assert rtmp_source.url.startswith(f"rtmp://127.0.0.1:{rtmp_server.port}/live/")
    for _ in range(2):  # a second connection is served as well as the first
        got = rtmp_source.probe()
        assert got["video"] == {"codec": "h264", "width": 640, "height": 360}
        assert got["audio"]["codec"] == "aac"
    plays = [e for e in rtmp_server.events if e["event"] == "play" and e["path"] == rtmp_source.path]
    assert len(plays) == 2


def test_restart_with_another_size(rtmp_source: RtmpSource) -> None:
    rtmp_source.restart(size=(320, 240))
    assert rtmp_source.probe()["video"] == {"codec": "h264", "width": 320, "height": 240}


def test_a_lost_source_ends_its_players(rtmp_source: RtmpSource, rtmp_server: RtmpServer,
                                        tmp_path: Path) -> None:
    player = ManagedProcess(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
                             "-i", rtmp_source.url, "-c", "copy", "-f", "null", "-"], name="rtmp-player",
                            log_path=tmp_path / "player.log").start()
    try:
        wait_until(lambda: rtmp_server.players(rtmp_source.path), 10, "the player to connect", alive=player)
        rtmp_source.stop()
        assert not rtmp_server.is_published(rtmp_source.path)
        # UnpublishNotify + stream EOF: ffmpeg's RTMP client ends by itself
        wait_until(lambda: not player.running, 10, "the player to end")
    finally:
        player.stop()


@pytest.mark.parametrize("media", [AUDIO_ONLY, FLV1_MP3], ids=["audio-only", "flv1-mp3"])
def test_variants(make_rtmp_source: Callable[..., RtmpSource], media: object) -> None:
    source = make_rtmp_source(media)
    got = source.probe()
    if source.media.video is None:
        assert got["video"] is None
    else:
        assert got["video"] == {"codec": "flv1", "width": 640, "height": 360}
    assert got["audio"]["codec"] == source.media.audio
