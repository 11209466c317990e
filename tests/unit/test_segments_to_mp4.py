"""Segments -> MP4: the picture and the sound stay together however many segments there are.

The recorder's segments are HLS TS files on one continuous clock. Joined file by file, each file
was placed after the previous one's duration, which exceeds the segment by its last frame and
the sound's overhang: the picture stretched by ~0.5 % while players take the sound sample by
sample, so the sound ran ahead of the picture further with every segment.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from media.ffmpeg import probe
from media.hls import Segment, concat_to_mp4, runs_of, segment_durations
from simulator.measure import audio_onset, audio_samples, marker_levels
from tests.support.hls_runs import LAG, SIZE, make_segments

pytestmark = pytest.mark.unit

def av_offsets(mp4: Path) -> list[float]:
    levels = marker_levels(mp4, {"x": 0, "y": 0, "w": SIZE[0], "h": SIZE[1]},
                           width=SIZE[0], height=SIZE[1])
    flashes = [t for (_, a), (t, b) in itertools.pairwise(levels) if a < 128 <= b]
    start, samples = audio_samples(mp4)
    out = []
    for t in flashes:
        onset = audio_onset(samples, start, t - 0.4, t + 0.4)
        assert onset is not None, f"no beep near the flash at {t:.2f} s"
        out.append(onset - t - LAG)
    return out


async def test_a_long_run_keeps_sound_and_picture_together(tmp_path: Path) -> None:
    files = make_segments(tmp_path / "run", 40, offset=1000)
    assert len(files) >= 20
    mp4 = tmp_path / "out.mp4"
    await concat_to_mp4([files], mp4)
    offsets = av_offsets(mp4)
    assert len(offsets) == 20, offsets
    # Beep and flash begin together; joined file by file, the sound came 5-20 ms earlier with
    # every segment (-0.2 s by the end here).
    assert all(abs(o) < 0.01 for o in offsets), [round(o, 4) for o in offsets]


async def test_runs_follow_each_other_and_the_sound_stays_with_the_picture(tmp_path: Path) -> None:
    first = make_segments(tmp_path / "a", 10, offset=1000)
    second = make_segments(tmp_path / "b", 10, offset=5000)  # a new run restarts its clock
    mp4 = tmp_path / "out.mp4"
    lengths = [sum(segment_durations(f[0].parent / "playlist.m3u8").values()) for f in (first, second)]
    await concat_to_mp4([first, second], mp4, lengths=lengths)
    offsets = av_offsets(mp4)
    assert len(offsets) == 10, offsets
    assert all(abs(o) < 0.01 for o in offsets), [round(o, 4) for o in offsets]
    duration = float((await probe(mp4))["format"]["duration"])
    assert 19.9 < duration < 20.3


async def test_a_path_the_concat_protocol_cannot_take_is_joined_first(tmp_path: Path) -> None:
    files = make_segments(tmp_path / "odd|dir", 6, offset=1000)
    mp4 = tmp_path / "out.mp4"
    await concat_to_mp4([files], mp4)
    assert len(av_offsets(mp4)) == 3
    assert not list((tmp_path).glob("out.run*.ts")), "the joined scratch file is removed"


def test_segments_group_into_runs_in_order() -> None:
    segs = [Segment("a", 2, 0, 0, 0), Segment("b", 2, 2, 0, 0), Segment("c", 2, 9, 0, 1),
            Segment("d", 2, 20, 1, 2), Segment("e", 2, 22, 1, 2)]
    assert [[s.name for s in r] for r in runs_of(segs)] == [["a", "b"], ["c"], ["d", "e"]]
