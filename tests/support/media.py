"""What a test source sends, and the ffmpeg command line that sends it.

A ``Media`` names the codecs (``video=None`` for audio only), the picture size and rate and the
keyframe interval. The default is H.264 + AAC at 640x360, 15 fps, so an ingest can copy it without
re-encoding; ``AUDIO_ONLY`` and the not-H.264/AAC variants exercise transcoding. Publishers draw
``testsrc`` (a moving picture with a frame counter) and a sine tone with lavfi, in real time
(``-re``), with the cheapest settings (x264 ultrafast/zerolatency) so a few of them cost little CPU.

Not every container carries every codec: FLV (RTMP) has no MPEG-4 Part 2, H.265 or Opus in
ffmpeg 5.1, so its "other codecs" variant is Sorenson H.263 (``flv1``) + MP3. ``check_supported``
refuses a combination the protocol cannot carry before anything starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

VideoCodec = Literal["h264", "hevc", "mpeg4", "flv1"]
AudioCodec = Literal["aac", "mp3", "opus"]
Protocol = Literal["rtsp", "rtmp", "hls"]


@dataclass(frozen=True)
class Media:
    video: VideoCodec | None = "h264"
    audio: AudioCodec | None = "aac"
    width: int = 640
    height: int = 360
    fps: int = 15
    gop: int | None = None  # frames between keyframes; None: the source's default (1 s)
    tone_hz: int = 440
    sample_rate: int = 48000
    caption: str | None = None
    """Text drawn large, black on a white band across the picture (what OCR should read)."""
    speech: str | None = None
    """A sound file played in a loop instead of the tone (what a recogniser should hear)."""

    def but(self, **changes: object) -> Media:
        """A copy with some fields changed; ``size=(w, h)`` sets both dimensions."""
        size = changes.pop("size", None)
        if size is not None:
            w, h = size  # type: ignore[misc]
            changes["width"], changes["height"] = int(w), int(h)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def is_copyable(self) -> bool:
        """H.264 and/or AAC only: what an ingest can store without re-encoding."""
        return self.video in (None, "h264") and self.audio in (None, "aac") and self.has_any

    @property
    def has_any(self) -> bool:
        return self.video is not None or self.audio is not None


CAPTION_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

H264_AAC = Media()
AUDIO_ONLY = Media(video=None)
VIDEO_ONLY = Media(audio=None)
MPEG4_MP3 = Media(video="mpeg4", audio="mp3")
MPEG4_OPUS = Media(video="mpeg4", audio="opus")
HEVC_AAC = Media(video="hevc")
FLV1_MP3 = Media(video="flv1", audio="mp3")  # RTMP's not-H.264/AAC variant

SUPPORTED: dict[Protocol, tuple[set[str], set[str]]] = {
    "rtsp": ({"h264", "hevc", "mpeg4"}, {"aac", "mp3", "opus"}),
    "rtmp": ({"h264", "flv1"}, {"aac", "mp3"}),
    "hls": ({"h264", "hevc", "mpeg4"}, {"aac", "mp3", "opus"}),
}

# The name ffprobe reports for each codec.
PROBE_NAME = {"h264": "h264", "hevc": "hevc", "mpeg4": "mpeg4", "flv1": "flv1",
              "aac": "aac", "mp3": "mp3", "opus": "opus"}


def check_supported(media: Media, protocol: Protocol) -> None:
    videos, audios = SUPPORTED[protocol]
    if not media.has_any:
        raise ValueError("a source needs video or audio")
    if media.video is not None and media.video not in videos:
        raise ValueError(f"{protocol} cannot carry {media.video} video here (use one of {sorted(videos)})")
    if media.audio is not None and media.audio not in audios:
        raise ValueError(f"{protocol} cannot carry {media.audio} audio here (use one of {sorted(audios)})")


def input_args(media: Media) -> list[str]:
    args: list[str] = []
    if media.video is not None:
        graph = f"testsrc=size={media.width}x{media.height}:rate={media.fps}"
        if media.caption:
            h = media.height // 4
            text = media.caption.replace("\\", "").replace("'", "").replace(":", "\\:")
            graph += (f",drawbox=x=0:y={media.height // 2 - h // 2}:w=iw:h={h}:color=white:t=fill,"
                      f"drawtext=fontfile={CAPTION_FONT}:text='{text}':fontsize={h // 2}:fontcolor=black"
                      f":x=(w-text_w)/2:y=(h-text_h)/2")
        args += ["-re", "-f", "lavfi", "-i", graph]
    if media.audio is not None and media.speech:
        args += ["-re", "-stream_loop", "-1", "-i", media.speech]
    elif media.audio is not None:
        args += ["-re", "-f", "lavfi", "-i",
                 f"sine=frequency={media.tone_hz}:sample_rate={media.sample_rate}"]
    return args


def video_args(media: Media, gop: int) -> list[str]:
    if media.video is None:
        return ["-vn"]
    common = ["-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop)]
    match media.video:
        case "h264":
            return ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                    "-profile:v", "baseline", "-sc_threshold", "0", "-b:v", "600k", *common]
        case "hevc":
            return ["-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
                    "-x265-params", f"log-level=error:scenecut=0:keyint={gop}:min-keyint={gop}",
                    "-b:v", "400k", *common]
        case "mpeg4":
            return ["-c:v", "mpeg4", "-q:v", "6", "-bf", "0", *common]
        case "flv1":
            return ["-c:v", "flv", "-q:v", "6", *common]
    raise ValueError(media.video)


def audio_args(media: Media) -> list[str]:
    if media.audio is None:
        return ["-an"]
    match media.audio:
        case "aac":
            return ["-c:a", "aac", "-b:a", "64k", "-ac", "1"]
        case "mp3":
            return ["-c:a", "libmp3lame", "-b:a", "64k", "-ac", "1"]
        case "opus":
            return ["-c:a", "libopus", "-b:a", "48k", "-ac", "1", "-ar", "48000"]
    raise ValueError(media.audio)


def publisher_command(media: Media, output: list[str], *, gop: int | None = None) -> list[str]:
    """``ffmpeg`` reading the test pattern and tone in real time and writing ``output`` (its last args)."""
    key = media.gop or gop or media.fps * 2
    maps: list[str] = []
    n = 0
    if media.video is not None:
        maps += ["-map", f"{n}:v:0"]
        n += 1
    if media.audio is not None:
        maps += ["-map", f"{n}:a:0"]
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
            *input_args(media), *maps, *video_args(media, key), *audio_args(media), *output]
