"""What the test publishers send: codec variants, changes for a restart, ffmpeg command lines."""

from __future__ import annotations

import pytest

from tests.support.media import (
    AUDIO_ONLY,
    FLV1_MP3,
    H264_AAC,
    MPEG4_MP3,
    MPEG4_OPUS,
    check_supported,
    publisher_command,
)

pytestmark = pytest.mark.unit


def test_the_default_is_copyable_h264_aac_small_and_slow() -> None:
    assert (H264_AAC.video, H264_AAC.audio, H264_AAC.size, H264_AAC.fps) == ("h264", "aac", (640, 360), 15)
    assert H264_AAC.is_copyable and AUDIO_ONLY.is_copyable
    assert not MPEG4_MP3.is_copyable and not FLV1_MP3.is_copyable


def test_a_restart_can_change_size_and_codecs() -> None:
    changed = H264_AAC.but(size=(320, 240), video="hevc")
    assert (changed.width, changed.height, changed.video, changed.audio) == (320, 240, "hevc", "aac")
    assert H264_AAC.size == (640, 360)  # unchanged


def test_each_protocol_refuses_what_it_cannot_carry() -> None:
    check_supported(MPEG4_OPUS, "rtsp")
    check_supported(MPEG4_MP3, "hls")
    check_supported(FLV1_MP3, "rtmp")
    with pytest.raises(ValueError, match="rtmp cannot carry mpeg4"):
        check_supported(MPEG4_MP3, "rtmp")
    with pytest.raises(ValueError, match="opus"):
        check_supported(H264_AAC.but(audio="opus"), "rtmp")
    with pytest.raises(ValueError, match="video or audio"):
        check_supported(AUDIO_ONLY.but(audio=None), "rtsp")


def test_the_h264_publisher_is_cheap_and_keyframes_regularly() -> None:
    cmd = publisher_command(H264_AAC, ["-f", "rtsp", "rtsp://127.0.0.1:1/x"], gop=30)
    line = " ".join(cmd)
    assert cmd[0] == "ffmpeg" and cmd[-1] == "rtsp://127.0.0.1:1/x"
    assert "testsrc=size=640x360:rate=15" in line and "sine=frequency=440" in line
    assert "-c:v libx264 -preset ultrafast -tune zerolatency" in line
    assert "-g 30 -keyint_min 30" in line and "-c:a aac" in line
    assert line.count("-re") == 2


def test_audio_only_has_no_video_input() -> None:
    cmd = publisher_command(AUDIO_ONLY, ["-f", "hls", "x.m3u8"])
    assert "testsrc" not in " ".join(cmd) and "-vn" in cmd
    assert cmd[cmd.index("-map") + 1] == "0:a:0"


def test_other_codecs_use_their_encoders() -> None:
    other = publisher_command(MPEG4_OPUS, ["o"])
    assert "mpeg4" in other and "libopus" in other
    assert "libmp3lame" in publisher_command(MPEG4_MP3, ["o"])
    assert "flv" in publisher_command(FLV1_MP3, ["o"])
    assert "libx265" in publisher_command(H264_AAC.but(video="hevc"), ["o"])
