"""The simulated Meet page, driven the way the reference says bots drive the real one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from simulator import SimulatorServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Selectors straight from shared/reference/platforms.md, section 1 and 5.
NAME_INPUT = 'input[type="text"][jsname][aria-label="Your name"]'
ASK_TO_JOIN = 'button[jsname]:has(span:text-is("Ask to join"))'
JOIN_NOW = 'button[jsname]:has(span:text-is("Join now"))'
CAPTIONS = 'button[aria-label="Turn on captions"]'
LEAVE = 'button[jsname="CQylAd"][aria-label="Leave call"]'
CONTROLS = 'div[role="region"][aria-label="Call controls"]'
TILES = "div[data-participant-id]:has(span.notranslate)"
DENIED = "text=Someone in the call denied your request to join"
MEET = "https://meet.google.com"


async def register(sim: SimulatorServer, scenario: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        r = await client.post("/_sim/api/meetings", json=scenario)
    assert r.status_code == 201, r.text
    return str(r.json()["meeting_code"])


async def control(sim: SimulatorServer, code: str, action: str) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        r = await client.post(f"/_sim/api/meetings/{code}/control", json={"action": action})
    assert r.status_code == 202, r.text


async def truth(sim: SimulatorServer, code: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        return dict((await client.get(f"/_sim/api/meetings/{code}/truth")).json())


async def tile_names(page: Any) -> list[str]:
    return sorted(await page.locator(f"{TILES} span.notranslate").all_inner_texts())


async def test_ask_admit_speak_and_host_ends(sim: SimulatorServer, sim_page: Any, meeting_code: str) -> None:
    code = await register(sim, {
        "meeting_code": meeting_code, "title": "Flow test",
        "participants": [{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"},
                         {"name": "Carol", "joins_at": 2.0, "leaves_at": 5.0}],
        "lobby": {"mode": "ask", "admit_after": 1.0},
        "speech": [{"speaker": "Alice", "at": 1.0, "text": "Good morning, everyone."},
                   {"speaker": "Bob", "at": 3.0, "text": "Hello Alice."}],
        "end": {"kind": "host_ended", "at": 6.0},
    })
    page = sim_page
    await page.goto(f"{MEET}/{code}?hl=en")
    assert page.url.startswith(f"{MEET}/{code}")

    # Lobby traps: Leave call, toggles and a self data-participant-id exist before admission.
    await page.wait_for_selector(NAME_INPUT)
    assert await page.locator('input[type="text"]').count() == 1
    assert await page.locator('button[aria-label="Leave call"]').count() == 1
    assert await page.locator("[data-participant-id]").count() == 1
    assert await page.locator(TILES).count() == 0
    assert await page.locator(CAPTIONS).count() == 0
    assert await page.locator(ASK_TO_JOIN).is_disabled()

    await page.locator(NAME_INPUT).press_sequentially("Note Taker")  # real key events
    await page.click('[aria-label="Turn off microphone"]')
    await page.wait_for_selector('[aria-label="Turn on microphone"]')
    await page.click(ASK_TO_JOIN)
    await page.wait_for_selector("text=Asking to be let in...")
    await page.wait_for_selector("text=You\u2019ll join the call when someone lets you in")
    assert await page.locator('button:has-text("Return to home screen")').is_visible()

    await page.wait_for_selector(CAPTIONS, timeout=5000)
    await page.wait_for_selector(CONTROLS)
    assert await page.locator(LEAVE).count() == 1
    assert await tile_names(page) == ["Alice", "Bob", "Note Taker"]
    assert await page.get_attribute("[data-self-name]", "data-self-name") == "Note Taker"
    assert await page.locator('button[aria-label="People - 3 joined"]').count() == 1
    assert await page.get_attribute("[data-avatar-count]", "data-avatar-count") == "3"

    alice = page.locator(f'{TILES}:has(span.notranslate:text-is("Alice"))')
    await alice.locator(".Oaajhc").wait_for(timeout=3000)
    assert await alice.locator(".gjg47c").count() == 0
    await page.wait_for_selector('button[aria-label="People - 4 joined"]', timeout=3000)  # Carol
    bob = page.locator(f'{TILES}:has(span.notranslate:text-is("Bob"))')
    await bob.locator(".Oaajhc").wait_for(timeout=4000)
    await page.wait_for_selector('button[aria-label="People - 3 joined"]', timeout=4000)  # Carol left

    await page.wait_for_selector(".roSPhc:has-text('Your host ended the meeting for everyone')", timeout=5000)
    assert await page.locator(CONTROLS).count() == 0
    assert await page.locator('button:has-text("Return to home screen")').count() == 1

    await sim.wait_for_event(code, "ended", timeout=2)  # the page reports asynchronously
    t = await truth(sim, code)
    assert t["joined_name"] == "Note Taker"
    assert t["mic_on_at_join"] is False and t["camera_on_at_join"] is True
    assert t["camera_mean_rgb"] is not None and len(t["camera_mean_rgb"]) == 3
    assert t["end_kind"] == "host_ended" and t["ended_at"] is not None
    assert 0.8 < t["admitted_at"] - t["join_clicked_at"] < 1.5
    assert [(s["speaker"], s["text"]) for s in t["speech"]] == [
        ("Alice", "Good morning, everyone."), ("Bob", "Hello Alice.")]
    for seg, at in zip(t["speech"], (1.0, 3.0), strict=True):
        assert abs(seg["start"] - (t["admitted_at"] + at)) < 0.3
        assert seg["end"] > seg["start"] + 0.3
    assert abs(t["ended_at"] - (t["admitted_at"] + 6.0)) < 0.3

    # Indicator flips seen from outside the page's code vs the audio times in the truth.
    flips = await page.evaluate("window.__speaking")
    errors = []
    for seg in t["speech"]:
        on = next(f["t"] for f in flips if f["name"] == seg["speaker"] and f["on"])
        off = next(f["t"] for f in flips if f["name"] == seg["speaker"] and not f["on"])
        errors += [on - seg["start"], off - seg["end"]]
    print("indicator - audio errors (ms):", [round(e * 1000, 1) for e in errors])
    assert max(abs(e) for e in errors) < 0.05


async def test_denied_keeps_lobby_text(sim: SimulatorServer, sim_page: Any, meeting_code: str) -> None:
    code = await register(sim, {"meeting_code": meeting_code, "participants": [{"name": "Alice"}],
                                "lobby": {"mode": "ask", "deny_after": 0.5}})
    page = sim_page
    await page.goto(f"{MEET}/{code}")
    await page.fill(NAME_INPUT, "Bot")
    await page.click(ASK_TO_JOIN)
    await page.wait_for_selector(DENIED, timeout=3000)
    await sim.wait_for_event(code, "denied", timeout=2)
    # The lobby text is still in the DOM: a bot must test for the denial first.
    assert await page.locator("text=Asking to be let in...").count() == 1
    assert await page.locator(CAPTIONS).count() == 0
    assert await page.locator('button:has-text("Return to home screen")').is_visible()
    t = await truth(sim, code)
    assert t["denied_at"] is not None and t["admitted_at"] is None


async def test_unknown_and_blocked_codes(sim: SimulatorServer, sim_page: Any, meeting_code: str) -> None:
    page = sim_page
    await page.goto(f"{MEET}/xyz-abcd-efg")
    await page.wait_for_selector("text=Check your meeting code")
    assert await page.locator('input[type="text"]').count() == 0
    code = await register(sim, {"meeting_code": meeting_code, "blocked": True})
    await page.goto(f"{MEET}/{code}")
    await page.wait_for_selector("text=You can't join this video call")
    assert await page.locator('input[type="text"]').count() == 0


async def test_open_consent_leave_and_rejoin(sim: SimulatorServer, sim_page: Any, meeting_code: str) -> None:
    code = await register(sim, {"meeting_code": meeting_code, "participants": [{"name": "Alice"}],
                                "lobby": {"mode": "open"}, "consent_dialog": True})
    page = sim_page
    await page.goto(f"{MEET}/{code}")
    await page.fill(NAME_INPUT, "Recorder")
    await page.click('[aria-label="Turn off camera"]')
    await page.click(JOIN_NOW)
    dialog = page.locator(
        'div[aria-modal="true"][role="dialog"]:has-text("This video call is being recorded")')
    await dialog.wait_for()
    await dialog.locator('button[data-mdc-dialog-action="ok"]:has(span:text-is("Join now"))').click()
    await dialog.wait_for(state="detached")
    await page.click(LEAVE)
    await page.wait_for_selector("text=You left the meeting")
    assert await page.locator('button:has-text("Rejoin")').count() == 1
    await sim.wait_for_event(code, "left", timeout=2)
    t = await truth(sim, code)
    assert t["camera_on_at_join"] is False and t["camera_mean_rgb"] is None
    assert t["left_at"] is not None and t["admitted_at"] is not None
    assert [e["type"] for e in t["events"]].count("consent_accepted") == 1
    await page.click('button:has-text("Rejoin")')
    await page.wait_for_selector(NAME_INPUT)


async def test_manual_control(sim: SimulatorServer, sim_page: Any, meeting_code: str) -> None:
    code = await register(sim, {"meeting_code": meeting_code,
                                "participants": [{"name": "Alice"}, {"name": "Bob"}],
                                "lobby": {"mode": "ask", "admit_after": None}})
    page = sim_page
    await page.goto(f"{MEET}/{code}")
    await page.fill(NAME_INPUT, "Bot")
    await page.click(ASK_TO_JOIN)
    await page.wait_for_selector("text=Asking to be let in...")
    await asyncio.sleep(1.0)
    assert await page.locator(CAPTIONS).count() == 0  # nobody admits on their own
    await control(sim, code, "admit")
    await page.wait_for_selector(CAPTIONS, timeout=3000)
    await control(sim, code, "everyone_leave")
    await page.wait_for_selector('button[aria-label="People - 1 joined"]', timeout=3000)
    assert await page.get_attribute("[data-avatar-count]", "data-avatar-count") == "1"
    assert await tile_names(page) == ["Bot"]
    await control(sim, code, "remove")
    await page.wait_for_selector(".roSPhc:has-text(\"You've been removed from the meeting\")", timeout=3000)
    await sim.wait_for_event(code, "ended", timeout=2)
    t = await truth(sim, code)
    assert t["end_kind"] == "removed" and t["everyone_left_at"] is not None
