"""Google Meet: every URL, selector and text the bot relies on, and the flow that uses them.

Signals follow shared/reference/platforms.md §1 (as documented by open-source bots). Obfuscated
class names change: semantic attributes and visible texts come first, classes only as fallback.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from playwright.async_api import Locator

from bot.errors import JoinError
from bot.outcomes import Outcome
from platforms.base import (
    MeetingEnded,
    MeetingEvent,
    MeetingRef,
    ParticipantCount,
    PlatformAdapter,
    contains_any,
    normalize_text,
    split_link,
)

log = logging.getLogger("meetbot.platforms.google_meet")

HOST = "meet.google.com"
_CODE = re.compile(r"^([a-z]{3})-?([a-z]{4})-?([a-z]{3})$")
_LOOKUP = re.compile(r"^lookup/[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class _Selectors:
    name_input: tuple[str, ...] = (
        'input[type="text"][aria-label="Your name"]',
        'input[jsname][type="text"]',
        'input[type="text"]:not([aria-hidden="true"])',
        'input[placeholder*="name" i]',
    )
    mic_off: str = '[aria-label="Turn off microphone"]'
    mic_is_off: str = '[aria-label="Turn on microphone"]'
    camera_off: str = '[aria-label="Turn off camera"]'
    camera_is_off: str = '[aria-label="Turn on camera"]'
    dialog: str = 'div[aria-modal="true"][role="dialog"]'
    dialog_ok: str = 'button[data-mdc-dialog-action="ok"]'
    # Present in the call and absent from the lobby (the Leave button and toggles are in both).
    in_call: tuple[str, ...] = (
        'button[aria-label="Turn on captions"]',
        'button[aria-label="Turn off captions"]',
        'button[aria-label*="Present now"]',
        'button[aria-label*="Share screen"]',
    )
    leave: str = 'button[aria-label="Leave call"]'
    tile: str = "[data-participant-id]"
    tile_name: str = "span.notranslate"
    self_marker: str = "[data-self-name]"
    avatar_count: str = "[data-avatar-count]"
    people_button: str = 'button[aria-label^="People"]'


SELECTORS = _Selectors()
SPEAKING_CLASSES = ("Oaajhc", "HX2H7", "wEsLMd", "OgVli")


@dataclass(frozen=True)
class _Texts:
    join_buttons: tuple[str, ...] = (
        "Ask to join", "Ask to join anyway", "Join now", "Join the call now", "Join anyway",
        "Join here too", "Switch here",
    )
    dismiss_buttons: tuple[str, ...] = ("Got it", "Continue without microphone and camera", "Dismiss")
    consent_dialog: tuple[str, ...] = (
        "This video call is being recorded", "Others may see your video differently",
        "This video call is being transcribed", "Gemini is taking notes",
    )
    not_found: tuple[str, ...] = (
        "Check your meeting code", "Invalid video call name", "Your meeting code has expired",
        "The meeting code you entered doesn’t work",
    )
    blocked: tuple[str, ...] = (
        "You can't join this video call", "There is a problem connecting to this video call",
    )
    waiting: tuple[str, ...] = (
        "Asking to be let in", "You’ll join the call when someone lets you in",
        "Please wait until a meeting host brings you into the call",
        "Waiting for the host to let you in", "You're in the waiting room",
        "Waiting for the host to join",
    )
    denied: tuple[str, ...] = (
        "Someone in the call denied your request to join", "Your request to join was denied",
        "You were denied", "weren’t allowed to join", "can’t join this call",
    )
    no_response: tuple[str, ...] = ("No one responded to your request to join the call",)
    removed: tuple[str, ...] = ("You've been removed from the meeting",)
    ended: tuple[str, ...] = (
        "Your host ended the meeting for everyone", "The call ended", "Meeting ended",
        "Call ended", "You left the meeting",
    )


TEXTS = _Texts()
_PEOPLE_COUNT = re.compile(r"People\s*-\s*(\d+)\s+joined", re.I)


class GoogleMeetAdapter(PlatformAdapter):
    name: ClassVar[str] = "google_meet"
    URL_TESTS: ClassVar[list[tuple[str, str | None]]] = [
        ("https://meet.google.com/abc-defg-hij", "https://meet.google.com/abc-defg-hij"),
        ("https://meet.google.com/abc-defg-hij?authuser=0&hl=fr", "https://meet.google.com/abc-defg-hij"),
        ("meet.google.com/abc-defg-hij", "https://meet.google.com/abc-defg-hij"),
        ("http://meet.google.com/ABC-DEFG-HIJ/", "https://meet.google.com/abc-defg-hij"),
        ("https://meet.google.com/abcdefghij", "https://meet.google.com/abc-defg-hij"),
        ("  'https://meet.google.com/abc-defg-hij'  ", "https://meet.google.com/abc-defg-hij"),
        ("https%3A%2F%2Fmeet.google.com%2Fabc-defg-hij", "https://meet.google.com/abc-defg-hij"),
        ("https://meet.google.com/lookup/teamsync", "https://meet.google.com/lookup/teamsync"),
        ("https://meet.google.com/", None),
        ("https://meet.google.com/new", None),
        ("https://meet.google.com/abc-defg", None),
        ("https://meet.google.com/abc-defg-hij https://meet.google.com/xyz-wxyz-xyz", None),
        ("ftp://meet.google.com/abc-defg-hij", None),
    ]

    # -- URLs -------------------------------------------------------------------------------------
    @classmethod
    def parse_url(cls, url: str) -> MeetingRef | None:
        parts = split_link(url)
        if parts is None or (parts.hostname or "").lower() != HOST:
            return None
        if parts.scheme not in ("http", "https"):
            raise JoinError(Outcome.INVALID_MEETING_URL, "a Google Meet link must be http(s)")
        path = parts.path.strip("/")
        if _LOOKUP.match(path):
            return MeetingRef(platform=cls.name, url=f"https://{HOST}/{path}", meeting_id=path)
        m = _CODE.match(path.lower())
        if not m:
            raise JoinError(Outcome.INVALID_MEETING_URL,
                            "a Google Meet link looks like https://meet.google.com/abc-defg-hij")
        code = "-".join(m.groups())
        return MeetingRef(platform=cls.name, url=f"https://{HOST}/{code}", meeting_id=code)

    # -- join -------------------------------------------------------------------------------------
    async def _join(self, *, bot_name: str, camera_on: bool) -> None:
        # hl=en pins the UI language: every text below is English.
        await self.page.goto(f"{self.ref.url}?hl=en", wait_until="domcontentloaded")
        name_input = await self._wait_for_prejoin()
        await name_input.fill(bot_name)
        if await name_input.input_value() != bot_name:
            await name_input.fill("")
            await name_input.press_sequentially(bot_name, delay=20)
        await self._toggle_off(SELECTORS.mic_off, SELECTORS.mic_is_off)
        if not camera_on:
            await self._toggle_off(SELECTORS.camera_off, SELECTORS.camera_is_off)
        button = self._join_button()
        await button.wait_for(state="visible", timeout=15_000)
        for _ in range(50):  # the button is disabled until the name is accepted
            if await button.is_enabled():
                break
            await asyncio.sleep(0.1)
        label = (await button.inner_text()).strip()
        await button.click()
        log.info("join requested", extra={"button": label})

    async def _wait_for_prejoin(self) -> Locator:
        for _ in range(600):
            await self._raise_if_refused(await self._body_text())
            await self._dismiss_interruptions()
            for sel in SELECTORS.name_input:
                loc = self.page.locator(sel).first
                if await loc.is_visible():
                    return loc
            if await self._join_button().is_visible():
                raise JoinError(Outcome.LOGIN_REQUIRED,
                                "the pre-join page has no name field: the browser profile is signed in")
            await asyncio.sleep(0.1)
        raise JoinError(Outcome.INTERNAL_ERROR, "the Google Meet pre-join page did not appear")

    def _join_button(self) -> Locator:
        pattern = re.compile("^(" + "|".join(re.escape(t) for t in TEXTS.join_buttons) + ")$")
        return self.page.locator("button", has=self.page.locator("span", has_text=pattern)).first

    async def _toggle_off(self, on_selector: str, off_selector: str) -> None:
        toggle = self.page.locator(on_selector).first
        if not await toggle.is_visible():
            return
        await toggle.click()
        try:
            await self.page.locator(off_selector).first.wait_for(state="attached", timeout=3_000)
        except Exception:
            log.warning("toggle did not switch off", extra={"selector": on_selector})

    # -- waiting room -------------------------------------------------------------------------
    async def _wait_admitted(self, on_waiting_room: Callable[[], None]) -> None:
        in_lobby = False
        while True:
            text = await self._body_text()
            # Lobby text stays in the DOM after a denial: look for the refusal first.
            await self._raise_if_refused(text)
            await self._dismiss_interruptions()
            waiting = contains_any(text, TEXTS.waiting)
            if not waiting and await self._in_call():
                return
            if waiting and not in_lobby:
                in_lobby = True
                log.info("in waiting room", extra={"text": waiting})
                on_waiting_room()
            await asyncio.sleep(0.25)

    async def _in_call(self) -> bool:
        for sel in SELECTORS.in_call:
            if await self.page.locator(sel).first.is_visible():
                return True
        # A tile with a name is a call; the self "effects" element has an id but no name.
        named = self.page.locator(SELECTORS.tile).filter(has=self.page.locator(SELECTORS.tile_name))
        return await named.count() > 0

    async def _raise_if_refused(self, text: str) -> None:
        if hit := contains_any(text, TEXTS.denied):
            raise JoinError(Outcome.DENIED_ADMISSION, hit)
        if hit := contains_any(text, TEXTS.no_response):
            # Meet's own lobby timeout, not a denial.
            raise JoinError(Outcome.WAITING_ROOM_TIMEOUT, hit)
        if hit := contains_any(text, TEXTS.not_found):
            raise JoinError(Outcome.MEETING_NOT_FOUND, hit)
        if hit := contains_any(text, TEXTS.blocked):
            raise JoinError(Outcome.BLOCKED_BY_PLATFORM, hit)
        if hit := contains_any(text, TEXTS.removed):
            raise JoinError(Outcome.DENIED_ADMISSION, hit)
        if hit := contains_any(text, TEXTS.ended):
            raise JoinError(Outcome.MEETING_ENDED, hit)
        if "accounts.google.com" in self.page.url or (
            "Sign in" in text and "Google Account" in text
        ):
            raise JoinError(Outcome.LOGIN_REQUIRED, "Google asks the bot to sign in")

    async def _dismiss_interruptions(self) -> None:
        dialog = self.page.locator(SELECTORS.dialog)
        if await dialog.count() and await dialog.first.is_visible():
            text = normalize_text(await dialog.first.inner_text())
            if contains_any(text, TEXTS.consent_dialog):
                ok = dialog.first.locator(SELECTORS.dialog_ok)
                if await ok.count():
                    await ok.first.click()
                    log.info("consent dialog accepted")
        for label in TEXTS.dismiss_buttons:
            btn = self.page.get_by_role("button", name=label, exact=True)
            if await btn.count() and await btn.first.is_visible():
                await btn.first.click()

    # -- in call ------------------------------------------------------------------------------
    def _speaking_js(self) -> str:
        classes = ",".join(f".{c}" for c in SPEAKING_CLASSES)
        return f"""() => {{
          const out = [];
          for (const tile of document.querySelectorAll({SELECTORS.tile!r})) {{
            const self = {SELECTORS.self_marker!r};
            if (tile.matches(self) || tile.querySelector(self)) continue;
            const label = tile.querySelector({SELECTORS.tile_name!r});
            const name = label && label.textContent.trim();
            if (!name || name.startsWith('Google Participant (')) continue;
            if (name.includes('spaces/') || name.includes('devices/')) continue;
            const lit = tile.matches({classes!r}) || tile.querySelector({classes!r})
              || tile.querySelector('[data-audio-level]:not([data-audio-level="0"])');
            if (lit) out.push(name);
          }}
          return out;
        }}"""

    async def _state(self) -> list[MeetingEvent]:
        text = await self._body_text()
        if hit := contains_any(text, TEXTS.removed):
            return [MeetingEnded(Outcome.REMOVED_BY_HOST, hit)]
        if hit := contains_any(text, TEXTS.ended):
            return [MeetingEnded(Outcome.MEETING_ENDED, hit)]
        await self._dismiss_interruptions()
        count = await self._participant_count()
        return [ParticipantCount(count)] if count is not None else []

    async def _participant_count(self) -> int | None:
        raw = await self.page.evaluate(
            """([countSel, peopleSel, tileSel, nameSel]) => {
                 const c = document.querySelector(countSel);
                 if (c) return {avatar: c.getAttribute('data-avatar-count')};
                 const p = document.querySelector(peopleSel);
                 if (p) return {people: p.getAttribute('aria-label')};
                 const ids = new Set();
                 for (const t of document.querySelectorAll(tileSel))
                   if (t.querySelector(nameSel)) ids.add(t.getAttribute('data-participant-id'));
                 return {tiles: ids.size};
               }""",
            [SELECTORS.avatar_count, SELECTORS.people_button, SELECTORS.tile, SELECTORS.tile_name],
        )
        if "avatar" in raw and str(raw["avatar"]).isdigit():
            return int(raw["avatar"])
        if "people" in raw and (m := _PEOPLE_COUNT.search(str(raw["people"]))):
            return int(m.group(1))
        if raw.get("tiles"):
            return int(raw["tiles"])
        # Tiles vanish during screen share: no signal is not the same as nobody.
        return None

    async def _leave(self) -> None:
        button = self.page.locator(SELECTORS.leave).first
        if await button.is_visible():
            await button.click(timeout=5_000)
            await asyncio.sleep(0.5)
