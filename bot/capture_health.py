"""Overload seen while it happens: frames the recorder captured against those it should have, and
the sound's dropouts.

Under CPU overload x11grab falls behind and frames are never captured, and Chromium's audio output
runs dry (the sink then plays exact zeros for a few tens of ms: a dropout, which the recorder
counts). The recording still plays, stuttering, and nothing stops the job, so it must be said:
logged when first seen, and reported in the callback's warnings and the stats with the figures.
(ffmpeg's own ``speed`` is no guide here: with the capture's wall-clock timestamps it starts far
above 1.) Sound went first on the density benchmark, with a core still idle.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger("meetbot.health")

WINDOW_S = 10.0
LOST_WARN = 0.05
"""Frames missing from a window beyond this share is overload, not jitter."""
SOUND_LOST_WARN = 0.005
"""Sound lost to dropouts beyond this share (50 ms in a 10 s window) is overload..."""
SOUND_DROPOUTS_WARN = 2
"""...when it took at least this many dropouts (one can be a stream's own edge)."""


@dataclass
class CaptureHealth:
    fps: int | None
    """None: sound only, no frames to count."""
    frames: float = 0.0
    expected: float = 0.0
    worst_window_lost: float = 0.0
    last_window_lost: float = 0.0
    dropouts: int = 0
    dropout_s: float = 0.0
    """Sound dropouts in the windows judged so far (``conclude`` puts the whole recording's)."""
    worst_window_sound_lost: float = 0.0
    last_window_sound_lost: float = 0.0
    warnings: list[str] = field(default_factory=list)
    _window: tuple[float, float, int, float] | None = None
    """(time, frame count, dropouts, dropout seconds) at the window's start."""
    _frames_warned: bool = False
    _sound_warned: bool = False

    def sample(self, progress: dict[str, float], sound: tuple[int, float],
               now: float | None = None) -> bool:
        """One look at the recorder's ``health()`` and ``dropouts``; windows of WINDOW_S seconds
        are judged. True when this look closed a window (new figures)."""
        now = time.time() if now is None else now
        frame = progress.get("frame", 0.0) if self.fps else 0.0
        if self.fps and "frame" not in progress:
            return False
        count, lost_s = sound
        w = self._window
        if w is None or frame < w[1] or count < w[2]:  # a new span restarts the counts
            self._window = (now, frame, count, lost_s)
            return False
        t0, f0, c0, s0 = w
        if now - t0 < WINDOW_S:
            return False
        if self.fps:
            self._judge_frames(now - t0, frame - f0)
        self._judge_sound(now - t0, count - c0, lost_s - s0)
        self._window = (now, frame, count, lost_s)
        return True

    def _judge_frames(self, span: float, got: float) -> None:
        assert self.fps
        want = span * self.fps
        self.frames += got
        self.expected += want
        lost = max(0.0, 1 - got / want)
        self.last_window_lost = lost
        self.worst_window_lost = max(self.worst_window_lost, lost)
        if lost > LOST_WARN and not self._frames_warned:
            self._frames_warned = True
            self.warnings.append(
                f"overload: {lost:.0%} of the video frames were not captured over {span:.0f} s "
                f"({got:.0f} of {want:.0f}); the picture stutters")
            log.warning("overload: frames not captured", extra={"lost": round(lost, 3)})

    def _judge_sound(self, span: float, count: int, lost_s: float) -> None:
        self.dropouts += count
        self.dropout_s += lost_s
        share = lost_s / span
        self.last_window_sound_lost = share
        self.worst_window_sound_lost = max(self.worst_window_sound_lost, share)
        if share > SOUND_LOST_WARN and count >= SOUND_DROPOUTS_WARN:
            self._warn_sound(count, lost_s, span)

    def _warn_sound(self, count: int, lost_s: float, span: float) -> None:
        if self._sound_warned:
            return
        self._sound_warned = True
        self.warnings.append(
            f"overload: the sound dropped out {count} times over {span:.0f} s ({lost_s * 1000:.0f} ms, "
            f"{lost_s / span:.1%}): the bot's audio output ran dry, the recording has gaps")
        log.warning("overload: sound dropouts", extra={"dropouts": count, "lost_ms": round(lost_s * 1000),
                                                       "over_s": round(span, 1)})

    def conclude(self, count: int, lost_s: float, recorded_s: float) -> None:
        """The whole recording's dropouts (every span's recorder), judged as one window."""
        self.dropouts, self.dropout_s = count, lost_s
        if recorded_s > 0 and lost_s / recorded_s > SOUND_LOST_WARN and count >= SOUND_DROPOUTS_WARN:
            self._warn_sound(count, lost_s, recorded_s)

    def figures(self) -> dict[str, float]:
        out = {"sound_dropouts": self.dropouts, "sound_dropout_s": round(self.dropout_s, 3),
               "worst_window_sound_lost": round(self.worst_window_sound_lost, 4),
               "last_window_sound_lost": round(self.last_window_sound_lost, 4)}
        if self.fps:
            out.update({"frames_captured": round(self.frames), "frames_expected": round(self.expected),
                        "worst_window_lost": round(self.worst_window_lost, 3),
                        "last_window_lost": round(self.last_window_lost, 3)})
        return out
