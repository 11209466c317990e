"""Overload is said when frames go missing or the sound drops out, not on capture jitter."""

from __future__ import annotations

import pytest

from bot.capture_health import CaptureHealth

pytestmark = pytest.mark.unit


def feed(health: CaptureHealth, per_second: list[float], start: float = 1000.0,
         dropouts: list[tuple[int, float]] | None = None) -> None:
    """``per_second``: frames captured each second; ``dropouts``: (count, seconds) each second."""
    frames, count, lost = 0.0, 0, 0.0
    drops = dropouts or [(0, 0.0)] * len(per_second)
    for i, (fps, (n, s)) in enumerate(zip(per_second, drops, strict=True)):
        health.sample({"frame": frames}, (count, lost), now=start + i)
        frames, count, lost = frames + fps, count + n, lost + s
    health.sample({"frame": frames}, (count, lost), now=start + len(per_second))


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


def test_sound_dropouts_past_half_a_percent_of_a_window_are_overload() -> None:
    health = CaptureHealth(fps=15)
    quiet = [(0, 0.0)] * 10
    # One 20 ms dropout a second for 10 s: 2 % of the window.
    feed(health, [15] * 30, dropouts=[*quiet, *[(1, 0.02)] * 10, *quiet])
    [warning] = health.warnings
    assert "dropped out 10 times over 10 s (200 ms, 2.0%)" in warning
    figures = health.figures()
    assert figures["sound_dropouts"] == 10 and figures["worst_window_sound_lost"] == pytest.approx(0.02)
    assert figures["last_window_sound_lost"] == 0


def test_a_lone_dropout_or_a_few_short_ones_are_not() -> None:
    health = CaptureHealth(fps=None)  # sound only: judged without frames
    feed(health, [0] * 30, dropouts=[(1, 0.06), *[(0, 0.0)] * 14, (1, 0.012), (1, 0.011),
                                     *[(0, 0.0)] * 13])
    assert health.warnings == [] and health.figures()["sound_dropouts"] == 3
    assert "frames_expected" not in health.figures()
    # The whole recording is judged at the end too: dropouts spread thin stay below the line...
    health.conclude(3, 0.083, 30.0)
    assert health.warnings == []
    # ...and ones the windows did not see (the last, partial one) are counted.
    health.conclude(6, 0.4, 30.0)
    [warning] = health.warnings
    assert "dropped out 6 times over 30 s (400 ms, 1.3%)" in warning
