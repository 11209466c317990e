"""Zoom web client: every URL, selector and text the bot relies on, and the flow that uses them.

Signals follow shared/reference/platforms.md §2. Zoom serves two web clients (React at
``/wc/<id>/join``, classic at ``/wc/join/<id>``), sometimes inside ``iframe#webclient``; the flow
looks for each signal in both the page and that frame.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qs, urlencode

from playwright.async_api import Frame, Locator, Page

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

log = logging.getLogger("meetbot.platforms.zoom")

_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*zoom\.(?:us|com)$")
_PATHS = (
    re.compile(r"^/j/(?P<id>\d{9,12})$"),
    re.compile(r"^/wc/(?P<id>\d{9,12})/join$"),
    re.compile(r"^/wc/join/(?P<id>\d{9,12})$"),
    re.compile(r"^/s/(?P<id>\d{9,12})$"),
    re.compile(r"^/my/(?P<vanity>[A-Za-z0-9._-]{2,64})$"),
)
_PWD = re.compile(r"^[A-Za-z0-9]+(?:\.\d+)?$")


@dataclass(frozen=True)
class _Selectors:
    cookie_accept: tuple[str, ...] = ("#onetrust-accept-btn-handler", 'button:has-text("Accept Cookies")')
    join_from_browser: str = 'a:has-text("Join from your browser")'
    download_now: str = 'button:has-text("Download Now"), a:has-text("Download Now")'
    client_frame: str = "iframe#webclient"
    name_input: tuple[str, ...] = ("#input-for-name", "#inputname")
    passcode_input: tuple[str, ...] = (
        "#input-for-pwd", 'input[placeholder*="passcode" i]', 'input[type="password"]')
    mic_live: str = '#preview-audio-control-button[aria-label="Mute"]'
    camera_off_state: str = '#preview-video-control-button[aria-label="Start Video"]'
    join_button: tuple[str, ...] = ("button.preview-join-button", "#joinBtn")
    permission_allow: tuple[str, ...] = (
        'button:has-text("Allow")', 'button:has-text("Continue without microphone and camera")')
    leave: str = 'button[aria-label="Leave"]'
    leave_confirm: str = "button.leave-meeting-options__btn--danger"
    meeting_app: str = ".meeting-app"
    join_audio: tuple[str, ...] = (
        'button:has-text("Join Audio by Computer")', 'button:has-text("Join with Computer Audio")',
        'button.join-audio-container__btn[aria-label*="join audio" i]',
    )
    modal_ok: str = ".zm-modal button.zm-btn--primary"
    active_speaker: tuple[str, ...] = (
        ".speaker-active-container__video-frame .video-avatar__avatar-footer span",
        ".speaker-bar-container__video-frame--active .video-avatar__avatar-footer span",
        ".single-main-container__video-frame .video-avatar__avatar-footer span",
    )
    counter: str = ".footer-button__participants-icon .footer-button__number-counter span"
    recaptcha: str = 'iframe[src*="recaptcha"]'


SELECTORS = _Selectors()


@dataclass(frozen=True)
class _Texts:
    invalid: tuple[str, ...] = ("This meeting link is invalid", "Invalid meeting ID")
    signin: tuple[str, ...] = (
        "sign in to join this meeting", "authentication is required",
        "only authenticated users can join", "The host requires authentication",
    )
    bot_wall: tuple[str, ...] = ("We detected you may be a bot", "Automated bots aren't allowed",
                                 "must use Zoom RTMS")
    passcode_wrong: tuple[str, ...] = ("Passcode wrong", "Incorrect passcode")
    waiting: tuple[str, ...] = (
        "Please wait, the meeting host will let you in soon",
        "Waiting for the host to start this meeting", "Waiting for the host to start the meeting",
        "Host has joined. We've let them know you're here", "waiting room",
    )
    removed: tuple[str, ...] = ("You have been removed", "removed from the meeting")
    ended: tuple[str, ...] = ("This meeting has been ended by host", "meeting has ended",
                              "ended by the host", "host ended the meeting", "Meeting is end now")


TEXTS = _Texts()


class ZoomAdapter(PlatformAdapter):
    name: ClassVar[str] = "zoom"
    SPEAKER_ENDS_VISIBLE: ClassVar[bool] = False
    URL_TESTS: ClassVar[list[tuple[str, str | None]]] = [
        ("https://zoom.us/j/84512345678?pwd=AbCd1234", "https://zoom.us/j/84512345678?pwd=AbCd1234"),
        ("https://us05web.zoom.us/j/84512345678?pwd=AbCd1234.1&uname=x",
         "https://us05web.zoom.us/j/84512345678?pwd=AbCd1234.1"),
        ("zoom.us/j/845123456", "https://zoom.us/j/845123456"),
        ("https://app.zoom.us/wc/84512345678/join?pwd=x1", "https://app.zoom.us/wc/84512345678/join?pwd=x1"),
        ("https://zoom.us/wc/join/84512345678", "https://zoom.us/wc/join/84512345678"),
        ("https://zoom.com/j/84512345678", "https://zoom.us/j/84512345678"),
        ("https://acme.zoom.us/my/jane.doe", "https://acme.zoom.us/my/jane.doe"),
        ("https://zoom.us/j/84512345678#success", "https://zoom.us/j/84512345678"),
        ("https://zoom.us/", None),
        ("https://zoom.us/j/abc", None),
        ("https://zoom.us/j/84512345678?pwd=bad%20pwd!", None),
        ("https://zoom.us/signin", None),
    ]

    # -- URLs ---------------------------------------------------------------------------------
    @classmethod
    def parse_url(cls, url: str) -> MeetingRef | None:
        parts = split_link(url)
        host = (parts.hostname or "").lower() if parts else ""
        if parts is None or not _HOST.match(host):
            return None
        host = host.replace("zoom.com", "zoom.us")
        path = parts.path.rstrip("/")
        match = next((m for p in _PATHS if (m := p.match(path))), None)
        if match is None:
            raise JoinError(Outcome.INVALID_MEETING_URL,
                            "a Zoom link looks like https://zoom.us/j/<meeting id>?pwd=<passcode>")
        query = parse_qs(parts.query)
        pwd = (query.get("pwd") or [None])[0]
        if pwd is not None and not _PWD.match(pwd):
            raise JoinError(Outcome.INVALID_MEETING_URL, "the Zoom link's pwd parameter is malformed")
        keep = {"pwd": pwd} if pwd else {}
        canonical = f"https://{host}{path}" + (f"?{urlencode(keep)}" if keep else "")
        meeting_id = match.groupdict().get("id") or match.group("vanity")
        return MeetingRef(platform=cls.name, url=canonical, meeting_id=meeting_id, passcode=pwd)

    def __init__(self, ref: MeetingRef, page: Page) -> None:
        super().__init__(ref, page)
        self._missing_controls = 0

    # -- frames -------------------------------------------------------------------------------
    def _frames(self) -> list[Frame]:
        """The page and, when the client renders there, iframe#webclient."""
        frames = [self.page.main_frame]
        for f in self.page.frames:
            if f is not self.page.main_frame and (f.name == "webclient" or "/wc/" in f.url):
                frames.append(f)
        return frames

    async def _find(self, selectors: tuple[str, ...]) -> Locator | None:
        for frame in self._frames():
            for sel in selectors:
                loc = frame.locator(sel).first
                try:
                    if await loc.is_visible():
                        return loc
                except Exception:  # a frame navigating away
                    continue
        return None

    async def _text(self) -> str:
        texts = []
        for frame in self._frames():
            try:
                texts.append(await self._body_text(frame))
            except Exception:
                continue
        return " ".join(texts)

    # -- join ---------------------------------------------------------------------------------
    async def _join(self, *, bot_name: str, camera_on: bool) -> None:
        # "Download Now" on the launcher starts the desktop installer: never fetch it.
        await self.page.route("**/*.exe", lambda route: route.abort())
        await self.page.route("**/*.pkg", lambda route: route.abort())
        await self.page.goto(self.ref.url, wait_until="domcontentloaded")
        name_input = await self._reach_prejoin()
        await self._fill_passcode_if_asked()
        await name_input.fill("")
        # Typed, not set: the React client enables its join button on key events.
        await name_input.press_sequentially(bot_name, delay=15)
        # Banners and permission dialogs can arrive late and sit over the form: clear them
        # before every click.
        await self._dismiss_overlays()
        mic = await self._find((SELECTORS.mic_live,))
        if mic is not None:
            await mic.click(timeout=5_000)
        if camera_on:
            cam = await self._find((SELECTORS.camera_off_state,))
            if cam is not None:
                await cam.click(timeout=5_000)
        await self._dismiss_overlays()
        button = await self._find(SELECTORS.join_button)
        if button is None:
            raise JoinError(Outcome.INTERNAL_ERROR, "the Zoom join button is missing")
        for _ in range(50):
            cls = await button.get_attribute("class") or ""
            if await button.is_enabled() and "disabled" not in cls.split():
                break
            await asyncio.sleep(0.1)
        await self._dismiss_overlays()
        await button.click(timeout=10_000)
        log.info("join requested")

    async def _dismiss_overlays(self) -> None:
        await self._click_everywhere(SELECTORS.cookie_accept)
        await self._click_everywhere(SELECTORS.permission_allow)

    async def _reach_prejoin(self) -> Locator:
        clicked_download = False
        for _ in range(600):
            text = await self._text()
            self._raise_if_refused(text)
            await self._dismiss_overlays()
            name_input = await self._find(SELECTORS.name_input)
            if name_input is not None:
                return name_input
            link = self.page.locator(SELECTORS.join_from_browser).first
            if await link.is_visible():
                await link.click()
                log.info("launcher: joining from the browser")
            elif not clicked_download and await self.page.locator(SELECTORS.download_now).first.is_visible():
                # The browser link is revealed once a download was offered; downloads are refused.
                clicked_download = True
                await self.page.locator(SELECTORS.download_now).first.click()
            await asyncio.sleep(0.1)
        raise JoinError(Outcome.INTERNAL_ERROR, "the Zoom pre-join page did not appear")

    async def _fill_passcode_if_asked(self) -> bool:
        field = await self._find(SELECTORS.passcode_input)
        if field is None:
            return False
        if not self.ref.passcode:
            raise JoinError(Outcome.PASSCODE_REQUIRED, "Zoom asks for a passcode and the link has none")
        await field.fill(self.ref.passcode)
        return True

    async def _click_everywhere(self, selectors: tuple[str, ...]) -> bool:
        loc = await self._find(selectors)
        if loc is None:
            return False
        await loc.click(timeout=5_000)
        return True

    def _raise_if_refused(self, text: str) -> None:
        if hit := contains_any(text, TEXTS.passcode_wrong):
            raise JoinError(Outcome.PASSCODE_WRONG, hit)
        if hit := contains_any(text, TEXTS.invalid):
            raise JoinError(Outcome.MEETING_NOT_FOUND, hit)
        if hit := contains_any(text, TEXTS.bot_wall):
            raise JoinError(Outcome.BLOCKED_BY_PLATFORM, hit)
        if hit := contains_any(text, TEXTS.signin):
            raise JoinError(Outcome.LOGIN_REQUIRED, hit)

    # -- waiting room -------------------------------------------------------------------------
    async def _wait_admitted(self, on_waiting_room: Callable[[], None]) -> None:
        in_lobby = False
        passcode_sent = False
        while True:
            text = await self._text()
            self._raise_if_refused(text)
            if hit := contains_any(text, TEXTS.removed):
                raise JoinError(Outcome.DENIED_ADMISSION, hit)
            if hit := contains_any(text, TEXTS.ended):
                raise JoinError(Outcome.MEETING_ENDED, hit)
            if await self._find((SELECTORS.recaptcha,)) is not None:
                raise JoinError(Outcome.BLOCKED_BY_PLATFORM, "Zoom shows a captcha")
            if not passcode_sent and await self._fill_passcode_if_asked():
                passcode_sent = True
                button = await self._find(SELECTORS.join_button)
                if button is not None:
                    await button.click()
            await self._click_everywhere(SELECTORS.permission_allow)
            # The waiting room renders inside .meeting-app too: its texts decide first.
            waiting = contains_any(text, TEXTS.waiting)
            if not waiting and await self._find((SELECTORS.leave,)) is not None:
                await self._join_computer_audio()
                return
            if waiting and not in_lobby:
                in_lobby = True
                log.info("in waiting room", extra={"text": waiting})
                on_waiting_room()
            await asyncio.sleep(0.25)

    async def _join_computer_audio(self) -> None:
        """Without this Zoom plays the bot nothing and the recording is silent."""
        for _ in range(40):
            if await self._click_everywhere(SELECTORS.join_audio):
                log.info("joined computer audio")
                return
            await asyncio.sleep(0.1)
        log.warning("no join-audio button found")

    # -- in call ------------------------------------------------------------------------------
    def _probe_frame(self) -> Frame:
        frames = self._frames()
        return frames[-1]  # the client's frame when there is one

    def _speaking_js(self) -> str:
        # Zoom shows who is speaking, not when they stop: the frame keeps the last speaker.
        return f"""() => {{
          for (const sel of {list(SELECTORS.active_speaker)!r}) {{
            const el = document.querySelector(sel);
            const name = el && el.textContent.trim();
            if (name) return [name];
          }}
          return [];
        }}"""

    async def _state(self) -> list[MeetingEvent]:
        text = await self._text()
        if hit := contains_any(text, TEXTS.removed):
            return [MeetingEnded(Outcome.REMOVED_BY_HOST, hit)]
        if hit := contains_any(text, TEXTS.ended):
            await self._click_everywhere((SELECTORS.modal_ok,))
            return [MeetingEnded(Outcome.MEETING_ENDED, hit)]
        if await self._find((SELECTORS.leave,)) is None:
            self._missing_controls += 1
            if self._missing_controls >= 3:  # a single miss can be a re-render
                return [MeetingEnded(Outcome.MEETING_ENDED, "the meeting controls are gone")]
        else:
            self._missing_controls = 0
        await self._click_everywhere(SELECTORS.join_audio[:2])
        counter = await self._find((SELECTORS.counter,))
        if counter is not None:
            digits = re.sub(r"\D", "", await counter.inner_text())
            if digits:
                return [ParticipantCount(int(digits))]
        return []

    async def _leave(self) -> None:
        button = await self._find((SELECTORS.leave,))
        if button is None:
            return
        await button.click(timeout=5_000)
        confirm = await self._wait_for((SELECTORS.leave_confirm,), 3.0)
        if confirm is not None:
            await confirm.click(timeout=5_000)
        await asyncio.sleep(0.5)

    async def _wait_for(self, selectors: tuple[str, ...], timeout: float) -> Locator | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if (loc := await self._find(selectors)) is not None:
                return loc
            await asyncio.sleep(0.1)
        return None
