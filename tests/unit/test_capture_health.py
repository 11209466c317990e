"""Overload is said when frames go missing, not on capture jitter."""

from __future__ import annotations

import pytest

from bot.capture_health import CaptureHealth

pytestmark = pytest.mark.unit


def feed(health: CaptureHealth, per_second: list[float], start: float = 1000.0) -> None:
    frames = 0.0
    for i, fps in enumerate(per_second):
        health.sample({"frame": frames}, now=start + i)
        frames += fps
    health.sample({"frame": frames}, now=start + len(per_second))


def test_a_steady_capture_with_jitter_is_not_overload() -> None:
    health = CaptureHealth(fps=15)
    feed(health, [15, 14, 16, 15, 14.5, 15, 15, 14, 16, 15] * 3)
    assert health.warnings == []
    figures = health.figures()
    assert figures["frames_expected"] == 450 and figures["worst_window_lost"] < 0.02


def test_frames_missing_for_a_window_are_reported_once_with_figures() -> None:
    health = CaptureHealth(fps=15)
    feed(health, [15] * 10 + [10] * 20 + [15] * 10)
    [warning] = health.warnings
    assert "33% of the video frames were not captured" in warning and "100 of 150" in warning
    assert health.figures()["worst_window_lost"] == pytest.approx(1 / 3, abs=0.01)


def test_a_new_span_restarts_the_count() -> None:
    health = CaptureHealth(fps=15)
    feed(health, [15] * 10)
    feed(health, [15] * 10, start=2000.0)  # the frame counter starts again at 0
    assert health.warnings == [] and health.figures()["frames_captured"] == 300
