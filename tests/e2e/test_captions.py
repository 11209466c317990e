"""The platforms' own captions as the transcript, end to end: the bot turns them on, follows what
the page rewrites, and gives each utterance once, final, live and in the callback; where a call has
none (or refuses them) it says so and the local engine transcribes instead."""

from __future__ import annotations

import base64
import json
import secrets
import statistics
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from callbacks.receiver import CallbackReceiver
from simulator.scenario import load_scenario
from tests.e2e.bot_run import NO_SELFTEST, run_bot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

PEOPLE = [{"name": "Alice", "voice": "flite:slt"}, {"name": "Bob", "voice": "flite:rms"}]
# Bob's two turns in a row: a page that merges a speaker's blocks runs them on in one.
SPEECH = [
    {"speaker": "Alice", "at": 0.8, "text": "Let us review the new design today."},
    {"speaker": "Bob", "at": 3.6, "text": "I like the colours a lot."},
    {"speaker": "Bob", "at": 6.2, "text": "The budget looks fine."},
    {"speaker": "Alice", "at": 8.4, "text": "Good, then we are done."},
]
SECRET = "whsec_" + base64.b64encode(b"captions-test-secret-0123456789").decode()
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
]


def scenario(platform: str, captions: dict[str, Any]) -> Any:
    pick = lambda n: "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))  # noqa: E731
    code = (f"{pick(3)}-{pick(4)}-{pick(3)}" if platform == "meet"
            else str(9_300_000_000_000 + secrets.randbelow(99_999_999_999)))
    return load_scenario({
        "platform": platform, "meeting_code": code, "title": "Design review", "participants": PEOPLE,
        "lobby": {"mode": "open"}, "speech": SPEECH, "end": {"kind": "host_ended", "at": 12.4},
        "captions": captions})


@pytest.mark.parametrize(("platform", "captions", "args", "used"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_the_platforms_captions_are_the_transcript(simulator: Any, tmp_path: Path, platform: str,
                                                         captions: dict[str, Any], args: list[str],
                                                         used: bool) -> None:
    sc = scenario(platform, captions)
    await simulator.add_scenario(sc)
    out = tmp_path / "rec"
    live = ["--live-transcript", "--transcript-events"] if used else []
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(simulator, rx, sc.public_url(), out,
                                "--transcript-source", "captions", "--transcribe", *live, *args,
                                env={**NO_SELFTEST, "MEETBOT_WEBHOOK_SECRET": SECRET})
        assert rc == 0, log[-3000:]
        await rx.wait_for(1, timeout=10)
        received = rx.events()
    [result] = [r for r in received if "success" in r.json()]
    cb = result.json()
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
    said = truth["speech"]
    timings = json.loads((out / "stats.json").read_text())["timings"]
    if "both" in args:
        # The captions live; the local engine's transcript after the call, and how far they agree.
        engine = json.loads((out / "transcript.json").read_text())["engine"]
        assert engine.startswith("faster-whisper"), engine
        assert 0 <= timings["captions_vs_local_wer"] < 0.5, timings
        lines = json.loads((out / "captions.json").read_text())
    # Each utterance once, with its speaker, as the page finally wrote it (not an interim word).
    assert [(ln["speaker"], ln["text"]) for ln in lines] == [(s["speaker"], s["text"]) for s in said], \
        (lines, [c for c in truth["captions"]])
    origin = cb["recording_started_at"]
    for ln, s in zip(lines, said, strict=True):  # on the recording's clock, the speaker's turn
        start, end = s["start"] - origin, s["end"] - origin
        assert abs(ln["start"] - start) < 0.5 and abs(ln["end"] - end) < 0.8, (ln, start, end)
    if "both" not in args:
        doc = json.loads((out / "transcript.json").read_text())
        assert doc["engine"] == f"captions-{'google_meet' if platform == 'meet' else 'teams'}", doc["engine"]
        assert json.loads((out / "captions.json").read_text()) == lines
    assert timings["captions_on"] == 1 and timings["captions_utterances"] == len(said), timings
    # Live: signed, in order, the same utterances, each soon after its voice ended.
    events = [standardwebhooks.Webhook(SECRET).verify(r.body, r.headers) | {"_at": r.at}
              for r in received if "success" not in r.json()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    spoken = [e for e in events if e["event"] == "transcript.data"]
    assert [(e["data"]["speaker"], e["data"]["text"], e["data"]["source"]) for e in spoken] == \
        [(s["speaker"], s["text"], "captions") for s in said]
    lags = [e["_at"] - s["end"] for e, s in zip(spoken, said, strict=True)]
    print(f"captions {platform}/{captions}: lag from the voice's end to its event "
          f"{[round(x, 2) for x in lags]} s (median {statistics.median(lags):.2f})")
    # A slower page (its own lag and late pass beyond the defaults) is slower by as much.
    bound = CAPTION_LAG_S + (max(0, captions.get("lag_ms", 500) - 500)
                             + max(0, captions.get("late_fix_ms", 300) - 300)) / 1000
    assert all(0 < x < bound for x in lags[:-1]), lags  # the last one may wait for the end
    assert all(e["_at"] <= result.at for e in spoken)
