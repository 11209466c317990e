"""Zoom variants: how computer audio is joined, the dialog's button text, the active-speaker views,
stuck speakers, in-call notices and the end modal over another dialog (reference 2.2 step 10, 2.4,
2.5). Several short meetings run side by side to keep the suite fast."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from simulator import Scenario, SimulatorServer
from tests.simulator.observers import active_observer, assert_flips_follow_audio, side_by_side, wait_events

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

NAME = "#input-for-name"
JOIN = "button.zm-btn.preview-join-button"
LEAVE = '[footer-section="right"] button[aria-label="Leave"]'
AUDIO_BTN = "button.join-audio-container__btn"
FOOTER_NAME = ".video-avatar__avatar-footer span"
VIEWS = {
    "speaker": f".speaker-active-container__video-frame {FOOTER_NAME}",
    "gallery": f".speaker-bar-container__video-frame--active {FOOTER_NAME}",
    "single": f".single-main-container__video-frame {FOOTER_NAME}",
}
END_TITLE = ".zm-modal .zm-modal-body-title"


def zoom_id() -> str:
    return str(8_000_000_000 + uuid.uuid4().int % 1_000_000_000)


async def add(sim: SimulatorServer, **fields: Any) -> Scenario:
    return await sim.add_scenario({"platform": "zoom", "meeting_code": zoom_id(), **fields})


async def refused(locator: Any) -> bool:
    """True if a real click on the element is intercepted (something covers it)."""
    try:
        await locator.click(timeout=600)
    except PlaywrightTimeout:
        return True
    return False


async def join(page: Any, sc: Scenario) -> None:
    await page.goto(sc.public_url("wc"))
    await page.fill(NAME, "Note Taker")
    await page.click(JOIN)
    await page.wait_for_selector(LEAVE, timeout=5000)


CASES = [
    ({"audio_join": "dialog", "speaker_view": "speaker", "audio_button_text": "Join Audio by Computer"}, ()),
    ({"audio_join": "late_dialog", "audio_dialog_delay": 1.0, "speaker_view": "gallery",
      "audio_button_text": "Join with Computer Audio"}, ()),
    ({"audio_join": "footer", "speaker_view": "single"}, ()),
    ({"audio_join": "auto", "speaker_view": "speaker"}, ("Bob",)),
]


async def audio_case(sim: SimulatorServer, new_page: Any, zoom: dict[str, Any],
                     stuck: tuple[str, ...]) -> None:
    mode, view = zoom["audio_join"], zoom["speaker_view"]
    text = zoom.get("audio_button_text", "Join Audio by Computer")
    sc = await add(sim, zoom={"launcher": False, **zoom}, lobby={"mode": "open"}, stuck_indicator=list(stuck),
                   participants=[{"name": "Alice", "voice": "en+f3"}, {"name": "Bob", "voice": "en+m3"}],
                   speech=[{"speaker": "Bob", "at": 0.3, "text": "Hi there."},
                           {"speaker": "Alice", "at": 2.2, "text": "Good morning."}])
    page = await new_page(active_observer(VIEWS[view]))
    await join(page, sc)
    dialog_btn = page.locator(f".ReactModal__Content button:text-is('{text}')")
    footer = page.locator(AUDIO_BTN)
    # Which rendering of the active speaker this client uses (2.4).
    assert await page.locator(".speaker-active-container__video-frame").count() == (view == "speaker")
    assert await page.locator(".single-main-container__video-frame").count() == (view == "single")
    assert await page.locator(".speaker-bar-container__video-frame").count() == (0 if view == "single" else 3)
    if mode == "auto":
        assert await footer.get_attribute("aria-label") in ("Mute", "Unmute")
        assert await page.locator(".ReactModal__Content").count() == 0
    else:
        assert "join audio" in (await footer.get_attribute("aria-label") or "").lower()
        if mode == "footer":
            await footer.click()  # the only way to the dialog
        await dialog_btn.click(timeout=4000)
        assert await footer.get_attribute("aria-label") in ("Mute", "Unmute")
    await wait_events(sim, sc.meeting_code, "speech_end", 2)
    sim.control(sc.meeting_code, "end")
    await page.wait_for_selector(f"{END_TITLE}:text-is('This meeting has been ended by host')", timeout=5000)
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=3)

    t = sim.truth(sc.meeting_code)
    assert t["audio_join_mode"] == mode and t["variants"]["audio_join"] == mode
    assert t["variants"]["speaker_view"] == view and t["variants"]["zoom"]["audio_button_text"] == text
    shown = [e for e in t["events"] if e["type"] == "audio_dialog_shown"]
    assert len(shown) == (0 if mode == "auto" else 1) and all(e["text"] == text for e in shown)
    first, second = t["speech"]  # Bob, then Alice (who holds the frame at admission: first other)
    if mode == "auto":  # joined at admission: everything was audible
        assert abs(t["audio_joined_at"] - t["admitted_at"]) < 0.01
        assert first["audible"] and second["audible"]
    else:
        assert t["audio_joined_at"] > t["admitted_at"] + 0.05
    if mode == "dialog":
        assert shown[0]["t"] - t["admitted_at"] < 0.1  # popped up at admission
    if mode == "late_dialog":
        assert abs(shown[0]["t"] - t["admitted_at"] - 1.0) < 0.15
        assert not first["audible"] and second["audible"]  # Bob spoke before the dialog came up
    if mode == "footer":
        clicked = [e for e in t["events"] if e["type"] == "footer_audio_clicked"]
        assert clicked and shown[0]["t"] >= clicked[0]["t"] > t["admitted_at"]  # only after the click
    assert_flips_follow_audio(t["sync_flips"], t["speech"])

    # The view's active-speaker name changed hands at the audio times (or stayed: stuck).
    seen = await page.evaluate("window.__active")
    names = [a["name"] for a in seen if a["name"]]
    assert names[0] == "Alice"  # before anyone spoke
    on_bob = next(a["t"] for a in seen if a["name"] == "Bob")
    assert abs(on_bob - first["start"]) < 0.12
    if stuck:
        assert names[:2] == ["Alice", "Bob"] and "Alice" not in names[2:]
        assert second["indicator_start"] is None and [s["name"] for s in t["stuck"]] == ["Bob"]
    else:
        on_alice = next(a["t"] for a in seen if a["name"] == "Alice" and a["t"] > on_bob)
        assert abs(on_alice - second["start"]) < 0.12
        assert t["stuck"] == [] and second["indicator_start"] is not None
    assert all(s["indicator_end"] is None for s in t["speech"])  # Zoom keeps the last speaker


async def test_audio_join_modes_and_speaker_views(sim: SimulatorServer, new_page: Any) -> None:
    await side_by_side({z["audio_join"]: audio_case(sim, new_page, z, s) for z, s in CASES})


async def end_over_open_notice(sim: SimulatorServer, new_page: Any) -> None:
    sc = await add(sim, zoom={"launcher": False, "audio_join": "footer", "end_over_dialog": True},
                   lobby={"mode": "open"}, participants=[{"name": "Alice"}],
                   dialogs=[{"kind": "recording_notice", "at": 0}])
    page = await new_page()
    await join(page, sc)
    notice = page.locator(".zm-modal:has-text('This meeting is being recorded')")
    await notice.wait_for()
    assert await page.locator(".zm-modal button.zm-btn--primary").count() == 1
    sim.control(sc.meeting_code, "end")
    end = page.locator(".zm-modal:has(.zm-modal-body-title:text-is('This meeting has been ended by host'))")
    await end.wait_for(timeout=3000)
    primaries = page.locator(".zm-modal button.zm-btn--primary")
    assert await primaries.count() == 2
    assert await primaries.first.inner_text() == "Got it"  # the covered dialog's comes first in the DOM
    assert await refused(primaries.first)
    assert await refused(notice.locator("button:text-is('Leave Meeting')"))
    await end.locator("button.zm-btn--primary:text-is('OK')").click(timeout=2000)
    await page.wait_for_url("https://app.zoom.us/", timeout=3000)
    # The page reports the end on a request of its own, which may land after the navigation.
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=3)
    t = sim.truth(sc.meeting_code)
    assert [(d["kind"], d["dismissed_at"], d["reason"]) for d in t["dialogs"]] == [
        ("recording_notice", None, None)]
    assert t["end_kind"] == "host_ended" and t["variants"]["end_over_dialog"] is True


async def end_over_opened_notice(sim: SimulatorServer, new_page: Any) -> None:
    sc = await add(sim, zoom={"launcher": False, "audio_join": "footer", "end_over_dialog": True},
                   lobby={"mode": "open"}, participants=[{"name": "Alice"}],
                   dialogs=[{"kind": "camera_not_detected", "at": 0}])
    page = await new_page()
    await join(page, sc)
    camera = page.locator(".zm-modal:has-text('Cannot detect your camera')")
    await camera.wait_for()
    assert await camera.locator("button.zm-btn--primary:text-is('OK')").count() == 1
    await page.get_by_label("close").click()  # SA's way (2.2 step 10)
    await camera.wait_for(state="detached")
    assert await page.locator(".zm-modal").count() == 0
    sim.control(sc.meeting_code, "remove")
    end = page.locator(".zm-modal:has(.zm-modal-body-title:text-is('You have been removed'))")
    await end.wait_for(timeout=3000)
    assert await page.locator(".zm-modal").count() == 2
    assert await refused(page.locator(".zm-modal button.zm-btn--primary").first)
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=3)
    t = sim.truth(sc.meeting_code)
    assert [(d["kind"], d["button"], d["reason"]) for d in t["dialogs"]] == [
        ("camera_not_detected", "close", None), ("recording_notice", None, "end_over_dialog")]
    assert t["dialogs"][1]["shown_at"] <= t["ended_at"] + 0.01 and t["end_kind"] == "removed"


async def stacked_notices_plain_end(sim: SimulatorServer, new_page: Any) -> None:
    sc = await add(sim, zoom={"launcher": False}, lobby={"mode": "open"}, participants=[{"name": "Alice"}],
                   dialogs=[{"kind": "camera_not_detected", "at": 0}, {"kind": "recording_notice", "at": 0}])
    page = await new_page()
    await join(page, sc)
    camera = page.locator(".zm-modal:has-text('Cannot detect your camera')")
    notice = page.locator(".zm-modal:has-text('This meeting is being recorded')")
    await notice.wait_for()
    assert await refused(camera.locator("button:text-is('OK')"))  # under the notice shown after it
    assert await refused(page.locator(f"{AUDIO_BTN}"))
    await notice.locator("button.zm-btn--primary").click()
    await camera.locator("button:text-is('OK')").click(timeout=2000)
    # The Join Audio dialog (audio_join "dialog") was under both; now it is on top.
    await page.click(".ReactModal__Content button:text-is('Join Audio by Computer')", timeout=2000)
    sim.control(sc.meeting_code, "end")
    await page.wait_for_selector(f"{END_TITLE}:text-is('This meeting has been ended by host')", timeout=3000)
    assert await page.locator(".zm-modal").count() == 1
    await sim.wait_for_event(sc.meeting_code, "ended", timeout=3)
    t = sim.truth(sc.meeting_code)
    assert [(d["kind"], d["button"]) for d in t["dialogs"]] == [("camera_not_detected", "OK"),
                                                                ("recording_notice", "Got it")]
    assert t["audio_join_mode"] == "dialog" and t["variants"]["end_over_dialog"] is False


async def test_notices_and_end_over_dialog(sim: SimulatorServer, new_page: Any) -> None:
    await side_by_side({"over_open": end_over_open_notice(sim, new_page),
                        "over_opened": end_over_opened_notice(sim, new_page),
                        "plain": stacked_notices_plain_end(sim, new_page)})
