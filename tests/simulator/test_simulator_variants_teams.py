"""Teams variants: every documented way a tile's voice-level outline can say someone speaks, the
roster badge or none, the two end screens, stuck outlines and in-call popups (reference 3.3-3.5).
Several short meetings run side by side to keep the suite fast."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from simulator import Scenario, SimulatorServer
from tests.simulator.observers import (
    TEAMS_NAME,
    TEAMS_OUTLINE,
    TEAMS_TILES,
    assert_flips_follow_audio,
    assert_signal_follows_speech,
    side_by_side,
    signal_observer,
    teams_pseudo_on,
    teams_visual,
    wait_events,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

NAME = 'input[data-tid="prejoin-display-name-input"]'
JOIN = 'button[data-tid="prejoin-join-button"]'
HANGUP = 'button#hangup-button[data-tid="hangup-main-btn"][aria-label="Leave"]'
BADGE = 'span[data-tid="toolbar-item-badge"]'
OUT = TEAMS_OUTLINE

# How a bot reads each variant (3.4): LMA's class, VX's style/aria checks, MB's ::before check.
ON = {
    "class": f"{OUT}.classList.contains('vdi-frame-occlusion')",
    "class_transparent": f"{OUT}.classList.contains('vdi-frame-occlusion')",
    "style": f"__lit(getComputedStyle({OUT}))",
    "aria": (f"/speaking|talking/i.test({OUT}.getAttribute('aria-label') || '')"
             " || /speaking|talking/i.test(tile.getAttribute('aria-label') || '')"),
    "pseudo": teams_pseudo_on(),
}
PROBE = f"""(() => {{ const o = {OUT}, cs = getComputedStyle(o); return {{
  cls: o.className, style: o.getAttribute('style'),
  bs: cs.borderTopStyle, bw: cs.borderTopWidth, bc: cs.borderTopColor,
  vdi: document.querySelectorAll('.vdi-frame-occlusion').length, aria: o.getAttribute('aria-label'),
  hidden: o.getAttribute('aria-hidden'), tileAria: tile.getAttribute('aria-label') }}; }})()"""

CASES = [
    ({"speaking_signal": "class"}, ()),
    ({"speaking_signal": "style", "count_signal": "tiles", "end_screen": "post_meeting_url"}, ()),
    ({"speaking_signal": "aria"}, ()),
    ({"speaking_signal": "aria", "aria_target": "tile"}, ()),
    ({"speaking_signal": "class_transparent"}, ("Bob",)),
    ({"speaking_signal": "pseudo"}, ()),
]


def code() -> str:
    return "tv-" + uuid.uuid4().hex[:10]


async def add(sim: SimulatorServer, **fields: Any) -> Scenario:
    return await sim.add_scenario({"platform": "teams", "meeting_code": code(), **fields})


async def join(page: Any, sc: Scenario) -> None:
    await page.goto(sc.public_url("v2"))
    await page.fill(NAME, "Note Taker")
    await page.click(JOIN)
    await page.wait_for_selector(HANGUP, timeout=5000)


async def signal_case(sim: SimulatorServer, new_page: Any, teams: dict[str, Any],
                      stuck: tuple[str, ...]) -> None:
    signal = teams["speaking_signal"]
    sc = await add(sim, teams=teams, lobby={"mode": "open"}, stuck_indicator=list(stuck),
                   participants=[{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
                   speech=[{"speaker": "Alice", "at": 0.5, "text": "Hi there."},
                           {"speaker": "Bob", "at": 1.8, "text": "Good morning."}])
    page = await new_page(signal_observer(TEAMS_TILES, TEAMS_NAME, ON[signal], teams_visual(), PROBE))
    await join(page, sc)
    await page.wait_for_selector(f"{TEAMS_TILES} >> nth=2")
    if teams.get("count_signal") == "tiles":
        assert await page.locator(BADGE).count() == 0
    else:
        assert await page.inner_text(f"#roster-button {BADGE}") == "3"
    await wait_events(sim, sc.meeting_code, "speech_end", 2)
    flips = await page.evaluate("window.__flips")  # before the post-meeting navigation
    vis = await page.evaluate("window.__vis")
    sim.control(sc.meeting_code, "end")
    if teams.get("end_screen") == "post_meeting_url":
        await page.wait_for_url("**/postmeeting**", timeout=5000)
        await page.wait_for_selector("text=This meeting has ended")
        assert await page.locator(HANGUP).count() == 0
        assert "/v2/postmeeting" in page.url
        await wait_events(sim, sc.meeting_code, "page_loaded", 2)
        assert sim.truth(sc.meeting_code)["pages"] == ["prejoin", "postmeeting"]
    else:
        await page.wait_for_selector("text=The meeting has ended", timeout=5000)
        assert await page.locator('button[data-tid="anon-meeting-end-screen-rejoin-button"]').count() == 1
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=3)

    t = sim.truth(sc.meeting_code)
    v = t["variants"]
    for k, val in teams.items():
        assert v[k] == val and v["teams"][k] == val
    assert_signal_follows_speech(flips, t["speech"], stuck)
    if signal == "aria":
        assert not any(f["on"] for f in vis)  # nothing visual ever changes
    else:  # the outline is drawn while speaking and really gone after (unless stuck)
        assert_signal_follows_speech(vis, t["speech"], stuck)
    probes = [f["probe"] for f in flips]
    if signal not in ("class", "class_transparent"):
        assert all(p["vdi"] == 0 for p in probes)  # the class never toggles
    alice_on = next(f["probe"] for f in flips if f["name"] == "Alice" and f["on"])
    alice_off = next(f["probe"] for f in flips if f["name"] == "Alice" and not f["on"])
    if signal == "aria":
        if teams.get("aria_target") == "tile":
            assert alice_on["tileAria"] == "Alice, speaking" and alice_off["tileAria"] == "Alice"
        else:
            assert (alice_on["aria"], alice_on["hidden"]) == ("Speaking", "false")
            assert (alice_off["aria"], alice_off["hidden"]) == (None, "true")
        assert alice_on["style"] is None and alice_on["cls"] == alice_off["cls"]
    if signal == "class_transparent":  # class gone, solid border left with an inline transparent colour
        assert "vdi-frame-occlusion" in alice_on["cls"] and alice_on["style"] is None
        assert "vdi-frame-occlusion" not in alice_off["cls"]
        assert alice_off["style"] == "border-color: transparent;"
        assert (alice_off["bs"], alice_off["bw"]) == ("solid", "3px")
        assert alice_off["bc"] == "rgba(0, 0, 0, 0)"
    if signal == "style":
        assert "opacity: 1" in alice_on["style"] and "opacity: 0" in alice_off["style"]
    if signal == "pseudo":
        assert alice_on["cls"] != alice_off["cls"] and alice_on["style"] is None
    if stuck:
        assert [s["name"] for s in t["stuck"]] == ["Bob"] and t["speech"][1]["indicator_end"] is None
    else:
        assert t["stuck"] == [] and all(s["indicator_end"] is not None for s in t["speech"])
    assert_flips_follow_audio(t["sync_flips"], t["speech"])


async def test_speaking_signal_count_and_end_variants(sim: SimulatorServer, new_page: Any) -> None:
    await side_by_side({str(tm): signal_case(sim, new_page, tm, st) for tm, st in CASES})


async def refused(locator: Any) -> bool:
    try:
        await locator.click(timeout=600)
    except PlaywrightTimeout:
        return True
    return False


async def test_recording_notice_and_teaching_bubbles(sim: SimulatorServer, new_page: Any) -> None:
    sc = await add(sim, lobby={"mode": "open"}, participants=[{"name": "Alice"}],
                   dialogs=[{"kind": "recording_notice", "at": 0}, {"kind": "teaching_bubble", "at": 0},
                            {"kind": "teaching_bubble", "at": 1.5}])
    page = await new_page()
    await join(page, sc)
    notice = page.locator('[role="dialog"]:has-text("This meeting is being recorded")')
    await notice.wait_for()
    bubble = page.locator('[role="dialog"]:has-text("Take notes and share reactions")')
    await bubble.first.wait_for()
    assert await refused(page.locator(HANGUP))  # the notice's overlay covers the meeting
    await bubble.last.locator('button[title="Close"]').click()  # on top of the notice's overlay
    await notice.locator("button[aria-label=Close]").click()
    await notice.wait_for(state="detached")
    await wait_events(sim, sc.meeting_code, "dialog_shown", 3)  # the late one
    while await bubble.count():
        await bubble.last.locator("button[aria-label=Close]").click()
    await page.click(HANGUP, timeout=2000)
    await page.wait_for_selector("text=You left the meeting")
    await sim.wait_for_event(sc.meeting_code, "left", timeout=3)
    t = sim.truth(sc.meeting_code)
    assert [(d["kind"], d["button"]) for d in t["dialogs"]] == [
        ("recording_notice", "Close"), ("teaching_bubble", "Close"), ("teaching_bubble", "Close")]
    assert abs(t["dialogs"][0]["shown_at"] - t["admitted_at"]) < 0.2
    assert abs(t["dialogs"][2]["shown_at"] - t["admitted_at"] - 1.5) < 0.2
    assert all(d["dismissed_at"] > d["shown_at"] for d in t["dialogs"])
