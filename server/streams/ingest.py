"""One ingest per connected stream: ffmpeg reads the source and cuts HLS segments, each stored the
moment it closes; the stream's own playlist lists them, spans and reconnections marked.

- Copy when the source is H.264 / AAC (no re-encoding: a few percent of a core), transcode what
  is not (probed first, and again after every reconnection, so a source that changes codec or
  resolution mid-stream keeps ingesting after a discontinuity).
- Source loss: ffmpeg ends; it is started again with a growing delay (1, 2, 4, 8, 16 s). A stream
  that has not ingested for ``stream_loss_grace`` seconds (``stream_connect_timeout`` before its
  first segment) is reported ``error`` with the reason ffmpeg gave; the retries go on, and the
  first new segment brings it back to ``connected``.
- Stop: ``q`` on ffmpeg's stdin ends it within a second, the last segment closed and stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.leases import leased_tempdir
from core.aio import bounded, die_with_parent
from core.errors import RecordingError
from core.settings import Settings
from media.ffmpeg import FFmpeg, ffprobe, run
from media.hls import Segment, segment_durations
from status.streams import StreamRecord
from storage import Storage

log = logging.getLogger("meetbot.ingest")


OnSegment = Callable[[Segment], Awaitable[None]]
OnStatus = Callable[[str, str | None], Awaitable[None]]


def segment_name(span: int, run: int, n: int) -> str:
    """Segments are stored as ``hls/<name>``; the name carries its span and run (``parse_playlist``
    reads them back after a restart)."""
    return f"s{span:03d}r{run:03d}_{n:06d}.ts"


def input_options(url: str, attempt: int, timeout_s: float) -> dict[str, str | int | bool]:
    """Per scheme: RTSP over TCP first, UDP on every other attempt (some cameras offer only one);
    a socket timeout everywhere, so a dead source ends ffmpeg instead of hanging it."""
    us = int(timeout_s * 1_000_000)
    # One second of analysis finds the codecs (all the probe needs) instead of five: the first
    # segment of a stream comes 1.7 s sooner.
    quick: dict[str, str | int | bool] = {"analyzeduration": 1_000_000}
    if url.startswith(("rtsp://", "rtsps://")):
        return {**quick, "rtsp_transport": "tcp" if attempt % 2 == 0 else "udp", "timeout": us}
    if url.startswith(("rtmp://", "rtmps://")):
        return {**quick, "rw_timeout": us}
    return {**quick, "rw_timeout": us, "live_start_index": -3}  # HLS: start near the live edge


class Ingest:
    def __init__(self, record: StreamRecord, storage: Storage, settings: Settings, *, span: int,
                 first_run: int, first_n: int, on_segment: OnSegment, on_status: OnStatus) -> None:
        self.record, self.storage, self.settings = record, storage, settings
        self.span, self.run_index, self.n = span, first_run, first_n
        self._on_segment, self._on_status = on_segment, on_status
        self._proc: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tail: deque[str] = deque(maxlen=8)
        self.last_segment_at: float | None = None
        self.segments = 0

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"ingest-{self.record.id}")

    async def stop(self, timeout: float = 1.0) -> None:
        """End ingestion: ffmpeg finishes its segment and exits (``q``), then the last segment is
        stored. Interrupted, then killed, if it does not within ``timeout``."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, AttributeError):
                assert proc.stdin is not None
                proc.stdin.write(b"q")
                await proc.stdin.drain()
            try:
                await bounded(asyncio.shield(proc.wait()), timeout)
            except TimeoutError:
                proc.send_signal(signal.SIGINT)
                try:
                    await bounded(asyncio.shield(proc.wait()), 2)
                except TimeoutError:
                    proc.kill()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def kill(self) -> None:
        """Hard stop (server shutting down at once): whatever ffmpeg had closed is kept."""
        self._stopping.set()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- the loop -----------------------------------------------------------------------------
    async def _loop(self) -> None:
        attempt = 0
        began = time.time()
        error_reported = False
        while not self._stopping.is_set():
            got = 0
            with leased_tempdir(self.settings.runtime_dir / "leases", f"ingest-{self.record.id}-") as work:
                try:
                    got = await self._one_run(work, attempt)
                except RecordingError as exc:
                    self._tail.append(exc.message)
            if self._stopping.is_set():
                break
            if got:
                attempt = 0
                error_reported = False
                self.run_index += 1
            else:
                attempt += 1
            # Lost, or never reached: report error once the grace is over; keep trying.
            since = self.last_segment_at or began
            grace = self.settings.stream_loss_grace if self.last_segment_at else \
                self.settings.stream_connect_timeout
            if not error_reported and time.time() - since >= grace:
                reason = self.reason()
                log.warning("stream source unavailable", extra={"rtstream": self.record.id, "reason": reason})
                await self._on_status("error", reason)
                error_reported = True
            delay = min(30.0, 2 ** min(attempt, 5) / 2) if attempt else 0.5
            with contextlib.suppress(TimeoutError):
                await bounded(self._stopping.wait(), delay)

    def reason(self) -> str:
        lines = [ln for ln in self._tail if ln.strip()]
        return lines[-1][-300:] if lines else "the source sent no media"

    async def _one_run(self, work: Path, attempt: int) -> int:
        """Probe, run ffmpeg until it ends; the number of segments stored."""
        url = str(self.record.url)
        opts = input_options(url, attempt, self.settings.stream_io_timeout)
        # A stop during the probe (seconds on a slow source) ends it at once.
        probing = asyncio.create_task(self._probe(url, opts))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({probing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not probing.done():
                probing.cancel()
                await asyncio.gather(probing, return_exceptions=True)
        if self._stopping.is_set():
            return 0
        codecs = probing.result()
        cmd = self._command(url, opts, codecs, work)
        self._proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, preexec_fn=lambda: die_with_parent(signal.SIGINT),
            start_new_session=True)
        log.info("ingest started", extra={"rtstream": self.record.id, "pid": self._proc.pid,
                                          "video": codecs.get("video"), "audio": codecs.get("audio"),
                                          "run": self.run_index})
        reader = asyncio.create_task(self._read_stderr(), name="ingest-stderr")
        seen: list[str] = []
        stored = 0
        run_start: float | None = None
        try:
            while True:
                done = self._proc.returncode is not None
                if not done:
                    with contextlib.suppress(TimeoutError):
                        await bounded(asyncio.shield(self._proc.wait()), 0.25)
                    done = self._proc.returncode is not None
                durations = segment_durations(work / "index.m3u8")
                for name in list(durations)[len(seen):]:
                    seen.append(name)
                    duration = durations[name]
                    now = time.time()
                    # Contiguous within one ffmpeg run, anchored on the first segment's arrival.
                    start = run_start if run_start is not None else now - duration
                    run_start = start + duration
                    seg_name = segment_name(self.span, self.run_index, self.n)
                    await self.storage.put_file(f"hls/{seg_name}", work / name)
                    (work / name).unlink(missing_ok=True)
                    self.n += 1
                    stored += 1
                    self.segments += 1
                    self.last_segment_at = now
                    if stored == 1 and attempt == 0 and self.run_index == 0:
                        log.info("stream ingesting", extra={"rtstream": self.record.id})
                    await self._on_segment(Segment(seg_name, duration, start, self.span, self.run_index))
                if done:
                    break
        finally:
            if self._proc.returncode is None:
                self._proc.kill()
                await self._proc.wait()
            await asyncio.gather(reader, return_exceptions=True)
        log.info("ingest ended", extra={"rtstream": self.record.id, "rc": self._proc.returncode,
                                        "segments": stored})
        return stored

    async def _probe(self, url: str, opts: dict[str, str | int | bool]) -> dict[str, str]:
        flags: list[str] = []
        for k, v in opts.items():
            flags += [f"-{k}", str(v)]
        out = await run(ffprobe(url, *flags, "-show_streams", "-of", "json"),
                        timeout=self.settings.stream_io_timeout + 10)
        codecs: dict[str, str] = {}
        for s in json.loads(out).get("streams", []):
            kind = s.get("codec_type")
            if kind in ("video", "audio") and kind not in codecs:
                codecs[kind] = str(s.get("codec_name"))
        wanted = set(self.record.media_types)
        if not wanted & set(codecs):
            raise RecordingError(f"the source has no {' or '.join(sorted(wanted))}")
        return codecs

    def _command(self, url: str, opts: dict[str, str | int | bool], codecs: dict[str, str],
                 work: Path) -> list[str]:
        wanted = set(self.record.media_types)
        out: dict[str, str | int | float | bool] = {}
        if "video" in wanted and "video" in codecs:
            out["map"] = "0:v:0"
            if codecs["video"] == "h264":
                out["c:v"] = "copy"
            else:
                out.update({"c:v": "libx264", "preset": "veryfast", "tune": "zerolatency",
                            "pix_fmt": "yuv420p", "g": 2 * self.record.sample_rate})
        maps = [str(out.pop("map"))] if "map" in out else []
        if "audio" in wanted and "audio" in codecs:
            maps.append("0:a:0")
            if codecs["audio"] == "aac":
                out["c:a"] = "copy"
            else:
                out.update({"c:a": "aac", "b:a": "128k", "ar": 48000})
        cmd = FFmpeg(loglevel="warning", interactive=True)
        cmd.input(url, **opts)
        return cmd.output(work / "index.m3u8", {"map": maps, **out}, f="hls", hls_time=2,
                          hls_list_size=0, hls_segment_filename=str(work / "seg_%05d.ts")).args()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for raw in self._proc.stderr:
            line = raw.decode(errors="replace").strip()
            if line:
                self._tail.append(line)
                log.debug("ingest ffmpeg", extra={"line": line})
