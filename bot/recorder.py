"""Recorder: ffmpeg captures the bot's display and sink monitor into HLS segments as it goes.

Segments (HLS-TS) rather than one MP4: a killed worker loses at most the segment in progress,
and TS kept the best measured A/V sync. The final MP4 is a remux of the segments.

Clock: ``-copyts -output_ts_offset -T -muxdelay 0`` makes every packet's pts equal its capture
wall-clock time minus T (both x11grab and pulse stamp packets with the wall clock), so the
recording's timeline can be placed on the wall clock exactly, from the file itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

from core.aio import bounded, cleanup_step, die_with_parent
from core.errors import RecordingError
from media.ffmpeg import FFmpeg, Value, first_packet_pts
from media.hls import playlist_segments

log = logging.getLogger("meetbot.recorder")

PLAYLIST = "playlist.m3u8"
WATCHER_STOP_S = 5.0
SILENCE_DB = -50
SILENCE_DETECT_S = 0.1
"""silencedetect's shortest silence: short, so that the first sound after a quiet start is placed
(with a long one, sound that starts within it of ffmpeg's start is taken for sound all along)."""
PAUSE_S = 0.5
"""Silences shorter than this inside sound (between words) do not split it."""
DROPOUT_DB = -90
DROPOUT_MIN_S = 0.01
DROPOUT_MAX_S = 0.2
"""A dropout: the sink played exact zeros (within 1 LSB) for 10-200 ms. Chromium's output running
dry under load leaves such holes; a voice over Opus, or a room's noise, does not. Longer runs are
muted stretches, not holes."""
ZEROS_FRAME = 480
"""The dropout detector sees the sound in frames of this many samples (10 ms), so that the frame
number ffmpeg prints with a run's end says where the capture started, and a run that began there
(the sink's zeros before anyone is heard) is told from a hole, wherever it falls in the order."""
EDGE_FRAME = 48
"""The silence edges are read on frames of this many samples (1 ms): an edge is placed on the frame
it falls in, and the capture's own frames (~21 ms) put every voice's start up to a frame early."""
AUDIO_HARD_COMP_S = 0.02
# silencedetect prints its times rounded to six digits (useless for epoch times with -copyts); the
# frames it marks are printed by ametadata with their exact pts, on aresample's 1/48000 clock.
_EDGE = re.compile(r"^\[ametadata@(sound|silence) @ [^\]]*\] frame:\S+\s+pts:(-?\d+)")
_ZEROS_AT = re.compile(r"^\[ametadata@zeros @ [^\]]*\] frame:(\d+)\s")
_ZEROS = re.compile(r"^\[ametadata@zeros @ [^\]]*\] lavfi\.silence_duration=([0-9.e+-]+)")
AUDIO_RATE = 48000
PULSE_FRAGMENT_BYTES = 3840
"""The capture asks Pulse for 20 ms fragments (48 kHz, 2 x s16). Left to the server (-1), the null
sink renders in blocks as long as its clients allow: with no player connected they are long, and
the first player's low latency shortens them, so packets began arriving 17-24 ms earlier once a
sound played and the sample clock's floor moved by that much after the recording's first sound
(tests/recorder/test_sound_clock.py, 4 of 4 runs). Asked for by the capture, the block is short
from the first packet, whoever plays."""
ENVELOPE_RISE = 0.001
"""How fast (s per s) the sound's anchor may move later without a packet at the floor: above any
clock slew, below what a stretch of late deliveries under load would pull it by."""
GRAB_HZ = 0
"""How often the display is grabbed by default (0: at the recording's fps); with more, every
grab_every(fps)-th frame is recorded, on its own capture time. It had narrowed a picture offset
that differed per capture to one frame; that offset was the encoder's 1/fps time base rounding
each grab time (see ``command``), and with the grab's own times kept a 15 fps grab is within one
Chromium frame (4-17 ms late). 60 costs 3 % of a core per bot (Xvfb 2.4 %, x11grab 0.6 %), and on
a loaded machine (the test suite on 2 cores) the recorder fell behind."""
SegmentHandler = Callable[[Path], Awaitable[None]]


def grab_every(fps: int, grab_hz: int = GRAB_HZ) -> int:
    """Grabs per recorded frame: the grab rate is the recorded rate times this, up to grab_hz."""
    return max(1, grab_hz // fps)


def _sample_clock() -> str:
    """asetpts: pts = anchor + samples so far / rate, where anchor is the lower envelope of each
    packet's arrival (wall clock) minus the samples up to its end."""
    late = "PTS*TB-(N+NB_SAMPLES)/SR"
    anchor = fr"st(0\,if(eq(N\,0)\,{late}\,min({late}\,ld(0)+{ENVELOPE_RISE}*NB_SAMPLES/SR)))"
    return f"asetpts='({anchor}+N/SR)/TB'"


def sound_graph() -> str:
    """The sound's filters, from the captured sound to the recorded (labelled by the caller): the
    sample clock, the silence edges and the dropout detector, each printed by a named ametadata."""
    return (f"{_sample_clock()},aresample=async=50:min_hard_comp={AUDIO_HARD_COMP_S},asplit=3[e][z][s];"
            f"[z]asetnsamples=n={ZEROS_FRAME}:p=0,silencedetect=n={DROPOUT_DB}dB:d={DROPOUT_MIN_S},"
            "ametadata@zeros=mode=print:key=lavfi.silence_duration,anullsink;"
            f"[e]asetnsamples=n={EDGE_FRAME}:p=0,silencedetect=n={SILENCE_DB}dB:d={SILENCE_DETECT_S},"
            "ametadata@sound=mode=print:key=lavfi.silence_end,"
            "ametadata@silence=mode=print:key=lavfi.silence_start,anullsink;[s]anull")


class Recorder:
    def __init__(
        self,
        *,
        display: str,
        width: int,
        height: int,
        fps: int,
        audio_env: dict[str, str],
        monitor: str,
        work_dir: Path,
        preset: str,
        audio_bitrate: str,
        segment_seconds: int,
        stop_timeout: float,
        sound_late: float = 0.0,
        grab_hz: int = GRAB_HZ,
        audio_only: bool = False,
        on_segment: SegmentHandler,
    ) -> None:
        self._display = display
        self._size = (width, height)
        self._fps = fps
        self._audio_env = audio_env
        self._monitor = monitor
        self.dir = work_dir
        self._preset = preset
        self._audio_bitrate = audio_bitrate
        self._segment_seconds = segment_seconds
        self._stop_timeout = stop_timeout
        self.sound_late = sound_late
        """Seconds from the page's audio clock to the sink, as measured for this recording: the
        sound is placed that much earlier."""
        self._grab_hz = grab_hz
        self._audio_only = audio_only
        self._on_segment = on_segment
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._seen: list[str] = []
        self._stderr_tail: deque[str] = deque(maxlen=30)
        self.progress: dict[str, str] = {}
        self.ts_base = 0
        """T: packet pts + T = capture wall-clock time."""
        self.first_frame_at: float | None = None
        """Wall-clock time of the first video frame."""
        self.first_frame = asyncio.Event()
        """Set once ``first_frame_at`` is known."""
        self.silent_since: float | None = None
        """Wall-clock start of the current silence on the sink (None while there is sound)."""
        self.sound: list[tuple[float, float | None]] = []
        """Wall-clock intervals with sound on the sink; the last may still be open (end None)."""
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.dropouts = 0
        self.dropout_s = 0.0
        """Dropouts in the sound (see DROPOUT_MAX_S) and the time they took."""
        self._zeros_frame = 0
        """The frame (of ZEROS_FRAME samples, counted from the capture's first) a run of zeros
        ended in: ffmpeg prints it on the line before the run's duration."""

    @property
    def playlist(self) -> Path:
        return self.dir / PLAYLIST

    @property
    def segments(self) -> list[Path]:
        return [self.dir / name for name in self._seen]

    def command(self) -> list[str]:
        w, h = self._size
        gop = self._fps * self._segment_seconds
        cmd = FFmpeg(loglevel="info", interactive=True, global_options={
            # info level for silencedetect's reports; -nostats keeps the rest quiet.
            "copyts": True, "nostats": True, "progress": "pipe:2"})
        every = grab_every(self._fps, self._grab_hz)
        if not self._audio_only:
            cmd.input(self._display, f="x11grab", video_size=(w, h), framerate=self._fps * every,
                      draw_mouse=0, thread_queue_size=512)
        sound = 0 if self._audio_only else 1
        # The sound is stamped as the sink plays it, sound_late after the page played it (measured
        # for this recording, bot/av_selftest.py); placed that much earlier, it is on the page's
        # clock. The picture is stamped when x11grab takes it, up to a Chromium frame after the
        # page drew it: that part is not corrected (it is each capture's phase).
        cmd.input(self._monitor, f="pulse", ac=2, ar=48000, itsoffset=f"{-self.sound_late:.4f}",
                  use_wallclock_as_timestamps=1, thread_queue_size=1024,
                  fragment_size=PULSE_FRAGMENT_BYTES)
        # Players take the sound sample by sample, the picture by its times: the sound must have
        # exactly one sample per 1/48000 s of its clock, and that clock must sit where the sink
        # played the samples. Pulse's own packet times (read time minus its latency estimate) do
        # not: two ffmpeg recording one monitor at once stamped the same sound up to 21 ms apart,
        # drifting by seconds, and a fresh estimate every run gave every recording its own A/V
        # offset. The sink plays in real time, so a packet can only arrive late, never early: the
        # lowest (arrival - samples so far) is where sample 0 was played, and every sample is
        # placed from it (a lower envelope, let up by ENVELOPE_RISE in case the clocks drift).
        # The same two captures then agree within 1 ms. aresample keeps the count exact across
        # the envelope's small steps. Silence on the bot's own sink is what the silence auto-leave
        # acts on. Beside it, a second detector finds dropouts; named ametadata tell the two apart.
        # Grabbed faster than recorded (see GRAB_HZ): every few frames kept, on their capture times.
        thinned = not self._audio_only and every > 1
        pictures = fr"[0:v]select='not(mod(n\,{every}))'[v];" if thinned else ""
        cmd.filter_complex(f"{pictures}[{sound}:a]{sound_graph()}[a]")
        picture: dict[str, Value] = {} if self._audio_only else dict(
            vcodec="libx264", preset=self._preset,
            # zerolatency: without it x264's lookahead holds ~1.25 s and the audio tail is lost.
            tune="zerolatency", pix_fmt="yuv420p", g=gop, keyint_min=gop, sc_threshold=0,
            # passthrough: every frame keeps its capture time. The default constant-rate mode snaps
            # frames to a 1/fps grid and drops or duplicates to keep it, shifting the picture
            # against the sound by up to a frame for as long as the grid stays off.
            fps_mode="passthrough",
            # The encoder's time base is 1/fps by default: every frame's grab time was rounded to
            # a grid of whole frames since the epoch (copyts), so each capture's picture sat
            # where its grab's phase against that grid put it, anywhere in one frame (-31..+51 ms
            # at 15 fps across captures; a whole Chromium frame apart, set per capture, so no
            # other capture could measure it). MPEG-TS's own 90 kHz keeps the grab's time.
            **{"enc_time_base:v": "1:90000"})
        video = [] if self._audio_only else ["[v]" if thinned else "0:v"]
        return cmd.output(self.playlist, {"map": [*video, "[a]"],
                                          "b:a": self._audio_bitrate},
            acodec="aac", ar=48000, **picture,
            output_ts_offset=f"-{self.ts_base}", muxdelay=0, muxpreload=0,
            f="hls", hls_time=self._segment_seconds, hls_list_size=0, hls_playlist_type="event",
            hls_flags="independent_segments", hls_segment_filename=str(self.dir / "seg_%05d.ts"),
        ).args()

    async def __aenter__(self) -> Recorder:
        self.dir.mkdir(parents=True, exist_ok=True)
        # Whole seconds a little in the past keep pts small, positive and exact.
        self.ts_base = int(time.time()) - 10
        cmd = self.command()
        env = dict(os.environ, **self._audio_env)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, env=env,
                # SIGINT on our death lets ffmpeg close the playlist; own session keeps a
                # terminal's Ctrl-C for us to handle gracefully.
                preexec_fn=lambda: die_with_parent(signal.SIGINT), start_new_session=True,
            )
        except OSError as exc:
            raise RecordingError(f"ffmpeg did not start: {exc}") from exc
        self.started_at = time.time()
        self.sound = [(self.started_at, None)]  # silencedetect starts out assuming sound
        self._tasks = [
            asyncio.create_task(self._read_stderr(), name="ffmpeg-stderr"),
            asyncio.create_task(self._watch_segments(), name="ffmpeg-segments"),
        ]
        w, h = self._size
        log.info("recording started", extra={
            "pid": self._proc.pid, "dir": str(self.dir),
            "capture": "sound only" if self._audio_only else f"{w}x{h}@{self._fps}"})
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    def health(self) -> dict[str, float]:
        """Encoder speed and frame counts from ffmpeg -progress: speed < 0.95 means overload."""
        out: dict[str, float] = {}
        for key in ("speed", "frame", "drop_frames", "dup_frames", "fps"):
            raw = self.progress.get(key, "").rstrip("x").strip()
            with contextlib.suppress(ValueError):
                out[key] = float(raw)
        return out

    async def _read_stderr(self) -> None:
        assert self._proc and self._proc.stderr
        async for raw in self._proc.stderr:
            self._on_line(raw.decode(errors="replace").rstrip())

    def _on_line(self, line: str) -> None:
        key, sep, value = line.partition("=")
        if sep and " " not in key:
            self.progress[key] = value
            return
        if line.startswith("[ametadata@"):
            if m := _EDGE.match(line):
                self._on_frame_edge(m.group(1) == "silence", int(m.group(2)))
            elif m := _ZEROS_AT.match(line):
                self._zeros_frame = int(m.group(1))
            elif m := _ZEROS.match(line):
                self._on_zeros(float(m.group(1)))
            return
        if line and "Opening '" not in line:  # hls logs every segment it opens
            self._stderr_tail.append(line)
            if "Guessed Channel Layout" not in line:
                log.debug("ffmpeg", extra={"line": line})

    def _on_zeros(self, seconds: float) -> None:
        # A run that reaches back to the capture's first frame is the sink's zeros before anyone
        # was heard, not a hole. Which run that is depends on the page: when its sound (a room
        # tone) was already playing as the capture started, there is none, and the first run is
        # the first hole (it used to be dropped as the start, one hole in five uncounted).
        # The run ended in frame n, so it began in frame n or earlier: at its start if it covers
        # every frame before n but one.
        leading = seconds * AUDIO_RATE >= (self._zeros_frame - 1) * ZEROS_FRAME
        if not leading and DROPOUT_MIN_S <= seconds <= DROPOUT_MAX_S:
            self.dropouts += 1
            self.dropout_s += seconds

    def _on_frame_edge(self, silent: bool, pts: int) -> None:
        # The sound's pts are the sink's play times (see _sample_clock) moved onto the page's
        # clock. Silence is marked on the frame where it has lasted SILENCE_DETECT_S, sound on
        # its first frame: placed to an EDGE_FRAME (1 ms), however late ffmpeg gets to them.
        at = pts / AUDIO_RATE
        self._on_silence_edge(silent, at - SILENCE_DETECT_S if silent else at)

    def _on_silence_edge(self, silent: bool, at: float) -> None:
        """``at``: wall-clock time the page played the start of the silence (``silent``) or of
        the sound the sink received."""
        if silent:
            self.silent_since = at
            start = self.sound.pop()[0] if self.sound and self.sound[-1][1] is None else None
            # Blips shorter than a syllable are noise. The stretch before the first report is
            # only assumed to be sound (ffmpeg's start-up sits in it), so it must be longer.
            shortest = 1.5 if len(self.sound) == 0 and start == self.started_at else 0.25
            if start is not None and self.silent_since - start > shortest:
                self.sound.append((start, self.silent_since))
            return
        since, self.silent_since = self.silent_since, None
        last = self.sound[-1] if self.sound else None
        if last is not None and last[1] is not None and since is not None and last[1] >= since \
                and at - since < PAUSE_S:
            self.sound[-1] = (last[0], None)  # a pause between words
        else:
            self.sound.append((at, None))

    async def _watch_segments(self, final: bool = False) -> None:
        """Hand each finished segment to the store as soon as the playlist lists it."""
        while True:
            names = playlist_segments(self.playlist)
            for name in names[len(self._seen):]:
                path = self.dir / name
                self._seen.append(name)
                if self.first_frame_at is None:
                    await self._anchor_clock(path)
                await self._on_segment(path)
            if final:
                return
            await asyncio.sleep(0.5)

    async def _anchor_clock(self, first_segment: Path) -> None:
        try:
            pts = await first_packet_pts(first_segment, "a" if self._audio_only else "v")
        except RecordingError:
            log.warning("could not read the first segment's timestamps", exc_info=True)
            return
        if pts is not None:
            self.first_frame_at = self.ts_base + pts
            self.first_frame.set()
            log.info("recording clock anchored",
                     extra={"first_frame_delay_s": round(self.first_frame_at - (self.started_at or 0), 3)})

    async def stop(self) -> None:
        """Ask ffmpeg to finish (it closes the last segment and the playlist), then collect."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            try:
                assert proc.stdin
                proc.stdin.write(b"q")
                await proc.stdin.drain()
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                await bounded(proc.wait(), self._stop_timeout)
            except TimeoutError:
                log.warning("ffmpeg did not stop on q; interrupting")
                proc.send_signal(signal.SIGINT)
                try:
                    await bounded(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        self.stopped_at = time.time()
        watcher = self._tasks[1] if len(self._tasks) > 1 else None
        if watcher is not None:
            watcher.cancel()
            if (await asyncio.wait({watcher}, timeout=WATCHER_STOP_S))[1]:
                log.error("the segment watcher did not stop when cancelled")
        # The last segments appear in the playlist only when ffmpeg finishes.
        await self._watch_segments(final=True)
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await bounded(t, 2)
        self._tasks = []
        rc = proc.returncode
        log.info("recording stopped", extra={"rc": rc, "segments": len(self._seen)})
        if rc not in (0, 255) and not self._seen:
            raise RecordingError("ffmpeg failed: " + " | ".join(list(self._stderr_tail)[-5:]))

    async def aclose(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            await cleanup_step("stop ffmpeg", self.stop(), self._stop_timeout + 10)
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await cleanup_step("reap ffmpeg", proc.wait(), 5)

    def tail(self) -> list[str]:
        return list(self._stderr_tail)
