"""The watch and embed pages in real Chromium: the HLS plays, the bars match the timeline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.lifecycle import Phase, Status
from core.urls import player_url, stream_url
from status.store import MeetingRecord, Result
from tests.server.support import running_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
TIMELINE = [
    {"speaker_name": "Alice", "start_time_seconds": 0.5, "end_time_seconds": 2.5},
    {"speaker_name": "Bob", "start_time_seconds": 3.0, "end_time_seconds": 4.5},
    {"speaker_name": "Alice", "start_time_seconds": 5.0, "end_time_seconds": 7.0},
    {"speaker_name": "Carol", "start_time_seconds": 7.5, "end_time_seconds": 9.5},
]
DURATION = 10.0
LINES = [{"speaker": "Alice", "start": 0.6, "end": 2.4, "text": "let us review the design"},
         {"speaker": "Bob", "start": 3.1, "end": 4.4, "text": "i like the colors"},
         {"speaker": "Carol", "start": 7.6, "end": 9.4, "text": "the buttons are small"}]


async def make_hls(out: Path) -> None:
    """10 s of H.264 + AAC in 2 s segments, laid out as a bot's store would have it."""
    (out / "hls").mkdir(parents=True)
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc=s=640x360:r=15:d={DURATION}",
        "-f", "lavfi", "-i", f"sine=f=440:d={DURATION}", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-g", "30", "-c:a", "aac", "-f", "hls", "-hls_time", "2",
        "-hls_list_size", "0", "-hls_segment_filename", str(out / "hls" / "seg_%05d.ts"),
        str(out / "hls" / "playlist.m3u8"))
    assert await proc.wait() == 0


@pytest.fixture
async def recording(tmp_path: Path) -> Any:
    async with running_server(tmp_path) as (url, store, _bots):
        out = tmp_path / "rec"
        await make_hls(out)
        # As a transcribed meeting leaves them beside its recording.
        (out / "transcript.json").write_text(json.dumps({"engine": "test", "words": [], "lines": LINES}))
        (out / "captions.vtt").write_text(
            "WEBVTT\n\n" + "\n".join(f"00:00:0{ln['start']:.3f} --> 00:00:0{ln['end']:.3f}\n"
                                       f"<v {ln['speaker']}>{ln['text']}\n" for ln in LINES))
        rec = MeetingRecord(meeting_id="mt-watch", video_id="m-watch", meeting_url="https://meet.google.com/a",
                            bot_name="Bot", meeting_title="Design <review>", output_dir=str(out))
        await store.create(rec)
        await store.record_phase(rec.meeting_id, Phase.IN_CALL_RECORDING, 1.0,
                                 {"stream_url": stream_url(url, rec.video_id),
                                  "player_url": player_url(url, rec.video_id)})
        await store.finish(rec.meeting_id, Result(status=Status.DONE, reason="meeting_ended",
                                                  speaker_timeline=TIMELINE, duration=DURATION))
        yield url, rec


@pytest.fixture
async def page() -> Any:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield await browser.new_page(viewport={"width": 1100, "height": 900})
        await browser.close()


async def test_media_is_served_over_http_and_nothing_else(recording: Any) -> None:
    url, rec = recording
    async with httpx.AsyncClient() as http:
        pl = await http.get(stream_url(url, rec.video_id))
        assert pl.status_code == 200 and pl.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert "#EXT-X-ENDLIST" in pl.text
        seg = await http.get(f"{url}/media/{rec.video_id}/hls/seg_00000.ts")
        assert seg.status_code == 200 and seg.headers["content-type"] == "video/mp2t"
        for key in ("result.json", "hls/../job.json", "../x"):
            assert (await http.get(f"{url}/media/{rec.video_id}/{key}")).status_code == 404
        assert (await http.get(f"{url}/watch", params={"v": "m-missing"})).status_code == 404


@pytest.mark.parametrize(("path", "hlsjs"), [("watch", True), ("embed", True), ("watch", False)])
async def test_the_page_plays_the_stream_and_draws_the_timeline(recording: Any, page: Any, path: str,
                                                                hlsjs: bool) -> None:
    url, rec = recording
    if not hlsjs:  # without the vendored hls.js, Chromium's own HLS playback takes over
        await page.route("**/static/hls.min.js", lambda route: route.abort())
    await page.goto(f"{url}/{path}?v={rec.video_id}")
    assert "Design <review>" in await page.title()
    await page.wait_for_function("document.getElementById('video').currentTime > 1.5", timeout=20000)
    t1 = await page.evaluate("document.getElementById('video').currentTime")
    await asyncio.sleep(1.0)
    t2 = await page.evaluate("document.getElementById('video').currentTime")
    assert t2 > t1, (t1, t2)
    engine = await page.evaluate("window.meetbotPlayer.engine")
    assert engine == ("hls.js" if hlsjs else "native")
    bars = await page.evaluate("""() => [...document.querySelectorAll('.bar')].map(b => {
        const track = b.parentElement.getBoundingClientRect(), r = b.getBoundingClientRect();
        return {speaker: b.dataset.speaker, start: +b.dataset.start, end: +b.dataset.end,
                left: (r.left - track.left) / track.width, width: r.width / track.width,
                colour: getComputedStyle(b).backgroundColor};
    })""")
    rows = await page.evaluate("[...document.querySelectorAll('.row')].map(r => r.dataset.speaker)")
    assert rows == ["Alice", "Bob", "Carol"]
    by = sorted(bars, key=lambda b: b["start"])
    assert [(b["speaker"], b["start"], b["end"]) for b in by] == [
        (s["speaker_name"], s["start_time_seconds"], s["end_time_seconds"]) for s in TIMELINE]
    for bar, seg in zip(by, TIMELINE, strict=True):
        assert abs(bar["left"] - seg["start_time_seconds"] / DURATION) < 0.01, bar
        want = (seg["end_time_seconds"] - seg["start_time_seconds"]) / DURATION
        assert abs(bar["width"] - want) < 0.01, bar
    colours = {b["speaker"]: b["colour"] for b in bars}
    assert len(set(colours.values())) == 3  # one colour per speaker
    assert all(b["colour"] == colours[b["speaker"]] for b in bars)
    print(f"{path}: playback via {engine}, currentTime {t1:.2f} -> {t2:.2f}")


async def test_the_transcript_panel_follows_and_seeks(recording: Any, page: Any) -> None:
    url, rec = recording
    await page.goto(f"{url}/watch?v={rec.video_id}")
    await page.wait_for_function("document.querySelectorAll('#transcript .line').length === 3", timeout=10000)
    rows = await page.evaluate("""[...document.querySelectorAll('#transcript .line')].map(r =>
        [r.querySelector('.who').textContent, r.children[2].textContent, +r.dataset.start])""")
    assert rows == [[ln["speaker"], ln["text"], ln["start"]] for ln in LINES]
    # The speaker's name has the colour of their timeline row.
    same = await page.evaluate("""() => {
        const bar = [...document.querySelectorAll('.bar')].find(b => b.dataset.speaker === 'Bob');
        const who = [...document.querySelectorAll('#transcript .who')].find(w => w.textContent === 'Bob');
        return getComputedStyle(bar).backgroundColor === getComputedStyle(who).color; }""")
    assert same
    await page.wait_for_function("document.getElementById('video').readyState >= 1", timeout=20000)
    await page.click("#transcript .line:nth-child(3)")
    await page.wait_for_function("Math.abs(document.getElementById('video').currentTime - 7.6) < 1.0",
                                 timeout=10000)
    await page.wait_for_function("document.querySelector('#transcript .line.now') !== null", timeout=10000)
    tracks = await page.evaluate("[...document.querySelectorAll('video track')].map(t => t.kind)")
    assert tracks == ["captions"]
