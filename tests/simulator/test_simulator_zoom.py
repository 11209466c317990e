"""The simulated Zoom web client, driven the way the reference says bots drive the real one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from simulator import Scenario, SimulatorServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Selectors straight from shared/reference/platforms.md, sections 2 and 5.
NAME = "#input-for-name"
PWD = "#input-for-pwd"
JOIN = "button.zm-btn.preview-join-button"
MIC = "#preview-audio-control-button"
CAM = "#preview-video-control-button"
CLASSIC_NAME = '#inputname[placeholder="Your Name"]'
CLASSIC_JOIN = "#joinBtn"
LEAVE = ('[footer-section="right"] button[aria-label="Leave"]'
         ".footer-button-base__button.ax-outline.footer-button__button")
COUNT = ".footer-button__participants-icon .footer-button__number-counter span"
ACTIVE_NAME = ".speaker-active-container__video-frame .video-avatar__avatar .video-avatar__avatar-footer span"
BAR_ACTIVE = ".speaker-bar-container__video-frame--active .video-avatar__avatar-footer span"
AUDIO_BTN = "button.join-audio-container__btn"
WAIT_TEXT = "text=Please wait, the meeting host will let you in soon."
END_TITLE = ".zm-modal .zm-modal-body-title"

# Records which name the big frame shows, with page-clock epoch times, independently of the page's code.
FRAME_OBSERVER = """
() => {
  window.__frame = [];
  const frame = document.querySelector('.speaker-active-container__video-frame');
  const read = () => {
    const s = frame.querySelector('.video-avatar__avatar-footer span');
    const t = (performance.timeOrigin + performance.now()) / 1000;
    window.__frame.push({name: s ? s.textContent : null, t});
  };
  read();
  new MutationObserver(read).observe(frame, {childList: true, subtree: true, characterData: true});
}
"""


def zoom_id() -> str:
    return str(8_000_000_000 + uuid.uuid4().int % 1_000_000_000)


async def add(sim: SimulatorServer, **fields: Any) -> Scenario:
    return await sim.add_scenario({"platform": "zoom", "meeting_code": zoom_id(), **fields})


async def test_launcher_react_audio_speaker_and_host_end(sim: SimulatorServer, web_page: Any) -> None:
    sc = await add(
        sim, title="Zoom flow",
        participants=[{"name": "Bob", "voice": "en+m3"}, {"name": "Alice", "voice": "en+f3"}],
        lobby={"mode": "ask", "admit_after": 1.0},
        zoom={"passcode": "s3cret", "cookie_banner": True},
        speech=[{"speaker": "Alice", "at": 1.5, "text": "Good morning, everyone."},
                {"speaker": "Bob", "at": 3.5, "text": "Hello Alice."}],
        end={"kind": "host_ended", "at": 6.0})
    page = web_page
    await page.goto(sc.public_url("j", host="us05web.zoom.us"))
    assert page.url.startswith(f"https://us05web.zoom.us/j/{sc.meeting_code}")
    await page.wait_for_selector("button:text-is('Launch Meeting')")
    assert await page.locator("a:text-is('Join from your browser')").is_hidden()
    # The OneTrust dark filter blocks clicks until the banner is answered.
    await page.click("#onetrust-accept-btn-handler")
    await page.click("button:text-is('Download Now')")
    await page.click("a:text-is('Join from your browser')")

    await page.wait_for_selector(NAME)
    assert page.url == f"https://us05web.zoom.us/wc/{sc.meeting_code}/join?pwd=s3cret"
    assert await page.locator(PWD).count() == 0  # the passcode came in the URL
    join = page.locator(JOIN)
    assert await join.is_disabled() and "disabled" in (await join.get_attribute("class") or "")
    assert await page.get_attribute(MIC, "aria-label") == "Mute"
    assert await page.get_attribute(CAM, "aria-label") == "Stop Video"
    await page.click(MIC)
    assert await page.get_attribute(MIC, "aria-label") == "Unmute"
    await page.locator(NAME).press_sequentially("Note Taker")
    assert "disabled" not in (await join.get_attribute("class") or "")
    await join.click()

    # The waiting room renders inside .meeting-app: only the texts tell it from the call.
    await page.wait_for_selector(WAIT_TEXT)
    assert await page.locator(".meeting-app").count() == 1
    assert await page.locator('button[aria-label="Leave"]').count() == 0

    await page.wait_for_selector(LEAVE, timeout=5000)
    await page.evaluate(FRAME_OBSERVER)
    assert await page.inner_text(COUNT) == "3"
    assert await page.inner_text(ACTIVE_NAME) == "Bob"  # first other participant until someone speaks
    audio_btn = page.locator(AUDIO_BTN)
    assert "join audio" in (await audio_btn.get_attribute("aria-label") or "").lower()
    await page.click("button:text-is('Join Audio by Computer')")
    assert await audio_btn.get_attribute("aria-label") == "Unmute"  # the preview left the mic muted

    await page.wait_for_selector(f"{ACTIVE_NAME}:text-is('Alice')", timeout=3000)
    assert await page.inner_text(BAR_ACTIVE) == "Alice"
    await page.wait_for_selector(f"{ACTIVE_NAME}:text-is('Bob')", timeout=4000)
    assert await page.inner_text(ACTIVE_NAME) == "Bob"  # Bob keeps the frame once done speaking
    await page.wait_for_selector(f"{END_TITLE}:text-is('This meeting has been ended by host')", timeout=5000)
    assert await page.locator(".zm-modal button.zm-btn--primary:text-is('OK')").count() == 1
    assert await page.locator('button[aria-label="Leave"]').count() == 0

    await sim.wait_for_event(sc.meeting_code, "ended", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["platform"] == "zoom" and t["client"] == "react" and t["in_iframe"] is False
    assert t["joined_name"] == "Note Taker"
    assert t["mic_on_at_join"] is False and t["camera_on_at_join"] is True
    assert t["passcode_entered"] == "s3cret" and t["passcode_source"] == "url" and t["passcode_ok"] is True
    assert t["audio_joined_at"] is not None and t["audio_joined_at"] < t["speech"][0]["start"]
    assert t["end_kind"] == "host_ended"
    assert [(s["speaker"], s["audible"]) for s in t["speech"]] == [("Alice", True), ("Bob", True)]
    for seg, at in zip(t["speech"], (1.5, 3.5), strict=True):
        assert abs(seg["start"] - (t["admitted_at"] + at)) < 0.3
        assert seg["end"] > seg["start"] + 0.3 and seg["indicator_end"] is None

    frames = await page.evaluate("window.__frame || []")
    errors = []
    for seg in t["speech"]:
        switch = next(f["t"] for f in frames if f["name"] == seg["speaker"] and f["t"] > seg["start"] - 0.5)
        errors.append(switch - seg["start"])
    print("zoom active-frame - audio start errors (ms):", [round(e * 1000, 1) for e in errors])
    assert max(abs(e) for e in errors) < 0.05


async def test_classic_iframe_passcode_host_not_started_removed(sim: SimulatorServer, web_page: Any) -> None:
    sc = await add(
        sim, participants=[{"name": "Alice"}], lobby={"mode": "ask", "admit_after": None},
        zoom={"client": "classic", "iframe": True, "passcode": "123456", "launcher": False,
              "host_not_started": True, "audio_join": "footer"},
        speech=[{"speaker": "Alice", "at": 0.3, "text": "Can anyone hear me?"}])
    page = web_page
    # The React URL sends this guest to the classic client, rendered inside iframe#webclient.
    await page.goto(sc.public_url("wc", passcode="999999"))
    assert page.url == f"https://app.zoom.us/wc/join/{sc.meeting_code}?pwd=999999"
    frame = page.frame_locator("iframe#webclient")
    await frame.locator(CLASSIC_NAME).fill("Recorder")
    await frame.locator('input[placeholder*="passcode" i]').fill("111111")
    await frame.locator(CLASSIC_JOIN).click()
    await frame.locator("text=Passcode wrong").wait_for()
    await frame.locator('input[type="password"]').fill("123456")
    await frame.locator(CLASSIC_JOIN).click()
    await frame.locator("text=Waiting for the host to start this meeting").wait_for()
    sim.control(sc.meeting_code, "admit")
    await frame.locator(LEAVE).wait_for(timeout=3000)
    assert "join audio" in (await frame.locator(AUDIO_BTN).get_attribute("aria-label") or "")
    await sim.wait_for_event(sc.meeting_code, "speech_end", timeout=5)
    sim.control(sc.meeting_code, "remove")
    await frame.locator(f"{END_TITLE}:text-is('You have been removed')").wait_for(timeout=3000)

    await sim.wait_for_event(sc.meeting_code, "ended", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["client"] == "classic" and t["in_iframe"] is True
    assert t["passcode_entered"] == "123456" and t["passcode_source"] == "typed" and t["passcode_ok"]
    assert t["audio_joined_at"] is None
    assert [(s["speaker"], s["audible"]) for s in t["speech"]] == [("Alice", False)]  # nobody heard it
    assert t["end_kind"] == "removed"


async def test_denied_from_waiting_room(sim: SimulatorServer, web_page: Any) -> None:
    sc = await add(sim, participants=[{"name": "Alice"}], lobby={"mode": "ask", "deny_after": 0.5},
                   zoom={"vanity": f"room{uuid.uuid4().hex[:6]}", "launcher": False})
    page = web_page
    await page.goto(sc.public_url("my"))
    await page.fill(NAME, "Bot")
    await page.click(JOIN)
    await page.wait_for_selector(f"{END_TITLE}:text-is('You have been removed')", timeout=3000)
    await sim.wait_for_event(sc.meeting_code, "denied", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["denied_at"] is not None and t["admitted_at"] is None


async def test_permission_dialog_open_meeting_and_leave(sim: SimulatorServer, web_page: Any) -> None:
    sc = await add(sim, participants=[{"name": "Alice"}], lobby={"mode": "open"},
                   zoom={"permission_dialog": True, "launcher": False})
    page = web_page
    await page.goto(sc.public_url("j"))
    await page.click("button:text-is('Continue without microphone and camera')")
    await page.click("button:text-is('Continue without microphone and camera')")  # it asks twice
    assert await page.get_attribute(MIC, "aria-label") == "Unmute"
    assert await page.get_attribute(CAM, "aria-label") == "Start Video"
    await page.fill(NAME, "Bot")
    await page.click(JOIN)
    await page.click("button:text-is('Join Audio by Computer')")
    await page.click(LEAVE)
    await page.click("button.leave-meeting-options__btn--danger:text-is('Leave Meeting')")
    await page.wait_for_selector("text=You have left the meeting")
    await sim.wait_for_event(sc.meeting_code, "left", timeout=2)
    t = sim.truth(sc.meeting_code)
    assert t["mic_on_at_join"] is False and t["camera_on_at_join"] is False and t["camera_mean_rgb"] is None
    assert t["left_at"] is not None and t["audio_joined_at"] is not None


async def test_invalid_signin_and_bot_wall(sim: SimulatorServer, web_page: Any) -> None:
    page = web_page
    await page.goto("https://zoom.us/j/1234509876?pwd=x")
    await page.wait_for_selector("text=This meeting link is invalid (3,001)")
    assert await page.title() == "Error - Zoom"

    sc = await add(sim, zoom={"signin_required": True, "launcher": False})
    await page.goto(sc.public_url("wc"))
    await page.wait_for_selector("#prompt:has-text('Sign in to join this meeting')")
    assert await page.locator(NAME).count() == 0
    await page.click("button.login-btn-zoom:text-is('Sign in Zoom')")
    await page.wait_for_url("https://app.zoom.us/signin")

    sc = await add(sim, zoom={"bot_wall": True})
    await page.goto(sc.public_url("wc_classic"))
    await page.wait_for_selector("text=We detected you may be a bot")
    assert await page.locator("text=must use Zoom RTMS").count() == 1
    assert await page.locator('iframe[src*="recaptcha"]').count() == 1
    assert await page.locator(CLASSIC_NAME).count() == 0
    assert sim.truth(sc.meeting_code)["blocked_by"] in (None, "bot_wall")
    await sim.wait_for_event(sc.meeting_code, "blocked", timeout=2)
    assert sim.truth(sc.meeting_code)["blocked_by"] == "bot_wall"
