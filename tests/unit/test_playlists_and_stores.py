"""Playlists we write (spans, reconnections, windows, time ranges) and the local store."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import StorageError
from media.hls import ENDLIST, Segment, parse_playlist, render_playlist
from status.sqlite import SqliteStatusStore
from status.streams import Span, StreamRecord, create_stream, get_stream, list_streams, update_stream
from storage import location, open_storage

pytestmark = pytest.mark.unit


def segs() -> list[Segment]:
    return [Segment("s000r000_000000.ts", 2.0, 1000.0, 0, 0),
            Segment("s000r000_000001.ts", 2.0, 1002.0, 0, 0),
            Segment("s000r001_000002.ts", 1.5, 1010.0, 0, 1),   # a reconnection inside span 0
            Segment("s001r002_000003.ts", 2.0, 1100.0, 1, 2)]   # span 1, after a stop and a start


def test_playlist_marks_every_break_and_reads_back() -> None:
    text = render_playlist(segs(), ended=False)
    assert text.count("#EXT-X-DISCONTINUITY\n") == 2 and "#EXT-X-PLAYLIST-TYPE:EVENT" in text
    assert ENDLIST not in text
    assert parse_playlist(text) == segs()
    assert render_playlist(segs(), ended=True).rstrip().endswith(ENDLIST)


def test_a_window_keeps_the_last_segments_and_counts_what_scrolled_away() -> None:
    text = render_playlist(segs(), ended=False, window=2)
    assert "#EXT-X-MEDIA-SEQUENCE:2" in text and "#EXT-X-DISCONTINUITY-SEQUENCE:1" in text
    assert [s.name for s in parse_playlist(text)] == ["s000r001_000002.ts", "s001r002_000003.ts"]


async def test_local_store_writes_atomically_and_refuses_escapes(tmp_path: Path) -> None:
    from core.settings import Settings

    settings = Settings(output_dir=tmp_path)
    uri = location(settings, "streams", "rts-1")
    assert uri == (tmp_path / "streams" / "rts-1").resolve().as_uri()
    store = open_storage(uri, settings, public_url="http://api:8000", asset_id="rts-1")
    url = await store.put_bytes("hls/index.m3u8", b"#EXTM3U\n")
    assert url == "http://api:8000/media/rts-1/hls/index.m3u8"
    assert await store.get_bytes("hls/index.m3u8") == b"#EXTM3U\n" and await store.exists("hls/index.m3u8")
    await store.delete("hls/index.m3u8")
    assert not await store.exists("hls/index.m3u8")
    with pytest.raises(StorageError):
        await store.put_bytes("../../escape", b"x")
    with pytest.raises(StorageError):
        open_storage("ftp://host/x", settings)


async def test_stream_records_update_atomically_and_list_in_order(tmp_path: Path) -> None:
    import asyncio

    store = SqliteStatusStore(tmp_path / "s.db")
    a = StreamRecord(name="cam a", url="rtsp://h/a", storage="file:///x", spans=[Span(index=0, started_at=1)])
    b = StreamRecord(name="cam b", url="rtsp://h/b", storage="file:///y", created_at=a.created_at + 1)
    await create_stream(store, a)
    await create_stream(store, b)

    def bump(r: StreamRecord) -> StreamRecord:
        spans = [s.model_copy(update={"segments": s.segments + 1}) for s in r.spans]
        return r.model_copy(update={"spans": spans})

    # Writers in parallel (a segment landing while another lands) never lose an update.
    await asyncio.gather(*(update_stream(store, a.id, bump) for _ in range(20)))
    got = await get_stream(store, a.id)
    assert got is not None and got.spans[0].segments == 20
    assert [r.id for r in await list_streams(store)] == [a.id, b.id]
    assert await get_stream(store, "rts-unknown") is None


def test_who_spoke_in_each_segment_rides_along_in_the_playlist() -> None:
    turns = (("Alice", 0.0, 0.8), ("Bob, Jr.", 1.2, 2.0))
    said = [Segment("s000r000_000000.ts", 2.0, 1000.0, 0, 0, turns),
            Segment("s000r000_000001.ts", 2.0, 1002.0, 0, 0)]
    text = render_playlist(said, ended=True)
    tag = '#MEETBOT-SPEAKING:[["Alice", 0.0, 0.8], ["Bob, Jr.", 1.2, 2.0]]'
    assert tag in text  # a comment line: players skip it
    assert parse_playlist(text) == said
    assert said[0].speakers_at(1000.5) == ("Alice",) and said[0].speakers_at(1001.0) == ()
    assert said[0].speakers_at(1001.5) == ("Bob, Jr.",)
    assert parse_playlist(text.replace(tag, "#MEETBOT-SPEAKING:x"))[0].speaking == ()


def test_subtitles_follow_the_spans_of_the_stream_each_cue_timed_from_its_span() -> None:
    from core.payloads import TranscriptLine
    from media.hls import render_master, render_subtitles
    from transcription.attribution import webvtt

    lines = [TranscriptLine(speaker="Alice", start=1.0, end=2.5, text="before the pause"),
             TranscriptLine(speaker="Bob", start=12.25, end=13.0, text="after it")]
    first = webvtt(lines, window=(0.0, 10.0), mpegts=900_000)
    second = webvtt(lines, window=(10.0, 20.0), mpegts=45_000)
    assert first.splitlines()[:2] == ["WEBVTT", "X-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000"]
    assert "00:00:01.000 --> 00:00:02.500" in first and "Bob" not in first
    assert "00:00:02.250 --> 00:00:03.000" in second and "<v Bob>after it" in second and "Alice" not in second
    assert webvtt(lines).splitlines()[:2] == ["WEBVTT", ""], "no map for a file on its own clock"
    subs = render_subtitles([("subtitles_000.vtt", 10.0), ("subtitles_001.vtt", 9.5)]).splitlines()
    assert subs[subs.index("subtitles_000.vtt") + 1] == "#EXT-X-DISCONTINUITY"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in subs and subs[-1] == ENDLIST and "#EXT-X-TARGETDURATION:10" in subs
    master = render_master("playlist.m3u8", "subtitles.m3u8", bandwidth=400_000, language="en").splitlines()
    assert master[-2:] == ['#EXT-X-STREAM-INF:BANDWIDTH=400000,SUBTITLES="subs"', "playlist.m3u8"]
    assert 'LANGUAGE="en"' in master[2] and 'URI="subtitles.m3u8"' in master[2]
