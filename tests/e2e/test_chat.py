"""The meeting's chat, both ways, end to end on each platform's page: what the others post reaches
the callback and the live events, once each; the bot's notice at join is what the page received
(split where it is past the platform's limit); a chat the host turned off is said, not dropped."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from simulator.scenario import load_scenario
from tests.e2e.bot_run import NO_SELFTEST, meeting_code, run_signed

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]

SECRET = "whsec_" + base64.b64encode(b"chat-test-secret-0123456789abc").decode()
PEOPLE = [{"name": "Alice", "voice": "flite:slt"}, {"name": "Bob", "voice": "flite:rms"}]
MESSAGES = [
    {"sender": "Alice", "at": 1.5, "text": "Hello, is the bot recording?"},
    {"sender": "Bob", "at": 3.0, "text": "Agenda: https://example.com/agenda \u2014 item 1 first."},
    {"sender": "Alice", "at": 3.4, "text": "Thanks Bob."},
]
NOTICE = "This meeting is recorded and transcribed by Acme Notetaker."
LONG_NOTICE = " ".join(["Recording notice, please read:"]
                       + [f"point {i} of the policy applies here." for i in range(20)])  # ~750 characters
SEEN_WITHIN_S = 1.5
"""From a message posted on the page to the bot having it: its 0.5 s poll, once the panel is open."""

# (id, platform, chat (scenario), notice, the page lets guests post)
CASES: list[tuple[str, str, dict[str, Any], str, bool]] = [
    ("meet-closed-panel-long-notice", "meet", {"panel": "closed", "input": "placeholder"}, LONG_NOTICE, True),
    ("zoom-tiptap-unsaid-limit", "zoom", {"panel": "closed", "max_chars": 300}, LONG_NOTICE, True),
    ("teams-chat-off-for-guests", "teams", {"panel": "open", "guests": "disabled", "input": "placeholder"},
     NOTICE, False),
]


def scenario(platform: str, chat: dict[str, Any]) -> Any:
    code = meeting_code(platform)
    return load_scenario({
        "platform": platform, "meeting_code": code, "title": "Design review", "participants": PEOPLE,
        "lobby": {"mode": "open"}, "speech": [{"speaker": "Alice", "at": 0.8, "text": "Good morning."}],
        "end": {"kind": "host_ended", "at": 7.0}, "chat": {**chat, "messages": MESSAGES}})


@pytest.mark.parametrize(("platform", "chat", "notice", "can_post"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_the_chat_is_read_and_the_join_notice_posted(simulator: Any, tmp_path: Path, platform: str,
                                                           chat: dict[str, Any], notice: str,
                                                           can_post: bool) -> None:
    sc = scenario(platform, chat)
    out = tmp_path / "rec"
    cb, events, _ = await run_signed(simulator, sc, out, "--read-chat", "--chat-on-join", notice,
                                     "--transcript-events", secret=SECRET, env=NO_SELFTEST)
    truth = simulator.truth(sc.meeting_code)
    origin = cb["recording_started_at"]
    others = [m for m in truth["chat"] if not m["self"]]
    assert [(m["sender"], m["text"]) for m in others] == [(m["sender"], m["text"]) for m in MESSAGES]
    # In the callback, each once, dated on the recording's clock soon after the page showed it.
    got = [m for m in cb["chat_messages"] if not m["from_bot"]]
    assert [(m["sender"], m["text"]) for m in got] == [(m["sender"], m["text"]) for m in others], got
    # (Posted before the bot opened the panel: seen as it opened.)
    [opened, *_] = [p["t"] for p in truth["chat_panel"] if p["open"]]
    for m, t in zip(got, others, strict=True):
        shown = max(t["t"], opened) - origin
        assert 0 <= m["at"] - shown < SEEN_WITHIN_S, (m, shown)
    # Live: signed chat.message events, in order.
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    live = [e["data"] for e in events if e["event"] == "chat.message" and not e["data"]["from_bot"]]
    assert [(d["sender"], d["text"]) for d in live] == [(m["sender"], m["text"]) for m in others]
    # The notice, as the page received it: after admission, in parts within the page's limit.
    mine = [m for m in truth["chat"] if m["self"]]
    if not can_post:
        assert mine == [] and truth["chat_refused"] == []
        assert any("chat" in w and "turned off" in w for w in cb["warnings"]), cb["warnings"]
        return
    assert " ".join(m["text"] for m in mine) == " ".join(notice.split()), mine
    assert all(len(m["text"]) <= truth["chat_max_chars"] for m in mine), [len(m["text"]) for m in mine]
    # Split only as the limit needs: each part but the last more than half of it.
    assert len(mine) >= -(-len(notice) // truth["chat_max_chars"])
    assert all(len(m["text"]) > truth["chat_max_chars"] // 2 for m in mine[:-1]), \
        [len(m["text"]) for m in mine]
    # A page that says its limit (Meet's maxlength) refuses nothing; one that does not is learned
    # from by its refusals (Zoom's here, below what the bot assumes).
    assert (truth["chat_refused"] == []) == ("max_chars" not in chat), truth["chat_refused"]
    assert all(m["t"] >= truth["admitted_at"] for m in mine)
    assert mine[0]["t"] - truth["admitted_at"] < 5.0, mine[0]["t"] - truth["admitted_at"]
    # The bot's own posts are in the callback and the live events too, marked.
    assert [m["text"] for m in cb["chat_messages"] if m["from_bot"]] == [m["text"] for m in mine]
    assert [e["data"]["text"] for e in events if e["event"] == "chat.message" and e["data"]["from_bot"]] == \
        [m["text"] for m in mine]
