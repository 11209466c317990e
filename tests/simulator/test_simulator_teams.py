"""The simulated Microsoft Teams pages, driven the way the reference says bots drive the real ones."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from simulator import Scenario, SimulatorServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Selectors straight from shared/reference/platforms.md, sections 3 and 5.
CONTINUE = 'button[data-tid="joinOnWeb"]'
NAME = 'input[data-tid="prejoin-display-name-input"]'
MUTE = '[data-tid="toggle-mute"]'
VIDEO = '[data-tid="toggle-video"]'
JOIN = 'button[data-tid="prejoin-join-button"]'
HANGUP = 'button#hangup-button[data-tid="hangup-main-btn"][aria-label="Leave"]'
BADGE = '#roster-button span[data-tid="toolbar-item-badge"]'
STAGE = '[data-tid="modern-stage-wrapper"]'
NO_MEDIA = "button:text-is('Continue without audio or video')"
SPEAKING = '[data-tid="voice-level-stream-outline"].vdi-frame-occlusion'


def tile(name: str) -> str:
    return f'{STAGE} div[data-stream-type="Video"][data-tid="{name}"]'


# Records every outline change (class and inline style) with page-clock epoch times.
OUTLINE_OBSERVER = """
window.__outline = [];
new MutationObserver((records) => {
  const t = (performance.timeOrigin + performance.now()) / 1000;
  for (const r of records) {
    const el = r.target;
    if (!(el instanceof Element) || el.getAttribute('data-tid') !== 'voice-level-stream-outline') continue;
    const style = el.getAttribute('style') || '';
    const on = el.classList.contains('vdi-frame-occlusion') || style.includes('opacity: 1');
    const owner = el.closest('[data-stream-type="Video"]');
    const name = owner ? owner.getAttribute('data-tid') : null;
    window.__outline.push({name, attr: r.attributeName, on, t});
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['class', 'style']});
"""


def code() -> str:
    return "tm-" + uuid.uuid4().hex[:10]


async def add(sim: SimulatorServer, **fields: Any) -> Scenario:
    return await sim.add_scenario({"platform": "teams", "meeting_code": code(), **fields})


def indicator_errors(flips: list[dict[str, Any]], speech: list[dict[str, Any]]) -> list[float]:
    errors = []
    for seg in speech:
        mine = [f for f in flips if f["name"] == seg["speaker"]]
        on = next(f["t"] for f in mine if f["on"] and f["t"] > seg["start"] - 0.5)
        off = next(f["t"] for f in mine if not f["on"] and f["t"] > seg["end"] - 0.5)
        errors += [on - seg["start"], off - seg["end"]]
    return errors


async def test_launcher_lobby_speaking_class_and_meeting_end(sim: SimulatorServer, web_page: Any) -> None:
    sc = await add(
        sim, title="Teams flow",
        participants=[{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
        lobby={"mode": "ask", "admit_after": 1.0},
        teams={"no_media_modal": True, "no_media_modal_again": True},
        speech=[{"speaker": "Alice", "at": 1.0, "text": "Good morning, everyone."},
                {"speaker": "Bob", "at": 3.0, "text": "Hello Alice."}],
        end={"kind": "host_ended", "at": 5.5})
    page = web_page
    await page.context.add_init_script(OUTLINE_OBSERVER)
    await page.goto(sc.public_url("meetup_join"))
    await page.click(CONTINUE)
    await page.wait_for_url("https://teams.microsoft.com/v2/?meetingjoin=true#/l/meetup-join/**")

    await page.click(NO_MEDIA)  # the modal blocks the pre-join until answered
    assert await page.get_attribute(MUTE, "aria-checked") == "false"
    await page.click(MUTE)
    assert await page.get_attribute(MUTE, "aria-checked") == "true"
    assert await page.locator(JOIN).is_disabled()
    await page.locator(NAME).press_sequentially("Note Taker")
    await page.click(JOIN)
    await page.click(NO_MEDIA)  # ...and comes back once after Join now

    await page.wait_for_selector("text=Someone will let you in soon")
    assert await page.locator(JOIN).count() == 1 and await page.locator(JOIN).is_disabled()
    assert await page.locator(HANGUP).count() == 0

    await page.wait_for_selector(HANGUP, timeout=5000)
    for sel in ("#chat-button", "#roster-button", "#callingButtons-showMoreBtn", STAGE):
        assert await page.locator(sel).count() == 1, sel
    assert await page.locator(JOIN).count() == 0
    assert await page.inner_text(BADGE) == "3"
    assert await page.locator(f'{STAGE} div[data-stream-type="Video"]').count() == 3
    await page.locator(f'{tile("Alice")} {SPEAKING}').wait_for(timeout=3000)
    await page.locator(f'{tile("Bob")} {SPEAKING}').wait_for(timeout=4000)
    await page.wait_for_selector("text=The meeting has ended", timeout=5000)
    assert await page.locator('button[data-tid="anon-meeting-end-screen-rejoin-button"]').count() == 1

    await sim.wait_for_event(sc.meeting_code, "ended", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["platform"] == "teams" and t["client"] == "v2" and t["end_kind"] == "host_ended"
    assert t["joined_name"] == "Note Taker"
    assert t["mic_on_at_join"] is True and t["camera_on_at_join"] is False
    assert t["pages"][:2] == ["launcher", "prejoin"]
    assert [e["again"] for e in t["events"] if e["type"] == "no_media_modal"] == [False, True]
    for seg, at in zip(t["speech"], (1.0, 3.0), strict=True):
        assert abs(seg["start"] - (t["admitted_at"] + at)) < 0.3 and seg["audible"] is True
    errors = indicator_errors(await page.evaluate("window.__outline"), t["speech"])
    print("teams class outline - audio errors (ms):", [round(e * 1000, 1) for e in errors])
    assert max(abs(e) for e in errors) < 0.05


async def test_v2_style_signal_roster_and_removed(sim: SimulatorServer, web_page: Any) -> None:
    sc = await add(
        sim, participants=[{"name": "Alice"}, {"name": "Carol", "joins_at": 1.0}],
        lobby={"mode": "open"}, teams={"speaking_signal": "style", "lobby_text": "Waiting to be admitted"},
        speech=[{"speaker": "Alice", "at": 0.5, "text": "Testing one two."}],
        end={"kind": "removed", "at": 3.5})
    page = web_page
    await page.context.add_init_script(OUTLINE_OBSERVER)
    await page.goto(sc.public_url("v2"))
    assert await page.locator(CONTINUE).count() == 0  # the v2 form skips the launcher
    await page.fill(NAME, "Recorder")
    assert await page.get_attribute(VIDEO, "aria-checked") == "true"
    await page.click(VIDEO)
    assert await page.get_attribute(VIDEO, "aria-checked") == "false"
    await page.click(JOIN)
    await page.wait_for_selector(HANGUP)
    await page.wait_for_selector(f"{BADGE}:text-is('3')", timeout=3000)  # Carol joined
    removed = "#calling-retry-screen-title:text-is(\"You've been removed from this meeting\")"
    await page.wait_for_selector(removed, timeout=5000)
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["end_kind"] == "removed" and t["camera_on_at_join"] is False
    flips = await page.evaluate("window.__outline")
    assert flips and all(f["attr"] == "style" for f in flips)  # the class never toggles
    errors = indicator_errors(flips, t["speech"])
    print("teams style outline - audio errors (ms):", [round(e * 1000, 1) for e in errors])
    assert max(abs(e) for e in errors) < 0.05


@pytest.mark.parametrize("form", ["launcher", "meet"])
async def test_other_url_forms_reach_the_prejoin(sim: SimulatorServer, web_page: Any, form: str) -> None:
    sc = await add(sim, teams={"host": "teams.live.com", "passcode": "Xy12ab", "continue_on_browser": False},
                   lobby={"mode": "ask", "deny_after": 0.5})
    page = web_page
    await page.goto(sc.public_url(form, passcode="wrong" if form == "meet" else None))
    await page.wait_for_selector(NAME)
    assert page.url.startswith("https://teams.live.com/v2/?meetingjoin=true#/")
    await page.fill(NAME, "Bot")
    if form == "meet":  # the wrong ?p= asks for the passcode
        await page.fill('input[data-tid="prejoin-passcode-input"]', "Xy12ab")
    await page.click(JOIN)
    await page.wait_for_selector("text=Sorry, but you were denied access to the meeting.", timeout=3000)
    await sim.wait_for_event(sc.meeting_code, "denied", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["denied_at"] is not None and t["admitted_at"] is None
    if form == "meet":
        assert t["passcode_source"] == "typed" and t["passcode_ok"] is True


async def test_login_captcha_bad_url_and_leave(sim: SimulatorServer, web_page: Any) -> None:
    page = web_page
    sc = await add(sim, teams={"login_required": True})
    await page.goto(sc.public_url("v2"))
    await page.wait_for_selector('input[name="loginfmt"]')
    assert page.url.startswith("https://login.microsoftonline.com/")
    await sim.wait_for_event(sc.meeting_code, "blocked", timeout=2)
    assert sim.truth(sc.meeting_code)["blocked_by"] == "login"

    sc = await add(sim, teams={"captcha": True, "continue_on_browser": False, "permission_prompt": True})
    await page.goto(sc.public_url("launcher"))
    await page.wait_for_selector("text=Select Allow to let Microsoft Teams use your mic and camera")
    await page.fill(NAME, "Bot")
    await page.click(JOIN)
    await page.wait_for_selector('[data-tid="HIP-Captcha-Image"]')
    assert await page.locator("text=Verify you're a real person").count() == 1
    await sim.wait_for_event(sc.meeting_code, "blocked", timeout=2)

    await page.goto("https://teams.microsoft.com/l/meetup-join/19%3ameeting_nosuchmeeting%40thread.v2/0")
    await page.wait_for_selector(
        "text=Looks like the meeting URL is incorrect. Please check the URL and try again.")

    sc = await add(sim, participants=[{"name": "Alice"}], lobby={"mode": "open"},
                   teams={"continue_on_browser": False}, end={"kind": "everyone_left", "at": 0.5})
    await page.goto(sc.public_url())
    await page.fill(NAME, "Bot")
    await page.click(JOIN)
    await page.wait_for_selector(f"{BADGE}:text-is('1')", timeout=3000)
    await page.wait_for_selector("text=Waiting for others to join")
    await page.click(HANGUP)
    await page.wait_for_selector("text=You left the meeting")
    await sim.wait_for_event(sc.meeting_code, "left", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["end_kind"] == "everyone_left" and t["left_at"] is not None
