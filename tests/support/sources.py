"""Live media sources for the RTStream tests: RTSP, RTMP and HLS, each with start / stop / restart.

Servers (one per test session is enough; the fixtures share them):

- ``RtspServer``: the relay in ``rtsp_relay.py`` as a subprocess; sources publish to it with
  ``ffmpeg -f rtsp`` (TCP or UDP), clients play ``rtsp://127.0.0.1:PORT/NAME`` over TCP or UDP.
- ``RtmpServer``: node-media-server 2.7.4 (npm, pinned in ``rtmp_node/``) under node. ffmpeg's own
  ``-listen 1`` serves a single client connection and then exits, so an ingest could not reconnect;
  nginx's RTMP module would bring nginx in (which Debian's package also starts as a system
  service). node-media-server takes any number of players and reconnections, keeps the last GOP so
  a new player starts at a keyframe, and reports publish/play events. When the publisher leaves,
  its players get NetStream.Play.UnpublishNotify and stream EOF (an ffmpeg player ends there); a
  player that connects while nobody publishes waits, idle, until someone does (so an ingest needs
  its own read timeout, as against a real server).
- ``HlsServer``: a threaded HTTP server in this process serving one source's directory, where ffmpeg
  writes a live sliding-window playlist. Threads, not the event loop: a test that blocks on a
  subprocess (ffprobe) must not starve it.

Sources (``RtspSource``, ``RtmpSource``, ``HlsSource``) each run one ffmpeg publisher of a
``Media`` (``media.py``) and share one control surface:

- ``start(media=None, **changes)`` publishes and returns once a client can play the URL;
- ``stop(graceful=False)`` is the source being lost (ffmpeg killed; ``graceful`` lets it sign off),
  and returns once the server has noticed;
- ``restart(media=None, gap=0.5, **changes)`` is stop, a gap, start, e.g. ``restart(size=(320, 240))``
  or ``restart(video="mpeg4", audio="mp3")`` for a source that comes back different;
- ``freeze()``: the source stalls (publisher paused, connections open, nothing sent) until a
  ``stop()`` or ``restart()``;
- ``astart`` / ``astop`` / ``arestart``: the same for async tests, without blocking the event loop;
- ``close()``: stop and release everything (the fixtures call it; idempotent).

``ffprobe_url`` / ``ffprobe_url_async`` and ``summary`` read what a URL carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from core.aio import bounded
from tests.support import rtsp_relay
from tests.support.media import H264_AAC, Media, Protocol, check_supported, publisher_command
from tests.support.procs import ManagedProcess, wait_until, wait_until_async

ROOT = Path(__file__).resolve().parents[2]
RTMP_DIR = Path(__file__).resolve().parent / "rtmp_node"

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


# -- probing --------------------------------------------------------------------------------------------


def _probe_command(url: str, rtsp_transport: str | None, extra: list[str] | None) -> list[str]:
    # 1.5 s of analysis (default 5 s): a keyframe comes every second, and the probes stay quick
    cmd = ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
           "-analyzeduration", "1500000"]
    if rtsp_transport is not None:
        cmd += ["-rtsp_transport", rtsp_transport]
    return [*cmd, *(extra or []), url]


def ffprobe_url(url: str, *, rtsp_transport: str | None = None, extra: list[str] | None = None,
                timeout: float = 20.0) -> dict[str, Any]:
    """ffprobe a live URL (blocking); ``rtsp_transport`` is ``tcp`` or ``udp`` for RTSP, ``extra``
    more input options (e.g. ``["-live_start_index", "-1"]`` for HLS)."""
    proc = subprocess.run(_probe_command(url, rtsp_transport, extra), capture_output=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffprobe {url} failed ({proc.returncode}): {proc.stderr.decode()[-1500:]}")
    return dict(json.loads(proc.stdout))


async def ffprobe_url_async(url: str, *, rtsp_transport: str | None = None,
                            extra: list[str] | None = None, timeout: float = 20.0) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *_probe_command(url, rtsp_transport, extra), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await bounded(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"ffprobe {url} failed ({proc.returncode}): {stderr.decode()[-1500:]}")
    return dict(json.loads(stdout))


def summary(info: dict[str, Any]) -> dict[str, Any]:
    """What a probe found, by kind: ``video`` (codec, width, height) and ``audio`` (codec,
    sample_rate, channels), each None when absent."""
    out: dict[str, Any] = {"video": None, "audio": None}
    for s in info.get("streams", []):
        if s.get("codec_type") == "video" and out["video"] is None:
            out["video"] = {"codec": s.get("codec_name"), "width": s.get("width"), "height": s.get("height")}
        elif s.get("codec_type") == "audio" and out["audio"] is None:
            out["audio"] = {"codec": s.get("codec_name"), "sample_rate": int(s.get("sample_rate", 0) or 0),
                            "channels": s.get("channels")}
    return out


# -- servers --------------------------------------------------------------------------------------------


class RtspServer:
    """The RTSP relay as a subprocess; ``events`` lists publish / unpublish / play / reader_closed.

    ``auth="user:pass"`` requires Basic authentication (``url()`` then carries the credentials);
    ``reader_transports=("udp",)`` or ``("tcp",)`` plays a camera that offers only one (the other
    is answered 461 Unsupported Transport)."""

    def __init__(self, workdir: Path, *, auth: str | None = None,
                 reader_transports: tuple[str, ...] = ("tcp", "udp")) -> None:
        self.workdir = workdir
        self.auth = auth
        args = [sys.executable, "-m", "tests.support.rtsp_relay", "--port", "0",
                "--reader-transports", ",".join(reader_transports)]
        if auth:
            args += ["--auth", auth]
        self.proc = ManagedProcess(args, name="rtsp-relay", log_path=workdir / "rtsp-relay.log",
                                   cwd=ROOT, events=True)
        self.port = 0

    def start(self) -> RtspServer:
        self.proc.start()
        event = self.proc.wait_event(lambda e: e["event"] == "listening", 15, "the RTSP relay to listen")
        self.port = int(event["port"])
        return self

    def close(self) -> None:
        self.proc.stop()

    def url(self, path: str, *, credentials: bool = True) -> str:
        auth = f"{self.auth}@" if self.auth and credentials else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"

    def is_published(self, path: str) -> bool:
        return rtsp_relay.describe(self.url(path), timeout=2.0)[0] == 200

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.proc.events)

    def readers(self, path: str) -> list[dict[str, Any]]:
        """The ``play`` events of readers of ``path`` still connected."""
        events = self.events
        closed = {e["session"] for e in events if e["event"] in ("reader_closed", "reader_dropped")}
        return [e for e in events if e["event"] == "play" and e["path"] == path
                and e["session"] not in closed]


class RtmpServer:
    """node-media-server under node; ``events`` lists publish / unpublish / play / play_done."""

    def __init__(self, workdir: Path) -> None:
        node = shutil.which("node")
        if node is None or not (RTMP_DIR / "node_modules" / "node-media-server").is_dir():
            raise RuntimeError(f"node or node-media-server missing in {RTMP_DIR} (run scripts/setup.sh)")
        self.proc = ManagedProcess([node, str(RTMP_DIR / "server.js"), "--port", "0"], name="rtmp-server",
                                   log_path=workdir / "rtmp-server.log", cwd=RTMP_DIR, events=True)
        self.port = 0

    def start(self) -> RtmpServer:
        self.proc.start()
        event = self.proc.wait_event(lambda e: e["event"] == "listening", 15, "the RTMP server to listen")
        self.port = int(event["port"])
        return self

    def close(self) -> None:
        self.proc.stop()

    def url(self, name: str, app: str = "live") -> str:
        return f"rtmp://127.0.0.1:{self.port}/{app}/{name}"

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.proc.events)

    def is_published(self, path: str) -> bool:
        """``path`` as the server names it: ``/live/NAME``."""
        state = False
        for e in self.events:
            if e.get("path") == path and e["event"] in ("publish", "unpublish"):
                state = e["event"] == "publish"
        return state

    def players(self, path: str) -> list[dict[str, Any]]:
        events = self.events
        done = {e["id"] for e in events if e["event"] in ("play_done", "disconnect")}
        return [e for e in events if e["event"] == "play" and e["path"] == path and e["id"] not in done]


class _HlsHandler(http.server.BaseHTTPRequestHandler):
    server: _HlsHttpServer
    protocol_version = "HTTP/1.1"
    TYPES: ClassVar[dict[str, str]] = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                                       ".m4s": "video/iso.segment", ".mp4": "video/mp4",
                                       ".aac": "audio/aac"}

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        owner = self.server.owner
        path = unquote(urlsplit(self.path).path)
        owner.requests.append(path)
        data = None
        if owner.serving and path.startswith(owner.prefix + "/"):
            name = path[len(owner.prefix) + 1:]
            file = (owner.directory / name).resolve()
            if file.parent == owner.directory.resolve() and file.is_file() and not name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    data = file.read_bytes()
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", self.TYPES.get(Path(path).suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _HlsHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: HlsServer


class HlsServer:
    """Serves ``directory`` under ``/live/`` on 127.0.0.1; ``serving=False`` answers 404 to everything."""

    def __init__(self, directory: Path, prefix: str = "/live") -> None:
        self.directory = directory
        self.prefix = prefix.rstrip("/")
        self.serving = False
        self.requests: list[str] = []
        self._httpd: _HlsHttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HlsServer:
        httpd = _HlsHttpServer(("127.0.0.1", 0), _HlsHandler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="hls-http", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    def url(self, name: str = "index.m3u8") -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}/{name}"

    def close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


# -- sources --------------------------------------------------------------------------------------------


class Source:
    """One ffmpeg publisher of a ``Media`` to a URL clients can play; see the module docstring."""

    protocol: ClassVar[Protocol]
    # A keyframe a second: a player (or an ingest) joining or coming back waits at most that long,
    # and 1 s HLS segments are possible.
    default_gop_seconds: ClassVar[float] = 1.0

    def __init__(self, media: Media, name: str | None, workdir: Path) -> None:
        check_supported(media, self.protocol)
        self.media = media
        self.name = name or f"{self.protocol}-{secrets.token_hex(3)}"
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.publisher: ManagedProcess | None = None
        self.starts = 0  # how many times it was started
        self.history: list[tuple[str, Media, float]] = []  # ("start"|"stop"|"freeze", media, time.time())

    # what subclasses define
    @property
    def url(self) -> str:
        raise NotImplementedError

    def _output(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _gone(self) -> bool:
        return True

    def _before_launch(self) -> None:
        return None

    def _after_halt(self, graceful: bool) -> None:
        return None

    # common machinery
    @property
    def publishing(self) -> bool:
        return self.publisher is not None and self.publisher.running

    def command(self, media: Media | None = None) -> list[str]:
        media = media or self.media
        gop = media.gop or max(1, round(media.fps * self.default_gop_seconds))
        return publisher_command(media, self._output(), gop=gop)

    def _launch(self, media: Media | None, changes: dict[str, Any]) -> None:
        if self.publishing:
            raise RuntimeError(f"{self.name} is already publishing; stop() or restart() it")
        new = (media or self.media).but(**changes) if changes else (media or self.media)
        check_supported(new, self.protocol)
        self.media = new
        self._before_launch()
        self.starts += 1
        self.publisher = ManagedProcess(self.command(), name=f"{self.name}-publisher",
                                        log_path=self.workdir / f"publisher-{self.starts}.log")
        self.publisher.start()
        self.history.append(("start", new, time.time()))

    def _halt(self, graceful: bool) -> None:
        publisher = self.publisher
        if publisher is not None:
            was_running = publisher.running
            if graceful:
                publisher.stop(timeout=5)
            else:
                publisher.kill()
            if was_running:
                self.history.append(("stop", self.media, time.time()))
        self._after_halt(graceful)

    def start(self, media: Media | None = None, **changes: Any) -> Source:
        self._launch(media, changes)
        wait_until(self._ready, START_TIMEOUT, f"{self.url} to be playable", alive=self.publisher)
        return self

    def stop(self, *, graceful: bool = False) -> None:
        self._halt(graceful)
        wait_until(self._gone, STOP_TIMEOUT, f"the server to notice {self.url} is gone")

    def restart(self, media: Media | None = None, *, gap: float = 0.5, **changes: Any) -> Source:
        self.stop()
        time.sleep(gap)
        return self.start(media, **changes)

    async def astart(self, media: Media | None = None, **changes: Any) -> Source:
        self._launch(media, changes)
        await wait_until_async(self._ready, START_TIMEOUT, f"{self.url} to be playable", alive=self.publisher)
        return self

    async def astop(self, *, graceful: bool = False) -> None:
        await asyncio.to_thread(self._halt, graceful)
        await wait_until_async(self._gone, STOP_TIMEOUT, f"the server to notice {self.url} is gone")

    async def arestart(self, media: Media | None = None, *, gap: float = 0.5, **changes: Any) -> Source:
        await self.astop()
        await asyncio.sleep(gap)
        return await self.astart(media, **changes)

    def freeze(self) -> None:
        """The source stalls: its publisher is paused (SIGSTOP), connections stay open, nothing is
        sent. ``stop()`` or ``restart()`` end it (a paused ffmpeg resumed would catch up in a burst)."""
        if self.publisher is not None:
            self.publisher.pause()
            self.history.append(("freeze", self.media, time.time()))

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.kill()

    def probe(self, **kw: Any) -> dict[str, Any]:
        return summary(ffprobe_url(self.url, **kw))

    async def aprobe(self, **kw: Any) -> dict[str, Any]:
        return summary(await ffprobe_url_async(self.url, **kw))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} {self.media}>"


class RtspSource(Source):
    """Publishes to the RTSP relay over ``transport`` (tcp/udp); clients play ``url`` over either."""

    protocol = "rtsp"

    def __init__(self, server: RtspServer, media: Media = H264_AAC, *, name: str | None = None,
                 transport: str = "tcp", workdir: Path) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"RTSP publish transport is tcp or udp, not {transport}")
        self.server = server
        self.transport = transport
        super().__init__(media, name, workdir)

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def _output(self) -> list[str]:
        # SPS/PPS (or VOL) in-band at each keyframe as well, as cameras send them: a reader that
        # joins late or a source that changes resolution mid-stream stays decodable.
        bsf = ["-bsf:v", "dump_extra=freq=keyframe"] if self.media.video else []
        return [*bsf, "-f", "rtsp", "-rtsp_transport", self.transport, self.url]

    def _ready(self) -> bool:
        return self.server.is_published(self.name)

    def _gone(self) -> bool:
        return not self.server.is_published(self.name)


class RtmpSource(Source):
    """Publishes FLV to node-media-server at ``rtmp://127.0.0.1:PORT/live/NAME``."""

    protocol = "rtmp"

    def __init__(self, server: RtmpServer, media: Media = H264_AAC, *, name: str | None = None,
                 workdir: Path) -> None:
        self.server = server
        super().__init__(media, name, workdir)

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    @property
    def path(self) -> str:
        return f"/live/{self.name}"

    def _output(self) -> list[str]:
        return ["-f", "flv", self.url]

    def _ready(self) -> bool:
        return self.server.is_published(self.path)

    def _gone(self) -> bool:
        return not self.server.is_published(self.path)


class HlsSource(Source):
    """ffmpeg writing a live sliding-window playlist (1 s segments, 6 in the window) served over HTTP.

    ``stop()`` makes the playlist and segments answer 404 (the source is gone);
    ``stop(keep_serving=True)`` leaves the last playlist served as it was, never ending (a stalled
    source). A restart appends to the same playlist (``append_list``): media sequence numbers go
    on and the new segments follow an ``#EXT-X-DISCONTINUITY``, as a live encoder's restart does.
    """

    protocol = "hls"
    MIN_SEGMENTS = 2

    def __init__(self, media: Media = H264_AAC, *, name: str | None = None, workdir: Path,
                 segment_seconds: float = 1.0, window: int = 6) -> None:
        super().__init__(media, name, workdir)
        self.directory = workdir / "live"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_seconds = segment_seconds
        self.window = window
        self.server = HlsServer(self.directory).start()
        self._launched_at = 0.0
        self._keep_serving = False

    @property
    def url(self) -> str:
        return self.server.url("index.m3u8")

    @property
    def playlist(self) -> Path:
        return self.directory / "index.m3u8"

    def _output(self) -> list[str]:
        # append_list only when there is a list: on a first start it would open with a discontinuity
        flags = "delete_segments+omit_endlist+temp_file" + ("+append_list" if self.playlist.exists() else "")
        # decoder configuration (SPS/PPS, MPEG-4 VOL) in-band at each keyframe: a segment decodes alone
        bsf = ["-bsf:v", "dump_extra=freq=keyframe"] if self.media.video else []
        return [*bsf, "-f", "hls", "-hls_time", str(self.segment_seconds), "-hls_list_size", str(self.window),
                "-hls_flags", flags,
                "-hls_segment_filename", str(self.directory / "seg_%05d.ts"), str(self.playlist)]

    def segments(self) -> list[str]:
        try:
            text = self.playlist.read_text()
        except OSError:
            return []
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]

    def _fresh_segments(self) -> int:
        count = 0
        for name in self.segments():
            with contextlib.suppress(OSError):
                if (self.directory / name).stat().st_mtime >= self._launched_at:
                    count += 1
        return count

    def _before_launch(self) -> None:
        self._launched_at = time.time() - 0.05
        if not self._keep_serving:
            self.server.serving = False

    def _ready(self) -> bool:
        if self._fresh_segments() >= self.MIN_SEGMENTS:
            self.server.serving = True
            self._keep_serving = False
            return True
        return False

    def _after_halt(self, graceful: bool) -> None:
        self.server.serving = self._keep_serving

    def stop(self, *, graceful: bool = False, keep_serving: bool = False) -> None:
        self._keep_serving = keep_serving
        super().stop(graceful=graceful)

    async def astop(self, *, graceful: bool = False, keep_serving: bool = False) -> None:
        self._keep_serving = keep_serving
        await super().astop(graceful=graceful)

    def close(self) -> None:
        super().close()
        self.server.close()

    def probe(self, **kw: Any) -> dict[str, Any]:
        """What the newest segment carries (a plain probe of a live playlist starts 3 segments back)."""
        return summary(ffprobe_url(self.url, extra=["-live_start_index", "-1"], **kw))

    async def aprobe(self, **kw: Any) -> dict[str, Any]:
        return summary(await ffprobe_url_async(self.url, extra=["-live_start_index", "-1"], **kw))

    def media_sequence(self) -> int:
        for line in self.playlist.read_text().splitlines():
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                return int(line.split(":", 1)[1])
        return 0
