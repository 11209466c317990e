"""Microsoft Teams: every URL, selector and text the bot relies on, and the flow that uses them.

Signals follow shared/reference/platforms.md §3. Anonymous guests go through a launcher
("Continue on this browser"), a media-permission modal and the pre-join screen; a sign-in bounce
to login.microsoftonline.com means the meeting does not admit anonymous guests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

from playwright.async_api import Locator, Page

from bot.errors import JoinError
from bot.outcomes import Outcome
from platforms.base import (
    MeetingEnded,
    MeetingEvent,
    MeetingRef,
    ParticipantCount,
    PlatformAdapter,
    contains_any,
    split_link,
)

log = logging.getLogger("meetbot.platforms.teams")

_HOSTS = ("teams.microsoft.com", "teams.live.com")
_MEETUP = re.compile(r"/l/meetup-join/(?P<thread>[^/?#]+)/(?P<msg>[^/?#]+)(?:\?(?P<query>[^#]*))?")
_MEET = re.compile(r"^/meet/(?P<id>[A-Za-z0-9]{6,40})/?$")
_LOGIN_HOSTS = ("login.microsoftonline.com", "login.live.com")
_ENDED_URL = re.compile(r"/postmeeting|/meetingended|calling/end")


@dataclass(frozen=True)
class _Selectors:
    continue_on_browser: tuple[str, ...] = (
        'button[data-tid="joinOnWeb"]',
        'button[aria-label="Join meeting from this browser"]',
        'button[aria-label="Continue on this browser"]',
        'button[aria-label="Join on this browser"]',
        'button:has-text("Continue on this browser")',
        'button:has-text("Join from browser")',
    )
    no_media: tuple[str, ...] = ('button:has-text("Continue without audio or video")',)
    name_input: tuple[str, ...] = (
        'input[data-tid="prejoin-display-name-input"]', "#prejoin-display-name",
        'input[placeholder="Type your name"]',
    )
    mic_toggle: str = '[data-tid="toggle-mute"]'
    camera_toggle: str = '[data-tid="toggle-video"]'
    join_button: str = 'button[data-tid="prejoin-join-button"]'
    login_form: str = 'input[name="loginfmt"]'
    captcha: str = '[data-tid="HIP-Captcha-Image"]'
    in_call: tuple[str, ...] = (
        "#hangup-button", '[data-inp="hangup-button"]', 'button[data-tid="hangup-main-btn"]',
        "#callingButtons-showMoreBtn",
    )
    leave: tuple[str, ...] = ("#hangup-button", 'button[data-tid="hangup-main-btn"]',
                              'button[aria-label="Leave"]')
    tile: str = '[data-stream-type="Video"][data-tid]'
    outline: str = '[data-tid="voice-level-stream-outline"]'
    speaking_class: str = "vdi-frame-occlusion"
    badge: str = '#roster-button span[data-tid="toolbar-item-badge"], span[data-tid="toolbar-item-badge"]'
    retry_title: str = "#calling-retry-screen-title"
    rejoin: str = 'button[data-tid="anon-meeting-end-screen-rejoin-button"]'
    close: tuple[str, ...] = ('button[aria-label="Close"]', 'button[title="Close"]')


SELECTORS = _Selectors()


@dataclass(frozen=True)
class _Texts:
    login: tuple[str, ...] = (
        "We need to verify your info before you can join", "To join, sign in or use Teams on the web",
    )
    captcha: tuple[str, ...] = ("Verify you're a real person",)
    bad_url: tuple[str, ...] = ("Looks like the meeting URL is incorrect",)
    lobby: tuple[str, ...] = (
        "Someone will let you in soon", "Someone will let you in shortly",
        "Waiting for someone to let you in", "Waiting to be admitted",
        "Your request to join has been sent", "Someone in the meeting should let you in soon",
    )
    denied: tuple[str, ...] = (
        "Sorry, but you were denied access to the meeting", "Your request to join was declined",
    )
    removed: tuple[str, ...] = (
        "You've been removed from this meeting", "You have been removed from this meeting",
        "Removed from the meeting", "Removed from meeting",
    )
    ended: tuple[str, ...] = (
        "The meeting has ended", "This meeting has ended", "The call has ended", "Meeting ended",
        "Call ended", "You left the meeting",
    )


TEXTS = _Texts()


class TeamsAdapter(PlatformAdapter):
    name: ClassVar[str] = "teams"
    _MEETUP_EXAMPLE = ("https://teams.microsoft.com/l/meetup-join/19%3Ameeting_NjQ5ZDk%40thread.v2/0"
                       "?context=%7B%22Tid%22%3A%22t1%22%2C%22Oid%22%3A%22o1%22%7D")
    URL_TESTS: ClassVar[list[tuple[str, str | None]]] = [
        ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ5ZDk%40thread.v2/0"
         "?context=%7b%22Tid%22%3a%22t1%22%2c%22Oid%22%3a%22o1%22%7d", _MEETUP_EXAMPLE),
        ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ5ZDk%40thread.v2/0?context={bad", None),
        ("https://teams.microsoft.com/v2/?meetingjoin=true#/l/meetup-join/19%3ameeting_NjQ5ZDk%40thread.v2/0"
         "?context=%7b%22Tid%22%3a%22t1%22%2c%22Oid%22%3a%22o1%22%7d&anon=true", _MEETUP_EXAMPLE),
        ("https://teams.microsoft.com/dl/launcher/launcher.html?url=%2F_%23%2Fl%2Fmeetup-join%2F19%253ameeting_"
         "NjQ5ZDk%2540thread.v2%2F0%3Fcontext%3D%257b%2522Tid%2522%253a%2522t1%2522%252c%2522Oid%2522%253a"
         "%2522o1%2522%257d&type=meetup-join", _MEETUP_EXAMPLE),
        ("https://teams.live.com/meet/9391234567890?p=AbCdEf", "https://teams.live.com/meet/9391234567890?p=AbCdEf"),
        ("https://teams.microsoft.com/meet/2512345678?p=xyz", "https://teams.microsoft.com/meet/2512345678?p=xyz"),
        ("teams.live.com/meet/9391234567890", "https://teams.live.com/meet/9391234567890"),
        ("https://teams.microsoft.com/", None),
        ("https://teams.microsoft.com/l/chat/0/0?users=a@b.c", None),
        ("https://teams.live.com/meet/", None),
    ]

    def __init__(self, ref: MeetingRef, page: Page) -> None:
        super().__init__(ref, page)
        self._missing = 0

    # -- URLs ---------------------------------------------------------------------------------
    @classmethod
    def parse_url(cls, url: str) -> MeetingRef | None:
        parts = split_link(url)
        host = (parts.hostname or "").lower() if parts else ""
        if parts is None or host not in _HOSTS:
            return None
        # The meetup-join part may sit in the path, in the fragment (/v2/), or quoted inside the
        # launcher's url parameter.
        candidates = [parts.path + ("?" + parts.query if parts.query else ""), parts.fragment]
        candidates += [unquote(u) for u in parse_qs(parts.query).get("url", [])]
        for cand in candidates:
            if m := _MEETUP.search(cand):
                thread, msg = m.group("thread"), m.group("msg")
                query = parse_qs(m.group("query") or "")
                context = (query.get("context") or [None])[0]
                url_out = f"https://{host}/l/meetup-join/{quote(unquote(thread), safe='')}/{msg}"
                if context:
                    try:
                        json.loads(context)
                    except ValueError as exc:
                        raise JoinError(Outcome.INVALID_MEETING_URL,
                                        "the Teams link's context is not valid JSON") from exc
                    url_out += "?context=" + quote(context, safe="")
                return MeetingRef(platform=cls.name, url=url_out, meeting_id=unquote(thread))
            path = cand.split("?")[0]
            if m := _MEET.match(path):
                query = parse_qs(parts.query if cand is candidates[0] else cand.partition("?")[2])
                passcode = (query.get("p") or [None])[0]
                url_out = f"https://{host}/meet/{m.group('id')}"
                if passcode:
                    url_out += f"?p={quote(passcode)}"
                return MeetingRef(platform=cls.name, url=url_out, meeting_id=m.group("id"),
                                  passcode=passcode)
        raise JoinError(Outcome.INVALID_MEETING_URL,
                        "a Teams link looks like https://teams.microsoft.com/l/meetup-join/... "
                        "or https://teams.live.com/meet/<id>?p=<passcode>")

    # -- join ---------------------------------------------------------------------------------
    async def _join(self, *, bot_name: str, camera_on: bool) -> None:
        await self.page.goto(self.ref.url, wait_until="domcontentloaded")
        name_input = await self._reach_prejoin()
        await name_input.click()
        await name_input.fill(bot_name)
        if await name_input.input_value() != bot_name:
            await name_input.fill("")
            await name_input.press_sequentially(bot_name, delay=15)
        await self._set_toggle(SELECTORS.mic_toggle, on=False)
        if camera_on:
            await self._set_toggle(SELECTORS.camera_toggle, on=True)
        await self._click_if_visible(SELECTORS.no_media)
        button = self.page.locator(SELECTORS.join_button).first
        await button.wait_for(state="visible", timeout=15_000)
        await button.click()
        log.info("join requested")

    async def _reach_prejoin(self) -> Locator:
        for _ in range(600):
            await self._raise_if_blocked(await self._body_text())
            await self._click_if_visible(SELECTORS.continue_on_browser)
            await self._click_if_visible(SELECTORS.no_media)
            for sel in SELECTORS.name_input:
                loc = self.page.locator(sel).first
                if await loc.is_visible():
                    return loc
            await asyncio.sleep(0.1)
        raise JoinError(Outcome.INTERNAL_ERROR, "the Teams pre-join screen did not appear")

    async def _set_toggle(self, selector: str, *, on: bool) -> None:
        toggle = self.page.locator(selector).first
        if not await toggle.is_visible():
            return
        state = (await toggle.get_attribute("aria-checked")) or (
            "true" if await toggle.get_attribute("checked") is not None else "false")
        if (state == "true") != on:
            await toggle.click()

    async def _raise_if_blocked(self, text: str) -> None:
        host = (urlsplit(self.page.url).hostname or "").lower()
        if host in _LOGIN_HOSTS or await self.page.locator(SELECTORS.login_form).first.is_visible():
            raise JoinError(Outcome.LOGIN_REQUIRED, "Teams sent the guest to a sign-in page")
        if hit := contains_any(text, TEXTS.login):
            raise JoinError(Outcome.LOGIN_REQUIRED, hit)
        if hit := contains_any(text, TEXTS.bad_url):
            raise JoinError(Outcome.MEETING_NOT_FOUND, hit)
        if await self.page.locator(SELECTORS.captcha).first.is_visible() or contains_any(text, TEXTS.captcha):
            raise JoinError(Outcome.BLOCKED_BY_PLATFORM, "Teams asks the bot to solve a captcha")

    # -- waiting room -------------------------------------------------------------------------
    async def _wait_admitted(self, on_waiting_room: Callable[[], None]) -> None:
        in_lobby = False
        while True:
            text = await self._body_text()
            if hit := contains_any(text, TEXTS.denied):
                raise JoinError(Outcome.DENIED_ADMISSION, hit)
            await self._raise_if_blocked(text)
            if hit := contains_any(text, TEXTS.removed):
                raise JoinError(Outcome.DENIED_ADMISSION, hit)
            if hit := contains_any(text, TEXTS.ended):
                raise JoinError(Outcome.MEETING_ENDED, hit)
            await self._click_if_visible(SELECTORS.no_media)  # it can come back after Join
            lobby = contains_any(text, TEXTS.lobby)
            if not lobby and await self._first_visible(SELECTORS.in_call) \
                    and not await self.page.locator(SELECTORS.join_button).first.is_visible():
                await self._click_if_visible(SELECTORS.close)
                return
            if lobby and not in_lobby:
                in_lobby = True
                log.info("in waiting room", extra={"text": lobby})
                on_waiting_room()
            await asyncio.sleep(0.25)

    # -- in call ------------------------------------------------------------------------------
    def _speaking_js(self) -> str:
        # The outline's class is the documented signal; some builds never toggle it and only
        # restyle the outline, so a visible, non-transparent outline counts too.
        return f"""() => {{
          const out = [];
          for (const tile of document.querySelectorAll({SELECTORS.tile!r})) {{
            const name = tile.getAttribute('data-tid');
            const outline = tile.querySelector({SELECTORS.outline!r});
            if (!name || !outline) continue;
            let lit = outline.classList.contains({SELECTORS.speaking_class!r});
            if (!lit) {{
              const label = (outline.getAttribute('aria-label') || '').toLowerCase();
              lit = label.includes('speaking') || label.includes('talking');
            }}
            if (!lit && outline.getAttribute('style')) {{
              const cs = getComputedStyle(outline);
              lit = parseFloat(cs.opacity) > 0.5 && cs.visibility !== 'hidden'
                    && cs.display !== 'none' && cs.borderStyle !== 'none'
                    && parseFloat(cs.borderWidth || '0') > 0;
            }}
            if (lit) out.push(name);
          }}
          return out;
        }}"""

    async def _state(self) -> list[MeetingEvent]:
        text = await self._body_text()
        if hit := contains_any(text, TEXTS.removed):
            return [MeetingEnded(Outcome.REMOVED_BY_HOST, hit)]
        if await self.page.locator(SELECTORS.rejoin).first.is_visible() or _ENDED_URL.search(self.page.url):
            return [MeetingEnded(Outcome.MEETING_ENDED, "the meeting's end screen is shown")]
        if hit := contains_any(text, TEXTS.ended):
            return [MeetingEnded(Outcome.MEETING_ENDED, hit)]
        if await self._first_visible(SELECTORS.leave) is None:
            self._missing += 1
            if self._missing >= 3:
                return [MeetingEnded(Outcome.MEETING_ENDED, "the call controls are gone")]
        else:
            self._missing = 0
        badge = self.page.locator(SELECTORS.badge).first
        if await badge.count():
            digits = re.sub(r"\D", "", await badge.inner_text())
            if digits:
                return [ParticipantCount(int(digits))]
        tiles = await self.page.locator(SELECTORS.tile).count()
        return [ParticipantCount(tiles)] if tiles else []

    async def _leave(self) -> None:
        if await self._click_if_visible(SELECTORS.leave):
            await asyncio.sleep(0.5)
