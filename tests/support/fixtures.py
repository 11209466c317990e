"""pytest fixtures for the RTStream tests. A conftest brings them in with
``from tests.support.fixtures import *`` (``tests/streams/conftest.py`` does).

Session servers (started once, on loopback ports of their own choosing, stopped at the end):

- ``rtsp_server`` -> ``RtspServer``: ``url(path)``, ``is_published(path)``, ``readers(path)``, ``events``.
- ``rtmp_server`` -> ``RtmpServer``: ``url(name)``, ``is_published("/live/NAME")``, ``players(path)``.
- ``s3_server`` -> ``MotoS3``: ``endpoint_url``, ``bucket``, ``region``, ``access_key``, ``secret_key``,
  ``env()``, ``obstore()``, ``client()`` (boto3), ``keys()``, ``get()``, ``put()``, ``create_bucket()``.

Sources (per test, already publishing H.264 + AAC 640x360 at 15 fps; killed at the test's end):

- ``rtsp_source`` -> ``RtspSource`` (published over TCP; ``url`` plays over TCP or UDP),
- ``rtmp_source`` -> ``RtmpSource``, ``hls_source`` -> ``HlsSource``;
- ``make_rtsp_source(media=H264_AAC, *, name=None, transport="tcp", start=True)``,
  ``make_rtmp_source(media=H264_AAC, *, name=None, start=True)`` and
  ``make_hls_source(media=H264_AAC, *, name=None, start=True, segment_seconds=1.0, window=6)``
  make more, e.g. ``make_rtsp_source(AUDIO_ONLY)`` or ``make_hls_source(MPEG4_MP3)``.

Each source: ``url``, ``media``, ``start/stop/restart/freeze`` and ``astart/astop/arestart``
(see ``sources.py``), ``probe()``/``aprobe()``, ``history``. An RTSP server with Basic auth or
offering players a single transport: ``RtspServer(dir, auth=..., reader_transports=("udp",))``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.media import H264_AAC, Media
from tests.support.s3 import MotoS3
from tests.support.sources import HlsSource, RtmpServer, RtmpSource, RtspServer, RtspSource, Source

__all__ = [
    "hls_source",
    "make_hls_source",
    "make_rtmp_source",
    "make_rtsp_source",
    "rtmp_server",
    "rtmp_source",
    "rtsp_server",
    "rtsp_source",
    "s3_server",
    "streams_workdir",
]


@pytest.fixture(scope="session")
def streams_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs of the servers and publishers (shown in failures), HLS output."""
    return tmp_path_factory.mktemp("streams")


@pytest.fixture(scope="session")
def rtsp_server(streams_workdir: Path) -> Iterator[RtspServer]:
    server = RtspServer(streams_workdir / "rtsp")
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="session")
def rtmp_server(streams_workdir: Path) -> Iterator[RtmpServer]:
    server = RtmpServer(streams_workdir / "rtmp")
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="session")
def s3_server(streams_workdir: Path) -> Iterator[MotoS3]:
    server = MotoS3(streams_workdir / "s3")
    try:
        yield server.start()
    finally:
        server.close()


def _factory(build: Callable[..., Source]) -> Iterator[Callable[..., Any]]:
    made: list[Source] = []

    def make(media: Media = H264_AAC, *, start: bool = True, **kw: Any) -> Any:
        source = build(media, **kw)
        made.append(source)
        if start:
            source.start()
        return source

    try:
        yield make
    finally:
        for source in made:
            source.close()
        left = [s.name for s in made if s.publishing]
        assert not left, f"publishers still running: {left}"


@pytest.fixture
def make_rtsp_source(rtsp_server: RtspServer, tmp_path: Path) -> Iterator[Callable[..., RtspSource]]:
    def build(media: Media, *, name: str | None = None, transport: str = "tcp") -> RtspSource:
        name = name or f"cam-{secrets.token_hex(3)}"
        return RtspSource(rtsp_server, media, name=name, transport=transport, workdir=tmp_path / name)

    yield from _factory(build)


@pytest.fixture
def make_rtmp_source(rtmp_server: RtmpServer, tmp_path: Path) -> Iterator[Callable[..., RtmpSource]]:
    def build(media: Media, *, name: str | None = None) -> RtmpSource:
        name = name or f"stream-{secrets.token_hex(3)}"
        return RtmpSource(rtmp_server, media, name=name, workdir=tmp_path / name)

    yield from _factory(build)


@pytest.fixture
def make_hls_source(tmp_path: Path) -> Iterator[Callable[..., HlsSource]]:
    def build(media: Media, *, name: str | None = None, **kw: Any) -> HlsSource:
        name = name or f"hls-{secrets.token_hex(3)}"
        return HlsSource(media, name=name, workdir=tmp_path / name, **kw)

    yield from _factory(build)


@pytest.fixture
def rtsp_source(make_rtsp_source: Callable[..., RtspSource]) -> RtspSource:
    return make_rtsp_source()


@pytest.fixture
def rtmp_source(make_rtmp_source: Callable[..., RtmpSource]) -> RtmpSource:
    return make_rtmp_source()


@pytest.fixture
def hls_source(make_hls_source: Callable[..., HlsSource]) -> HlsSource:
    return make_hls_source()
