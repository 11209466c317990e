"""The live HLS source: a sliding window served over HTTP; lost (404), stalled, back with another size."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.support.media import AUDIO_ONLY, MPEG4_MP3, Media
from tests.support.procs import wait_until
from tests.support.sources import HlsSource

pytestmark = pytest.mark.media


def test_plays_h264_aac_from_a_sliding_window(hls_source: HlsSource) -> None:
    assert hls_source.url.startswith("http://127.0.0.1:") and hls_source.url.endswith("/live/index.m3u8")
    got = hls_source.probe()
    assert got["video"] == {"codec": "h264", "width": 640, "height": 360}
    assert got["audio"]["codec"] == "aac"
    resp = httpx.get(hls_source.url)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert "#EXT-X-ENDLIST" not in resp.text  # live
    last = hls_source.segments()[-1]
    wait_until(lambda: hls_source.segments()[-1] != last, 10, "a new segment")
    assert len(hls_source.segments()) <= 6
    segment = httpx.get(hls_source.server.url(hls_source.segments()[-1]))
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"


def test_lost_then_back_with_another_size(hls_source: HlsSource) -> None:
    before = hls_source.segments()
    hls_source.stop()
    assert httpx.get(hls_source.url).status_code == 404
    hls_source.start(size=(320, 240))
    assert hls_source.probe()["video"] == {"codec": "h264", "width": 320, "height": 240}
    text = httpx.get(hls_source.url).text
    assert "#EXT-X-DISCONTINUITY" in text
    # numbering goes on: the new segments come after the old ones
    assert hls_source.segments()[-1] > before[-1]


def test_a_stalled_source_keeps_its_last_playlist(hls_source: HlsSource) -> None:
    hls_source.stop(keep_serving=True)
    first = httpx.get(hls_source.url)
    assert first.status_code == 200 and "#EXT-X-ENDLIST" not in first.text
    hls_source.restart(video="mpeg4", gap=0.1)
    assert hls_source.probe()["video"]["codec"] == "mpeg4"


@pytest.mark.parametrize("media", [AUDIO_ONLY, MPEG4_MP3], ids=["audio-only", "mpeg4-mp3"])
def test_variants(make_hls_source: Callable[..., HlsSource], media: Media) -> None:
    got = make_hls_source(media.but(size=(320, 240))).probe()
    if media.video is None:
        assert got["video"] is None
    else:
        assert got["video"] == {"codec": "mpeg4", "width": 320, "height": 240}
    assert got["audio"]["codec"] == media.audio


def test_the_window_slides_and_old_segments_are_deleted(make_hls_source: Callable[..., HlsSource]) -> None:
    source = make_hls_source(window=3)
    first = source.segments()[0]
    wait_until(lambda: source.media_sequence() >= 2, 15, "the window to slide")
    assert len(source.segments()) == 3 and first not in source.segments()
    wait_until(lambda: httpx.get(source.server.url(first)).status_code == 404, 5, f"{first} to be deleted")
