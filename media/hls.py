"""HLS playlists as the recorder and the stream ingest write them, and the MP4 made from them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media.ffmpeg import FFmpeg, Options, probe, run, stream_of

ENDLIST = "#EXT-X-ENDLIST"
SPEAKING_TAG = "#MEETBOT-SPEAKING:"

Turns = tuple[tuple[str, float, float], ...]
"""Who spoke when in a segment: (name, from, to), seconds from the segment's start."""


def close_playlist(playlist: Path) -> bool:
    """Append ENDLIST if missing (a crashed EVENT playlist makes ffmpeg wait forever for more)."""
    text = playlist.read_text()
    if ENDLIST in text:
        return False
    playlist.write_text(text.rstrip("\n") + f"\n{ENDLIST}\n")
    return True


def playlist_segments(playlist: Path) -> list[str]:
    try:
        text = playlist.read_text()
    except FileNotFoundError:
        return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def playlist_upto(playlist: Path, segment: str) -> str:
    """The playlist's text up to and including ``segment`` (what is safe to publish so far)."""
    lines = playlist.read_text().splitlines()
    cut = next((i for i, ln in enumerate(lines) if ln.strip() == segment), len(lines) - 1)
    return "\n".join(lines[: cut + 1]) + "\n"


async def remux_to_mp4(playlist: Path, out: Path) -> None:
    """Segments -> one MP4 without re-encoding; faststart so players can begin before the end."""
    close_playlist(playlist)
    tmp = out.with_suffix(".part.mp4")
    await run(FFmpeg().input(playlist).output(tmp, {"map": "0"}, c="copy", movflags="+faststart").args(),
              timeout=600)
    tmp.replace(out)


# -- playlists we write ourselves: several spans (start -> stop) of one stream or recording -------
@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    """The segment's key, relative to the playlist (or an absolute URL)."""
    duration: float
    start: float
    """Wall-clock time (Unix seconds) of the segment's first frame."""
    span: int
    """Which start -> stop span it belongs to (the unit of an export)."""
    run: int = 0
    """Which continuous run of the capture: a new one (a new span, a reconnection) restarts the
    timestamps and follows a discontinuity."""
    speaking: Turns = ()
    """A meeting's segments: who the page showed speaking, when (seconds from the segment's
    start); live indexes describe scenes and words with it. A comment line that players ignore."""

    def speakers_at(self, t: float) -> tuple[str, ...]:
        """Who was shown speaking at Unix time ``t`` (inside this segment)."""
        rel = t - self.start
        return tuple(sorted({name for name, s, e in self.speaking if s <= rel <= e}))

    @property
    def end(self) -> float:
        return self.start + self.duration


def render_playlist(segments: list[Segment], *, ended: bool, window: int | None = None) -> str:
    """A media playlist. ``window``: keep only the last so many segments (a live-only stream);
    ``ended``: the stream will get no more segments (VOD, or a stopped stream).

    Every segment carries its wall-clock start (EXT-X-PROGRAM-DATE-TIME), which is how a time
    range in Unix seconds is found later; a change of span is marked EXT-X-DISCONTINUITY (the
    timestamps restart, the codecs may change).
    """
    shown = segments[-window:] if window else segments
    first = len(segments) - len(shown)
    target = max((math.ceil(s.duration) for s in shown), default=2)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
             f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    discontinuities = sum(1 for a, b in itertools.pairwise(segments[: first + 1]) if _breaks(a, b))
    if window:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuities}")
    elif not ended:
        lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    prev: Segment | None = None
    for seg in shown:
        if prev is not None and _breaks(prev, seg):
            lines.append("#EXT-X-DISCONTINUITY")
        stamp = datetime.fromtimestamp(seg.start, UTC).isoformat(timespec="milliseconds")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp.replace('+00:00', 'Z')}")
        if seg.speaking:
            lines.append(f"{SPEAKING_TAG}{json.dumps(list(seg.speaking))}")
        lines += [f"#EXTINF:{seg.duration:.3f},", seg.name]
        prev = seg
    if ended:
        lines.append(ENDLIST)
    return "\n".join(lines) + "\n"


def render_subtitles(parts: list[tuple[str, float]]) -> str:
    """A subtitles playlist (VOD): one WebVTT segment per span of the media playlist, (name,
    seconds), a discontinuity between spans as in the media playlist."""
    target = max((math.ceil(d) for _, d in parts), default=1)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD"]
    for i, (name, duration) in enumerate(parts):
        if i:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{duration:.3f},", name]
    return "\n".join([*lines, ENDLIST]) + "\n"


def render_master(media: str, subtitles: str, *, bandwidth: int, language: str | None = None,
                  name: str = "Transcript") -> str:
    """A multivariant playlist: the media playlist with the subtitles as its SUBTITLES group, on by
    default (players show them, and let them be turned off)."""
    lang = f'LANGUAGE="{language}",' if language else ""
    return "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3",
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{name}",{lang}DEFAULT=YES,AUTOSELECT=YES,'
        f'URI="{subtitles}"',
        f'#EXT-X-STREAM-INF:BANDWIDTH={max(1, bandwidth)},SUBTITLES="subs"', media]) + "\n"


def _breaks(a: Segment, b: Segment) -> bool:
    return (a.span, a.run) != (b.span, b.run)


_SPAN_RUN = re.compile(r"s(\d+)r(\d+)_")


def parse_playlist(text: str) -> list[Segment]:
    """The segments of a playlist ``render_playlist`` wrote (to pick up a stream after a restart).
    Span and run come from the segment names when they carry them (``s<span>r<run>_``), else
    each discontinuity starts a new span."""
    out: list[Segment] = []
    span, start, duration = 0, 0.0, 0.0
    speaking: Turns = ()
    for line in text.splitlines():
        line = line.strip()
        if line == "#EXT-X-DISCONTINUITY":
            span += 1
        elif line.startswith(SPEAKING_TAG):
            with contextlib.suppress(ValueError, TypeError):
                turns = json.loads(line[len(SPEAKING_TAG):])
                speaking = tuple((str(n), float(a), float(b)) for n, a, b in turns)
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamp = line.split(":", 1)[1].replace("Z", "+00:00")
            start = datetime.fromisoformat(stamp).timestamp()
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].rstrip(",").split(",")[0])
        elif line and not line.startswith("#"):
            named = _SPAN_RUN.search(line)
            s_, r_ = (int(named.group(1)), int(named.group(2))) if named else (span, span)
            out.append(Segment(line, duration, start, s_, r_, speaking))
            start += duration
            speaking = ()
    return out


def segment_durations(playlist: Path) -> dict[str, float]:
    """EXTINF of each segment ffmpeg listed in its own playlist."""
    out: dict[str, float] = {}
    duration = 0.0
    try:
        text = playlist.read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].rstrip(",").split(",")[0])
        elif line.strip() and not line.startswith("#"):
            out[line.strip()] = duration
    return out


async def concat_to_mp4(runs: list[list[Path]], out: Path, *, lengths: list[float] | None = None,
                        audio_bitrate: str = "128k") -> None:
    """Runs of segments -> one MP4, the runs back to back, the picture never re-encoded.

    A run's segments share one continuous clock, so they are read as one byte stream (the concat
    protocol) and keep their timestamps. Placing every segment after the previous one's duration
    (which exceeds the segment by the sound frame straddling its cut) stretched the picture by
    5 ms per 2 s segment, while players take the sound sample by sample: the sound ran ahead of
    the picture by 0.5 % of the elapsed time, 300 ms after a minute.

    Between runs the clock restarts: each run is placed ``lengths[i]`` (its picture's length;
    default: the run's own duration) after the previous one, and the sound is re-encoded with its
    gaps filled and overlaps trimmed, so it stays with the picture after every break.
    """
    runs = [r for r in runs if r]
    if lengths is not None and len(lengths) != len(runs):
        raise ValueError("one length per run")
    listing = out.with_suffix(".concat.txt")
    scratch: list[Path] = []
    lines = []
    for i, files in enumerate(runs):
        if any("|" in f.as_posix() for f in files):
            # The concat protocol splits on "|": such a run is joined into a file of its own.
            joined = out.with_suffix(f".run{i}.ts")
            await asyncio.to_thread(_join_files, files, joined)
            scratch.append(joined)
            url = joined.as_posix()
        else:
            url = "concat:" + "|".join(f.as_posix() for f in files)
        lines.append("file '" + url.replace("'", "'\\''") + "'\n")
        if lengths is not None and i < len(runs) - 1:
            lines.append(f"duration {lengths[i]:.6f}\n")
    listing.write_text("".join(lines))
    options: Options = {"map": "0", "c": "copy"}
    if len(runs) > 1 and stream_of(await probe(runs[0][0]), "audio") is not None:
        options.update({"c:a": "aac", "b:a": audio_bitrate,
                        "filter:a": "aresample=async=1:min_hard_comp=0.01"})
    tmp = out.with_suffix(".part.mp4")
    try:
        await run(FFmpeg().input(listing, f="concat", safe=0, protocol_whitelist="file,concat")
                  .output(tmp, options, movflags="+faststart").args(), timeout=1800)
        tmp.replace(out)
    finally:
        listing.unlink(missing_ok=True)
        for f in scratch:
            f.unlink(missing_ok=True)


def runs_of(segments: list[Segment]) -> list[list[Segment]]:
    """Consecutive segments grouped by the capture run they belong to."""
    out: list[list[Segment]] = []
    for seg in segments:
        if out and out[-1][-1].run == seg.run and out[-1][-1].span == seg.span:
            out[-1].append(seg)
        else:
            out.append([seg])
    return out


def _join_files(files: list[Path], out: Path) -> None:
    with out.open("wb") as dst:
        for f in files:
            with f.open("rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)


def clip(segments: list[Segment], ranges: list[tuple[float, float]], *, base: str = "") -> list[Segment]:
    """The segments that cover each ``(start, end)`` range in seconds from the first segment's
    start (a video's clock), in order, one run per range (a discontinuity between them). Cuts fall
    on segment boundaries: a shot plays from the segment it starts in. Relative names are made
    absolute with ``base`` (the directory URL of the playlist they came from)."""
    out: list[Segment] = []
    offsets, t = [], 0.0
    for seg in segments:
        offsets.append(t)
        t += seg.duration
    for shot, (start, end) in enumerate(ranges):
        for seg, at in zip(segments, offsets, strict=True):
            if at + seg.duration > start and at < end:
                name = seg.name if "://" in seg.name or not base else f"{base.rstrip('/')}/{seg.name}"
                out.append(Segment(name, seg.duration, seg.start, 0, shot))
    return out
