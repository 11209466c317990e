"""Meet variants: every documented way the page can show speaking, the count, the join label,
in-call dialogs, stuck indicators and the sync marker (reference 1.2-1.5). Several short meetings
run side by side to keep the suite fast."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from simulator import SimulatorServer
from tests.simulator.observers import (
    MEET_NAME,
    MEET_TILES,
    assert_flips_follow_audio,
    assert_signal_follows_speech,
    intervals,
    marker_pixels,
    side_by_side,
    signal_observer,
    wait_events,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MEET = "https://meet.google.com"
NAME_INPUT = 'input[type="text"][jsname][aria-label="Your name"]'
CAPTIONS = 'button[aria-label="Turn on captions"]'
LEAVE = 'button[jsname="CQylAd"][aria-label="Leave call"]'
SPEAKING_CLASSES = ("Oaajhc", "HX2H7", "wEsLMd", "OgVli")
ANY_SPEAKING = ", ".join("." + c for c in SPEAKING_CLASSES)
LEVEL_ON = '[data-audio-level]:not([data-audio-level="0"])'
DIALOG = 'div[aria-modal="true"][role="dialog"]'
OK = 'button[data-mdc-dialog-action="ok"]'


def code() -> str:
    return "mv-" + uuid.uuid4().hex[:10]


def on_predicate(signal: str, cls: str) -> str:
    """How a bot reads speaking from a tile (reference 1.4)."""
    if signal == "audio_level":
        return f"tile.querySelector('{LEVEL_ON}')"
    return f"tile.classList.contains('{cls}') || tile.querySelector('.{cls}')"


def tile(name: str) -> str:
    return f'{MEET_TILES}:has(span.notranslate:text-is("{name}"))'


CASES = [
    {"speaking_signal": "class_tile", "speaking_class": "Oaajhc", "count_signal": "avatar_count",
     "join_label": "Ask to join"},
    {"speaking_signal": "class_child", "speaking_class": "HX2H7", "count_signal": "people_button",
     "join_label": "Join now"},
    {"speaking_signal": "audio_level", "speaking_class": "wEsLMd", "count_signal": "tiles",
     "join_label": "Ask to join anyway"},
    {"speaking_signal": "class_and_level", "speaking_class": "OgVli", "count_signal": "all",
     "join_label": "Join here too"},
]


def probe(cls: str) -> str:
    """Where the speaking and silence signals sit at the moment a tile flips."""
    return f"""({{
      tileCls: tile.classList.contains('{cls}'), childCls: !!tile.querySelector('.{cls}'),
      tileSilent: tile.classList.contains('gjg47c'), childSilent: !!tile.querySelector('.gjg47c'),
      level: (tile.querySelector('[data-audio-level]') || {{ getAttribute: () => null }})
        .getAttribute('data-audio-level'),
      anyClass: document.querySelectorAll('{ANY_SPEAKING}').length,
      anySilent: document.querySelectorAll('.gjg47c').length,
      levels: document.querySelectorAll('[data-audio-level]').length }})"""


async def run_case(sim: SimulatorServer, new_page: Any, meet: dict[str, Any]) -> None:
    stuck = ("Alice",) if meet["speaking_signal"] == "audio_level" else ()
    sc = await sim.add_scenario({
        "meeting_code": code(), "meet": meet, "stuck_indicator": list(stuck),
        "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
        "lobby": {"mode": "ask", "admit_after": 0.2},
        "speech": [{"speaker": "Alice", "at": 0.4, "text": "Hello there."},
                   {"speaker": "Bob", "at": 1.5, "text": "Good morning."}]})
    signal, cls = meet["speaking_signal"], meet["speaking_class"]
    page = await new_page(signal_observer(MEET_TILES, MEET_NAME, on_predicate(signal, cls), probe=probe(cls)))
    await page.goto(f"{MEET}/{sc.meeting_code}")
    await page.fill(NAME_INPUT, "Note Taker")
    join = page.locator(f'button[jsname]:has(span:text-is("{meet["join_label"]}"))')
    assert await join.count() == 1
    await join.click()
    await page.wait_for_selector(CAPTIONS, timeout=5000)

    # The count signal (1.5 "Count", SA's order).
    count = meet["count_signal"]
    await page.wait_for_selector(f"{MEET_TILES} >> nth=2")
    assert await page.locator(MEET_TILES).count() == 3
    avatar, people = count in ("all", "avatar_count"), count in ("all", "people_button")
    assert await page.locator('[data-avatar-count="3"]').count() == avatar
    assert await page.locator("[data-avatar-count]").count() == avatar
    assert await page.locator('button[aria-label="People - 3 joined"]').count() == people
    assert await page.locator('button[aria-label^="People -"]').count() == people
    assert await page.locator("div.egzc7c").count() == (count == "all")
    assert await page.locator('button[aria-label^="People"]').count() == 1

    await wait_events(sim, sc.meeting_code, "speech_end", 2)
    sim.control(sc.meeting_code, "end")
    await page.wait_for_selector(".roSPhc:has-text('Your host ended the meeting for everyone')", timeout=5000)
    assert await page.locator("#sim-sync-marker").count() == 0  # only on the in-call screen
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=3)
    t = sim.truth(sc.meeting_code)
    v = t["variants"]
    assert v["platform"] == "meet" and v["meet"]["speaking_signal"] == signal
    for k, val in meet.items():
        assert v[k] == val and v["meet"][k] == val
    assert v["stuck_indicator"] == list(stuck) and v["sync_marker"] is True and v["dialogs"] == []

    # Where the signal sat when it switched (read in the page at that moment).
    flips = await page.evaluate("window.__flips")
    alice_on = next(f["probe"] for f in flips if f["name"] == "Alice" and f["on"])
    bob_off = next(f["probe"] for f in flips if f["name"] == "Bob" and not f["on"])
    if signal == "class_tile":
        assert alice_on["tileCls"] and not alice_on["childCls"] and not alice_on["tileSilent"]
        assert bob_off["tileSilent"] and not bob_off["tileCls"] and alice_on["levels"] == 0
    elif signal in ("class_child", "class_and_level"):
        assert alice_on["childCls"] and not alice_on["tileCls"] and not alice_on["childSilent"]
        assert bob_off["childSilent"] and not bob_off["childCls"]
        assert alice_on["levels"] == (3 if signal == "class_and_level" else 0)
        if signal == "class_and_level":
            assert alice_on["level"] not in (None, "0") and bob_off["level"] == "0"
    else:  # only a level: "0" when silent, non-zero while speaking, no class at all
        assert alice_on["level"] not in (None, "0") and alice_on["anySilent"] == 0
        assert all(f["probe"]["anyClass"] == 0 for f in flips)
    if signal != "audio_level":
        assert alice_on["anyClass"] == 1
    assert_signal_follows_speech(flips, t["speech"], stuck)
    if stuck:
        assert [s["name"] for s in t["stuck"]] == ["Alice"]
        assert abs(t["stuck"][0]["on_at"] - t["speech"][0]["start"]) < 0.1
        assert t["speech"][0]["indicator_end"] is None and t["speech"][1]["indicator_end"] is not None
    else:
        assert t["stuck"] == [] and all(s["indicator_end"] is not None for s in t["speech"])
    # The sync marker follows the audio, not the (possibly stuck) indicator.
    assert_flips_follow_audio(t["sync_flips"], t["speech"])


async def test_speaking_count_and_label_variants(sim: SimulatorServer, new_page: Any) -> None:
    await side_by_side({m["speaking_signal"]: run_case(sim, new_page, m) for m in CASES})


async def test_stuck_indicator_and_sync_marker(sim: SimulatorServer, new_page: Any) -> None:
    sc = await sim.add_scenario({
        "meeting_code": code(), "stuck_indicator": ["Alice"],
        "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
        "lobby": {"mode": "open"},
        "speech": [{"speaker": "Alice", "at": 0.5, "text": "Hello there, this is Alice speaking now."},
                   {"speaker": "Bob", "at": 3.4, "text": "And this is Bob."}],
        "end": {"kind": "host_ended", "at": 5.5}})
    page = await new_page(signal_observer(MEET_TILES, MEET_NAME, on_predicate("class_and_level", "Oaajhc")))
    await page.goto(f"{MEET}/{sc.meeting_code}")
    await page.fill(NAME_INPUT, "Note Taker")
    await page.click('button[jsname]:has(span:text-is("Join now"))')
    marker = page.locator("#sim-sync-marker")
    await marker.wait_for(state="attached")
    style = await marker.evaluate("""m => {
      const cs = getComputedStyle(m), r = m.getBoundingClientRect();
      return {pos: cs.position, pe: cs.pointerEvents, z: cs.zIndex, x: r.x, y: r.y, w: r.width, h: r.height,
              bottom: innerHeight - r.bottom}; }""")
    assert style == {"pos": "fixed", "pe": "none", "z": "2147483647", "x": 0, "y": 672, "w": 48, "h": 48,
                     "bottom": 0}
    # The white square is an opacity animation over the black one (drawn by the compositor).
    lit = "getComputedStyle(document.getElementById('sim-sync-marker').firstChild).opacity"
    await page.wait_for_function(f"{lit} === '1'", timeout=3000)
    assert await marker_pixels(page) == [[255, 255, 255], [255, 255, 255]]  # on top of everything
    await page.wait_for_function(f"{lit} === '0'", timeout=5000)
    assert await marker_pixels(page) == [[0, 0, 0], [0, 0, 0]]
    # Alice's audio has stopped, her speaking signal has not.
    assert await page.locator(f"{tile('Alice')} .Oaajhc").count() == 1
    assert await page.locator(f'{tile("Alice")} [data-audio-level="0.8"]').count() == 1
    await page.locator(f"{tile('Bob')} .Oaajhc").wait_for(timeout=4000)
    await page.locator(f"{tile('Bob')} .gjg47c").wait_for(timeout=4000)  # Bob's goes dark
    assert await page.locator(f"{tile('Alice')} .Oaajhc").count() == 1
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=5)
    t = sim.truth(sc.meeting_code)
    assert t["sync_marker_rect"] == {"x": 0, "y": 672, "w": 48, "h": 48, "dpr": 1,
                                     "viewport": {"w": 1280, "h": 720},
                                     "in_iframe": False, "frame_offset": None, "ramp_ms": 120}
    assert_flips_follow_audio(t["sync_flips"], t["speech"])
    alice, bob = t["speech"]
    assert alice["indicator_end"] is None and bob["indicator_end"] is not None
    assert len(t["stuck"]) == 1 and t["stuck"][0]["name"] == "Alice"
    assert abs(t["stuck"][0]["on_at"] - alice["start"]) < 0.1
    assert abs(t["stuck"][0]["off_at"] - t["ended_at"]) < 0.1  # lit until the meeting ended
    flips = await page.evaluate("window.__flips")
    assert_signal_follows_speech(flips, t["speech"], stuck=("Alice",))


async def refused(locator: Any) -> bool:
    """True if a real click on the element is intercepted (something covers it)."""
    try:
        await locator.click(timeout=600)
    except PlaywrightTimeout:
        return True
    return False


async def early_stacked(sim: SimulatorServer, new_page: Any) -> None:
    """consent_dialog (= recorded at 0) and transcribed at 0: stacked at admission."""
    sc = await sim.add_scenario({
        "meeting_code": code(), "participants": [{"name": "Alice"}], "lobby": {"mode": "open"},
        "sync_marker": False, "consent_dialog": True, "dialogs": [{"kind": "transcribed", "at": 0}]})
    page = await new_page()
    await page.goto(f"{MEET}/{sc.meeting_code}")
    await page.fill(NAME_INPUT, "Bot")
    await page.click('button[jsname]:has(span:text-is("Join now"))')
    recorded = page.locator(f'{DIALOG}:has-text("This video call is being recorded")')
    transcribed = page.locator(f'{DIALOG}:has-text("This video call is being transcribed")')
    await transcribed.wait_for(timeout=3000)
    await recorded.wait_for()
    # The transcribed dialog (shown second) covers the recorded one and the whole call.
    assert await refused(recorded.locator(OK))
    assert await refused(page.locator(LEAVE))
    await transcribed.locator(f'{OK}:has(span:text-is("Join now"))').click()
    await transcribed.wait_for(state="detached")
    # The recorded dialog's second "Join now" (ATT's XPath) now takes the click.
    await page.locator('//button[.//span[text()="Join now"]]').click(timeout=2000)
    await recorded.wait_for(state="detached")
    assert await page.locator("#sim-sync-marker").count() == 0
    await page.click(LEAVE, timeout=2000)  # nothing covers the call any more
    await sim.wait_for_event(sc.meeting_code, "left", timeout=3)

    t = sim.truth(sc.meeting_code)
    assert [(d["kind"], d["button"]) for d in t["dialogs"]] == [("recorded", "Join now"),
                                                                ("transcribed", "Join now")]
    for d in t["dialogs"]:
        assert abs(d["shown_at"] - t["admitted_at"]) < 0.2 and d["dismissed_at"] > d["shown_at"]
    assert t["dialogs"][1]["dismissed_at"] < t["dialogs"][0]["dismissed_at"]
    assert [d["kind"] for d in t["variants"]["dialogs"]] == ["recorded", "transcribed"]
    assert t["sync_marker_rect"] is None and t["sync_flips"] == []
    assert [e["type"] for e in t["events"]].count("consent_accepted") == 1


async def late_stacked(sim: SimulatorServer, new_page: Any) -> None:
    """Four late ones at 1 s: two modals stacked, a "Got it" tooltip, a "Microphone not found" toast."""
    sc = await sim.add_scenario({
        "meeting_code": code(), "participants": [{"name": "Alice"}], "lobby": {"mode": "open"},
        "dialogs": [{"kind": "gemini_notes", "at": 1.0}, {"kind": "others_see", "at": 1.0},
                    {"kind": "got_it", "at": 1.0}, {"kind": "mic_not_found", "at": 1.0}]})
    page = await new_page()
    await page.goto(f"{MEET}/{sc.meeting_code}")
    await page.fill(NAME_INPUT, "Bot")
    await page.click('button[jsname]:has(span:text-is("Join now"))')
    await page.wait_for_selector(CAPTIONS)
    assert await page.locator(DIALOG).count() == 0  # nothing yet: these come late
    gemini = page.locator(f'{DIALOG}:has-text("Gemini is taking notes")')
    others = page.locator(f'{DIALOG}:has-text("Others may see your video differently")')
    await others.wait_for(timeout=4000)
    assert await refused(gemini.locator(OK))
    await others.locator('button[aria-label="Close"]').click()
    await gemini.locator(OK).click(timeout=2000)
    await page.locator('button:has-text("Got it")').click(timeout=2000)
    toast = page.locator(':text("Microphone not found")')
    assert await toast.count() == 1
    dismiss = page.locator('button[aria-label*="dismiss" i], button[aria-label*="close" i]')
    await dismiss.first.click(timeout=2000)
    await toast.wait_for(state="detached")
    await page.click(LEAVE, timeout=2000)
    await sim.wait_for_event(sc.meeting_code, "left", timeout=3)

    t = sim.truth(sc.meeting_code)
    assert {d["kind"]: d["button"] for d in t["dialogs"]} == {
        "gemini_notes": "OK", "others_see": "Close", "got_it": "Got it", "mic_not_found": "Dismiss"}
    for d in t["dialogs"]:
        assert abs(d["shown_at"] - t["admitted_at"] - 1.0) < 0.2, d
        assert d["dismissed_at"] > d["shown_at"]


async def test_dialogs_early_late_stacked_block_clicks(sim: SimulatorServer, new_page: Any) -> None:
    await side_by_side({"early": early_stacked(sim, new_page), "late": late_stacked(sim, new_page)})


async def test_a_lagging_signal_switches_after_the_voice(sim: SimulatorServer, new_page: Any) -> None:
    """signal_lag_ms / signal_hold_ms: the tile lights after the voice starts and stays lit after
    it stops; the truth dates the voice and the signal apart, and the sync marker still follows
    the voice."""
    sc = await sim.add_scenario({
        "meeting_code": code(), "signal_lag_ms": 250, "signal_hold_ms": 600,
        "meet": {"speaking_signal": "class_tile", "speaking_class": "Oaajhc"},
        "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
        "lobby": {"mode": "open"},
        "speech": [{"speaker": "Alice", "at": 0.4, "text": "Hello."},
                   {"speaker": "Bob", "at": 2.4, "text": "Good morning."}]})
    page = await new_page(signal_observer(MEET_TILES, MEET_NAME, on_predicate("class_tile", "Oaajhc")))
    await page.goto(f"{MEET}/{sc.meeting_code}")
    await page.fill(NAME_INPUT, "Note Taker")
    await page.locator('button[jsname]:has(span:text-is("Join now"))').click()
    await wait_events(sim, sc.meeting_code, "speech_end", 2)
    await page.wait_for_timeout(900)  # Bob's hold
    flips = await page.evaluate("window.__flips")
    t = sim.truth(sc.meeting_code)
    assert t["variants"]["signal_lag_ms"] == 250 and t["variants"]["signal_hold_ms"] == 600
    for said in t["speech"]:
        ((on, off),) = intervals(flips, said["speaker"])
        assert 0.2 < on - said["start"] < 0.4, (on, said)
        assert 0.5 < off - said["end"] < 0.75, (off, said)
        assert abs(said["indicator_start"] - on) < 0.1 and abs(said["indicator_end"] - off) < 0.1
    assert_flips_follow_audio(t["sync_flips"], t["speech"])
