"""The A/V self-test measures the sound's lateness Chromium actually adds, not one assumed.

Run twice on real Chromium, Xvfb, PulseAudio and ffmpeg: with Chromium's default output buffer and
with ``--audio-buffer-size=4096``, which independent meeting pages showed to make the sound
283-413 ms late. The self-test must see the difference (the later switch wins, so the flag is
given as an extra argument), and its picture lateness must stay a compositor frame or two.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.av_selftest import PROBES, AvPath, measure_av_path
from bot.recorder import Recorder
from tests.recorder.bot_media import HEIGHT, WIDTH, bot_media

pytestmark = pytest.mark.media


async def _noop(_: Path) -> None:
    return None


async def measure(tmp: Path, extra: list[str]) -> AvPath:
    async with bot_media(tmp, extra) as m:
        assert m.browser.page is not None

        def make(where: Path) -> Recorder:
            return Recorder(display=m.display.name, width=WIDTH, height=HEIGHT, fps=15,
                            audio_env=m.sink.client_env(), monitor=m.sink.monitor, work_dir=where,
                            preset="veryfast", audio_bitrate="128k", segment_seconds=2,
                            stop_timeout=10, on_segment=_noop)

        return await measure_av_path(m.browser.page, make, tmp / "probe")


async def test_the_self_test_sees_the_output_buffer_chromium_was_given(tmp_path: Path) -> None:
    default = await measure(tmp_path / "default", [])
    big = await measure(tmp_path / "big", ["--audio-buffer-size=4096"])
    for av in (default, big):
        assert av.probes == PROBES, av
        assert av.spread < 0.03, av  # the probes of one test agree
        assert av.picture_late is not None and -0.05 < av.picture_late < 0.08, av
    assert 0.0 < default.sound_late < 0.12, default
    assert big.sound_late - default.sound_late > 0.15, (default, big)
    # Chromium's own figure for the bigger buffer is well short of what it costs.
    assert big.base_latency is not None and big.base_latency < big.sound_late - 0.1, big
