"""A job's capture options: the sound only, or the picture at another size and rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulator.measure import timeline_errors
from tests.e2e.test_platforms import SPEECH, build, meet_code, record
from tests.helpers import ffprobe, stream

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

SHORT = {"lobby": {"mode": "open"}, "speech": SPEECH[:2], "end": {"kind": "host_ended", "at": 6.5}}


async def test_an_audio_only_job_records_the_sound_and_the_timeline_without_a_picture(
        simulator: Any, tmp_path: Path) -> None:
    sc = build("meet", meet_code(), {}, **SHORT)
    out = tmp_path / "rec"
    rc, log, body, truth = await record(simulator, sc, sc.public_url("meet"), out, "--audio-only",
                                        env={"MEETBOT_PUBLIC_URL": "http://127.0.0.1:1"})
    assert rc == 0 and body["success"] is True, log[-3000:]
    info = ffprobe(out / "recording.mp4")
    assert [s["codec_type"] for s in info["streams"]] == ["audio"], info["streams"]
    assert stream(info, "audio")["codec_name"] == "aac"
    in_call = truth["ended_at"] - truth["admitted_at"]
    assert abs(float(info["format"]["duration"]) - in_call) < 1.0
    assert "capture=sound only" in log, log[-3000:]
    data = body["data"]
    assert data["player_url"] is None and data["stream_url"].endswith("/hls/playlist.m3u8"), data
    assert [s["speaker_name"] for s in data["speaker_timeline"]] == ["Alice", "Bob"]
    starts, _ = timeline_errors(data["speaker_timeline"], truth, body["recording_started_at"])
    assert all(abs(e) < 0.25 for e in starts), starts
    assert not any("overload" in w for w in body["warnings"]), body["warnings"]


async def test_a_job_sets_the_pictures_size_and_rate(simulator: Any, tmp_path: Path) -> None:
    sc = build("meet", meet_code(), {}, **SHORT)
    out = tmp_path / "rec"
    rc, log, body, _ = await record(simulator, sc, sc.public_url("meet"), out,
                                    "--video-size", "640x360", "--fps", "10")
    assert rc == 0 and body["success"] is True, log[-3000:]
    assert "capture=640x360@10" in log, log[-3000:]
    info = ffprobe(out / "recording.mp4")
    v = stream(info, "video")
    assert (v["width"], v["height"]) == (640, 360)
    rate = int(v["nb_frames"]) / float(v["duration"])
    assert 9.0 < rate < 10.5, rate
    assert [s["speaker_name"] for s in body["data"]["speaker_timeline"]] == ["Alice", "Bob"]
