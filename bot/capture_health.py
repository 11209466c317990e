"""Overload seen while it happens: the recorder's frame count against the frames it should have.

Under CPU overload x11grab falls behind and frames are never captured: the recording still plays,
with the picture stuttering, and nothing stops the job, so it must be said: logged when first
seen, and reported in the callback's warnings and the stats with the figures. (ffmpeg's own
``speed`` is no guide here: with the capture's wall-clock timestamps it starts far above 1.)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger("meetbot.health")

WINDOW_S = 10.0
LOST_WARN = 0.05
"""Frames missing from a window beyond this share is overload, not jitter."""


@dataclass
class CaptureHealth:
    fps: int
    frames: float = 0.0
    expected: float = 0.0
    worst_window_lost: float = 0.0
    last_window_lost: float = 0.0
    warnings: list[str] = field(default_factory=list)
    _window: tuple[float, float] | None = None
    """(time, frame count) at the window's start."""

    def sample(self, progress: dict[str, float], now: float | None = None) -> bool:
        """One look at the recorder's ``health()``; windows of WINDOW_S seconds are judged.
        True when this look closed a window (new figures)."""
        now = time.time() if now is None else now
        frame = progress.get("frame")
        if frame is None:
            return False
        if self._window is None or frame < self._window[1]:  # a new span restarts the count
            self._window = (now, frame)
            return False
        t0, f0 = self._window
        if now - t0 < WINDOW_S:
            return False
        want = (now - t0) * self.fps
        got = frame - f0
        self.frames += got
        self.expected += want
        lost = max(0.0, 1 - got / want)
        self.last_window_lost = lost
        self.worst_window_lost = max(self.worst_window_lost, lost)
        if lost > LOST_WARN and not self.warnings:
            msg = (f"overload: {lost:.0%} of the video frames were not captured over {now - t0:.0f} s "
                   f"({got:.0f} of {want:.0f}); the picture stutters")
            self.warnings.append(msg)
            log.warning("overload: frames not captured", extra={"lost": round(lost, 3)})
        self._window = (now, frame)
        return True

    def figures(self) -> dict[str, float]:
        return {"frames_captured": round(self.frames), "frames_expected": round(self.expected),
                "worst_window_lost": round(self.worst_window_lost, 3),
                "last_window_lost": round(self.last_window_lost, 3)}

