"""The platforms' own captions as the transcript, end to end: the bot turns them on, follows what
the page rewrites, and gives each utterance once, final, live and in the callback; where a call has
none (or refuses them) it says so and the local engine transcribes instead."""

from __future__ import annotations

import base64
import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from simulator.scenario import load_scenario
from tests.e2e.bot_run import NO_SELFTEST, meeting_code, run_signed

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

PEOPLE = [{"name": "Alice", "voice": "flite:slt"}, {"name": "Bob", "voice": "flite:rms"}]
# Bob's two turns in a row: a page that merges a speaker's blocks runs them on in one. A page's
# first voice can start up to ~1.2 s late (its audio is still being readied): Bob waits for it, so
# that no two voices overlap (crosstalk is not what these cases are about).
SPEECH = [
    {"speaker": "Alice", "at": 0.8, "text": "Let us review the new design today."},
    {"speaker": "Bob", "at": 4.4, "text": "I like the colours a lot."},
    {"speaker": "Bob", "at": 7.0, "text": "The budget looks fine."},
    {"speaker": "Alice", "at": 9.2, "text": "Good, then we are done."},
]
SECRET = "whsec_" + base64.b64encode(b"captions-test-secret-0123456789").decode()
OUR_LAG_S = 1.0
"""From the page writing an utterance's final text to its event: the follower's settle (0.3 s once
the speaker stopped, 0.7 s while they speak on), its 0.2 s poll, the webhook's delivery."""
CLOCK_WAIT_S = 2.5
"""An utterance final before the recording's first segment is stored is dated once it is."""
CAPTION_LAG_S = 2.5
"""From a voice's end (the truth's date of it) to its transcript.data event: the issue's 2 s p95,
plus the simulated platform's own lag before its last word and its late rewrite (0.5-1.3 s)."""

# (id, platform, captions (scenario), job args, expect captions used)
CASES: list[tuple[str, str, dict[str, Any], list[str], bool]] = [
    ("meet-region-merged-french", "meet", {"shape": "region", "merge": True},
     ["--captions-language", "fr-FR"], True),
    ("meet-legacy-late-fix", "meet",
     {"shape": "legacy", "merge": False, "late_fix_ms": 700, "lag_ms": 800}, [], True),
    ("teams-flat-both", "teams", {"shape": "flat"}, ["--transcript-source", "both"], True),
    ("teams-nested-scrolling", "teams", {"shape": "nested", "keep_blocks": 1, "merge": False}, [], True),
    ("meet-unavailable", "meet", {"available": False}, [], False),
    ("teams-refused", "teams", {"refuse": True}, [], False),
    # Zoom: a line per utterance or one line for all, the speaker an avatar (the name from who spoke).
    ("zoom-overlay", "zoom", {"shape": "overlay"}, [], True),
    ("zoom-single-line", "zoom", {"shape": "single", "merge": False}, ["--transcript-source", "both"], True),
    ("zoom-unavailable", "zoom", {"available": False}, [], False),
]
ENGINE = {"meet": "google_meet", "teams": "teams", "zoom": "zoom"}


def bare_words(text: str) -> list[str]:
    return ["".join(c for c in w.lower() if c.isalnum()) for w in text.split()]


def scenario(platform: str, captions: dict[str, Any], used: bool) -> Any:
    """``used``: the captions are the transcript; otherwise the local engine's fallback is checked,
    on a shorter call (two voices)."""
    code = meeting_code(platform)
    return load_scenario({
        "platform": platform, "meeting_code": code, "title": "Design review", "participants": PEOPLE,
        "lobby": {"mode": "open"}, "speech": SPEECH if used else SPEECH[:2],
        "end": {"kind": "host_ended", "at": 13.2 if used else 7.4},
        "captions": captions})


@pytest.mark.parametrize(("platform", "captions", "args", "used"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_the_platforms_captions_are_the_transcript(simulator: Any, tmp_path: Path, platform: str,
                                                         captions: dict[str, Any], args: list[str],
                                                         used: bool) -> None:
    sc = scenario(platform, captions, used)
    out = tmp_path / "rec"
    live = ["--live-transcript", "--transcript-events"] if used else []
    cb, events, result_at = await run_signed(simulator, sc, out, "--transcript-source", "captions",
                                             "--transcribe", *live, *args, secret=SECRET, env=NO_SELFTEST)
    truth = simulator.truth(sc.meeting_code)
    lines = cb["transcript"]
    if not used:
        # Said, and the local engine heard the call instead.
        assert truth["captions_on_at"] is None
        assert any("captions are not used" in w for w in cb["warnings"]), cb["warnings"]
        engine = json.loads((out / "transcript.json").read_text())["engine"]
        assert engine.startswith(("faster-whisper", "pocketsphinx")), engine
        assert len(lines) >= 2 and not (out / "captions.json").exists()
        return
    assert truth["captions_on_at"] is not None and truth["captions_on_at"] >= truth["admitted_at"]
    if "--captions-language" in args:
        assert truth["captions_language"] == args[args.index("--captions-language") + 1]
    # The page captions the voices that start once its captions are on (the bot's clicks may come
    # as the first one starts): those are the transcript.
    caps = sorted(truth["captions"], key=lambda c: c["index"])
    captioned = {c["index"] for c in caps}
    said = [s for i, s in enumerate(truth["speech"]) if i in captioned]
    assert len(said) >= len(truth["speech"]) - 1, truth["captions"]
    timings = json.loads((out / "stats.json").read_text())["timings"]
    if "both" in args:
        # The captions live; the local engine's transcript after the call, and how far they agree.
        engine = json.loads((out / "transcript.json").read_text())["engine"]
        assert engine.startswith("faster-whisper"), engine
        assert 0 <= timings["captions_vs_local_wer"] < 0.5, timings
        lines = json.loads((out / "captions.json").read_text())
    # Each utterance once, with its speaker, as the page finally wrote it (not an interim word); one
    # whose line the next took over before its last pass (Zoom's one line; the truth says which) as
    # far as it showed.
    scrolled = {n for n, c in enumerate(caps) if c["scrolled"]}
    assert [ln["speaker"] for ln in lines] == [s["speaker"] for s in said], lines
    for i, (ln, s) in enumerate(zip(lines, said, strict=True)):
        if i not in scrolled:
            assert ln["text"] == s["text"], (lines, truth["captions"])
        else:
            shown = bare_words(ln["text"])  # its newest word as heard: one word or two (interim)
            assert len(shown) >= 3 and shown[:-2] == bare_words(s["text"])[:len(shown) - 2], (ln, s)
    origin = cb["recording_started_at"]
    for ln, s in zip(lines, said, strict=True):  # on the recording's clock, the speaker's turn
        start, end = s["start"] - origin, s["end"] - origin
        assert abs(ln["start"] - start) < 0.5 and abs(ln["end"] - end) < 0.8, (ln, start, end)
    if "both" not in args:
        doc = json.loads((out / "transcript.json").read_text())
        assert doc["engine"] == f"captions-{ENGINE[platform]}", doc["engine"]
        assert json.loads((out / "captions.json").read_text()) == lines
    assert timings["captions_on"] == 1 and timings["captions_utterances"] == len(said), timings
    # Live: signed, in order, the same utterances, each soon after its voice ended.
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    spoken = [e for e in events if e["event"] == "transcript.data"]
    assert [(e["data"]["speaker"], e["data"]["text"], e["data"]["source"]) for e in spoken] == \
        [(ln["speaker"], ln["text"], "captions") for ln in lines]
    lags = [e["_at"] - s["end"] for e, s in zip(spoken, said, strict=True)]
    # Ours: from the page writing an utterance's final text (the truth's date) to its event.
    finals = [c["final_at"] for c in caps]
    ours = [e["_at"] - final for i, (e, final) in enumerate(zip(spoken, finals, strict=True))
            if i not in scrolled]
    print(f"captions {platform}/{captions}: lag from the voice's end to its event "
          f"{[round(x, 2) for x in lags]} s (median {statistics.median(lags):.2f}); from the page's "
          f"final text {[round(x, 2) for x in ours]} s")
    assert len(ours) >= len(said) - len(scrolled) - 1, ours
    # The first may wait for the recording's clock (its first segment stored, 2-4 s in); the last
    # for the call's end.
    assert 0 < ours[0] < OUR_LAG_S + CLOCK_WAIT_S and all(0 < x < OUR_LAG_S for x in ours[1:-1]), ours
    # A slower page (its own lag and late pass beyond the defaults) is slower by as much.
    bound = CAPTION_LAG_S + (max(0, captions.get("lag_ms", 500) - 500)
                             + max(0, captions.get("late_fix_ms", 300) - 300)) / 1000
    assert 0 < lags[0] < bound + CLOCK_WAIT_S and all(0 < x < bound for x in lags[1:-1]), lags
    assert all(e["_at"] <= result_at for e in spoken)
