"""The RTSP relay's pure parts: what readers get of an announced SDP, transports, track URLs."""

from __future__ import annotations

import pytest

from tests.support import rtsp_relay as relay

pytestmark = pytest.mark.unit

# What ffmpeg 5.1 announces for H.264 + AAC (-f rtsp).
ANNOUNCED = "\r\n".join([
    "v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=No Name", "c=IN IP4 127.0.0.1", "t=0 0",
    "a=tool:libavformat 59.27.100",
    "m=video 0 RTP/AVP 96", "b=AS:600", "a=rtpmap:96 H264/90000",
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkAoC/5YQAAAwABAAADAB4PFi5I,aMuDyyA=",
    "a=control:streamid=0",
    "m=audio 0 RTP/AVP 97", "b=AS:64", "a=rtpmap:97 MPEG4-GENERIC/48000/1",
    "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=1188",
    "a=control:streamid=1", ""])


def test_tracks_are_read_from_the_announced_sdp() -> None:
    tracks = relay.tracks_of(ANNOUNCED)
    assert [(t.index, t.kind, t.codec, t.control) for t in tracks] == [
        (0, "video", "H264", "streamid=0"), (1, "audio", "MPEG4-GENERIC", "streamid=1")]


def test_readers_get_the_sdp_with_track_controls_and_no_publisher_address() -> None:
    sdp = relay.describe_sdp(ANNOUNCED)
    lines = sdp.split("\r\n")
    assert "a=control:trackID=0" in lines and "a=control:trackID=1" in lines
    assert not any("streamid" in ln for ln in lines)
    assert "c=IN IP4 0.0.0.0" in lines
    # the codec parameters pass through untouched
    assert any("sprop-parameter-sets=Z0LAHtkA" in ln for ln in lines)
    assert lines.index("a=control:trackID=0") < lines.index("m=audio 0 RTP/AVP 97")


def test_setup_urls_name_their_track() -> None:
    r = relay.Relay("127.0.0.1")
    tracks = relay.tracks_of(ANNOUNCED)
    assert r.split_track("rtsp://127.0.0.1:8554/cam1/streamid=1", tracks) == ("cam1", 1)
    assert r.split_track("rtsp://127.0.0.1:8554/site/cam1/trackID=0", []) == ("site/cam1", 0)
    assert r.split_track("rtsp://127.0.0.1:8554/cam1", []) == ("cam1", None)


def test_transports_are_parsed_from_the_first_offer() -> None:
    tcp = relay.parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3;mode=record")
    assert tcp == {"profile": "RTP/AVP/TCP", "unicast": "", "interleaved": "2-3", "mode": "record"}
    udp = relay.parse_transport("RTP/AVP;unicast;client_port=5000-5001, RTP/AVP/TCP;unicast")
    assert udp["profile"] == "RTP/AVP" and udp["client_port"] == "5000-5001"


def test_a_bye_is_a_valid_rtcp_packet() -> None:
    bye = relay.rtcp_bye(0x01020304)
    assert bye == bytes([0x81, 203, 0, 1, 1, 2, 3, 4])


def test_responses_carry_cseq_and_length() -> None:
    raw = relay.response(200, "OK", "7", {"Session": "abc"}, b"v=0\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"RTSP/1.0 200 OK"
    assert b"CSeq: 7" in head and b"Content-Length: 5" in head and body == b"v=0\r\n"
