"""Measuring a recording against the simulator's ground truth: A/V offset, timeline errors.

A/V offset: the simulated page lights a sync marker (a black square that fades to white over
``ramp_ms`` while remote audio plays) from the moment each speech segment's audio reaches the output.
In the recording, the marker's onset and the audio onset of the same segment should coincide; their
difference is the A/V offset (negative: the audio comes before the picture). The marker is sampled
at the frame rate, but a frame caught inside the ramp tells how long ago the fade began (its
brightness), so the onset is placed to a few milliseconds; without such a frame it is placed
between the last dark and the first lit frame.
"""

from __future__ import annotations

import array
import itertools
import math
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.speech import CLIP_EDGE_LEVEL

__all__ = ["AvOffset", "audio_gaps", "audio_onset", "audio_release", "audio_samples", "av_offsets",
           "heard_errors", "marker_levels", "summary", "timeline_errors"]

AUDIO_RATE = 48_000
_WINDOW = 48  # 1 ms at 48 kHz


@dataclass(frozen=True, slots=True)
class AvOffset:
    at: float
    """File time of the audio onset."""
    offset: float
    """Audio onset minus marker onset, seconds (negative: audio first)."""
    precise: bool
    """The marker onset was read from a frame inside the fade (else: between two frames)."""
    audio_late: float
    """Audio onset minus the time the page said the sound reaches the output (file time)."""
    video_late: float
    """Marker onset minus the time the page started the fade (file time)."""


def _run(cmd: list[str]) -> bytes:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=300).stdout


def marker_levels(mp4: Path, rect: dict[str, float], *, height: int = 720,
                  width: int = 1280) -> list[tuple[float, float]]:
    """(file time, mean luma 0-255) of the marker's area in every video frame."""
    dpr = float(rect.get("dpr", 1.0) or 1.0)
    offset = rect.get("frame_offset") or {"x": 0.0, "y": 0.0}  # the client may sit in an iframe
    x, y = rect["x"] + offset["x"], rect["y"] + offset["y"]
    x0, y0 = int(x * dpr) + 4, int(y * dpr) + 4
    x1 = min(int((x + rect["w"]) * dpr) - 4, width)
    y1 = min(int((y + rect["h"]) * dpr) - 4, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"sync marker {rect} is not inside the {width}x{height} frame")
    filt = f"crop={x1 - x0}:{y1 - y0}:{x0}:{y0},scale=1:1:flags=area,format=gray"
    times = _run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                  "frame=pts_time", "-of", "csv=p=0", str(mp4)]).decode().split()
    lumas = _run(["ffmpeg", "-v", "error", "-i", str(mp4), "-map", "0:v:0", "-vf", filt,
                  "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
    pts = [float(t.strip(",")) for t in times if t.strip(",") not in ("", "N/A")]
    return list(zip(pts, [float(v) for v in lumas], strict=False))


def audio_samples(mp4: Path) -> tuple[float, array.array[int]]:
    out = _run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                "stream=start_time", "-of", "csv=p=0", str(mp4)]).decode().split()
    start = out[0].strip(",") if out else ""
    raw = _run(["ffmpeg", "-v", "error", "-i", str(mp4), "-map", "0:a:0", "-ac", "1", "-ar",
                str(AUDIO_RATE), "-f", "s16le", "-"])
    return float(start or 0.0), array.array("h", raw)


def audio_onset(samples: array.array[int], start: float, after: float, until: float, *,
                threshold_db: float = -42.0) -> float | None:
    """File time of the first 1 ms window louder than ``threshold_db`` in [after, until), which
    must follow at least 50 ms of quieter audio (so an onset, not the middle of a sound)."""
    limit = 32768 * 10 ** (threshold_db / 20)
    a = max(0, int((after - start) * AUDIO_RATE))
    b = min(len(samples), int((until - start) * AUDIO_RATE))
    quiet = 0
    for i in range(a, b - _WINDOW, _WINDOW):
        peak = max(abs(s) for s in samples[i:i + _WINDOW])
        if peak > limit:
            if quiet >= 50:
                # Refine to the first loud sample inside the window.
                j = next((k for k in range(i, i + _WINDOW) if abs(samples[k]) > limit), i)
                return start + j / AUDIO_RATE
            quiet = 0
        else:
            quiet += 1
    return None


RELEASE_DB = 20 * math.log10(CLIP_EDGE_LEVEL / 32768) - 3.0
"""Where a voice ends in the recording: below the level the simulator's clips end at (its speech
source keeps everything louder as voice), less 3 dB for the path's gain (Opus, resampling). At
-42 dBFS the measure cut the breathy tails some phrases end on (-40..-44 dBFS in the source, as
long as 130 ms) and put the voice's end there, early, by as much as the tail came out louder or
quieter through a path. Onsets keep -42 dBFS: the clips start at full level within a ms."""


def audio_release(samples: array.array[int], start: float, after: float, until: float, *,
                  threshold_db: float = RELEASE_DB) -> float | None:
    """File time just after the last sample louder than ``threshold_db`` in [after, until), if
    at least 50 ms of quieter audio follow it there (the end of a sound, not its middle)."""
    limit = 32768 * 10 ** (threshold_db / 20)
    a = max(0, int((after - start) * AUDIO_RATE))
    b = min(len(samples), int((until - start) * AUDIO_RATE))
    last = next((k for k in range(b - 1, a - 1, -1) if abs(samples[k]) > limit), None)
    if last is None or b - last < 50 * _WINDOW:
        return None
    return start + (last + 1) / AUDIO_RATE


def audio_gaps(samples: array.array[int], start: float, after: float, until: float, *,
               floor_db: float, window: float = 0.01) -> list[tuple[float, float]]:
    """(file time, duration) of each run of ``window``-long stretches quieter than ``floor_db``
    in [after, until): with a room tone playing throughout, sound that went missing."""
    limit = 32768 * 10 ** (floor_db / 20)
    n = max(1, int(window * AUDIO_RATE))
    a = max(0, int((after - start) * AUDIO_RATE))
    b = min(len(samples), int((until - start) * AUDIO_RATE))
    gaps: list[tuple[float, float]] = []
    run_from: int | None = None
    for i in range(a, b - n + 1, n):
        quiet = max(samples[i:i + n]) <= limit and -min(samples[i:i + n]) <= limit
        if quiet and run_from is None:
            run_from = i
        elif not quiet and run_from is not None:
            gaps.append((start + run_from / AUDIO_RATE, (i - run_from) / AUDIO_RATE))
            run_from = None
    if run_from is not None:
        gaps.append((start + run_from / AUDIO_RATE, (b - run_from) / AUDIO_RATE))
    if b < int((until - start) * AUDIO_RATE):  # the sound stops before the span does
        gaps.append((start + b / AUDIO_RATE, until - start - b / AUDIO_RATE))
    return gaps


def av_offsets(mp4: Path, truth: dict[str, Any], origin: float, *,
               sound: tuple[float, array.array[int]] | None = None) -> list[AvOffset]:
    """One A/V offset per speech onset the marker announced (flip to white). ``sound``: the file's
    ``audio_samples`` if already decoded."""
    rect = truth.get("sync_marker_rect")
    flips = [f for f in truth.get("sync_flips", []) if f.get("on")]
    if not rect or not flips:
        return []
    levels = marker_levels(mp4, rect)
    ramp = float(rect.get("ramp_ms") or 0) / 1000
    start, samples = sound or audio_samples(mp4)
    out = []
    for flip in flips:
        expect = float(flip["t"]) - origin
        marker, precise = _marker_onset(levels, expect, ramp)
        if marker is None:
            continue
        onset = audio_onset(samples, start, expect - 0.4, expect + 0.4)
        if onset is None:
            continue
        out.append(AvOffset(at=onset, offset=onset - marker, precise=precise,
                            audio_late=onset - expect, video_late=marker - expect))
    return out


def _marker_onset(levels: list[tuple[float, float]], expect: float,
                  ramp: float) -> tuple[float | None, bool]:
    """When the marker began to light near ``expect``: from a frame inside the fade if there is
    one, else the midpoint between the last dark frame and the first lit one."""
    for (t0, l0), (t1, l1) in itertools.pairwise(levels):
        if not (expect - 0.6 <= t1 <= expect + 0.6 and l0 < 8 and l1 > 8):
            continue
        if ramp > 0:
            for t, lum in levels:
                if t1 <= t <= t1 + ramp and 8 < lum < 247:
                    return t - ramp * lum / 255, True
                if t > t1 + ramp:
                    break
        if l1 > 192:
            return (t0 + t1) / 2, False
    return None, False


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "mean": statistics.fmean(values), "median": statistics.median(values),
            "p95_abs": sorted(abs(v) for v in values)[min(len(values) - 1, round(0.95 * (len(values) - 1)))],
            "min": ordered[0], "max": ordered[-1], "p95": p95}


def _matches(timeline: list[dict[str, Any]], truth: dict[str, Any],
             origin: float) -> list[tuple[int, dict[str, Any], float, float]]:
    """(index in the truth's speech, the timeline entry, said start, said end), file times, for
    each utterance that has an entry: same speaker, overlapping it most."""
    out = []
    for i, said in enumerate(truth.get("speech", [])):
        s, e = said["start"] - origin, (said["end"] or said["start"]) - origin
        best, overlap = None, 0.0
        for seg in timeline:
            if seg["speaker_name"] != said["speaker"]:
                continue
            ov = min(e, seg["end_time_seconds"]) - max(s, seg["start_time_seconds"])
            if ov > overlap:
                best, overlap = seg, ov
        if best is not None:
            out.append((i, best, s, e))
    return out


def timeline_errors(timeline: list[dict[str, Any]], truth: dict[str, Any],
                    origin: float) -> tuple[list[float], list[float]]:
    """Start and end errors (seconds) of each timeline entry against the speech it matches, as the
    page dated it."""
    matched = _matches(timeline, truth, origin)
    return ([seg["start_time_seconds"] - s for _, seg, s, _ in matched],
            [seg["end_time_seconds"] - e for _, seg, _, e in matched])


def heard_errors(mp4: Path, timeline: list[dict[str, Any]], truth: dict[str, Any], origin: float, *,
                 sound: tuple[float, array.array[int]] | None = None) -> tuple[list[float], list[float]]:
    """Start and end errors (seconds) of each timeline entry against the voice it matches as the
    recording has it: its onset and release found in the decoded sound near where the page said,
    bounded by the neighbouring utterances. Utterances whose voice is not found apart from the
    others (overlapping, inaudible) are left out. ``sound``: as for ``av_offsets``."""
    start, samples = sound or audio_samples(mp4)
    speech = truth.get("speech", [])
    said_at = [(u["start"] - origin, (u["end"] or u["start"]) - origin) for u in speech]
    starts, ends = [], []
    for i, seg, s, e in _matches(timeline, truth, origin):
        before = max((pe for j, (_, pe) in enumerate(said_at) if j != i and pe <= s + 0.05), default=-1.0)
        after = min((ps for j, (ps, _) in enumerate(said_at) if j != i and ps >= e - 0.05), default=1e9)
        onset = audio_onset(samples, start, max(s - 0.4, before + 0.02), s + 0.4)
        release = audio_release(samples, start, e - 0.4, min(e + 0.4, after - 0.02))
        if onset is not None:
            starts.append(seg["start_time_seconds"] - onset)
        if release is not None:
            ends.append(seg["end_time_seconds"] - release)
    return starts, ends
