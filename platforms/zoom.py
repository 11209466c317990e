"""Zoom web client: every URL, selector and text the bot relies on, and the flow that uses them.

Signals follow shared/reference/platforms.md §2. Zoom serves two web clients (React at
``/wc/<id>/join``, classic at ``/wc/join/<id>``), sometimes inside ``iframe#webclient``; every look
reads the page and that frame. Each signal below lists its fallbacks and what the adapter does when
the page shows none of them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode

from playwright.async_api import Frame, Locator, Page

from core.errors import JoinError
from core.outcomes import Outcome
from platforms.base import (
    CHAT_OPEN_S,
    CallView,
    CaptionsState,
    ChatState,
    LobbyView,
    MeetingRef,
    PlatformAdapter,
    SignalKind,
    as_arg,
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
    # Overlays that block clicks: OneTrust (accept; fallback the "Accept Cookies" text) and the
    # two-step media permission portal ("Continue without microphone and camera", or "Allow").
    # Absent: nothing to dismiss.
    cookie_accept: tuple[str, ...] = ("#onetrust-accept-btn-handler", 'button:has-text("Accept Cookies")')
    permission: tuple[str, ...] = (
        'button:has-text("Continue without microphone and camera")', 'button:has-text("Allow")')
    # Launcher (/j/ links): the "Join from your browser" link, revealed after "Download Now"
    # (whose installer download is refused). Neither and no pre-join within 60 s: internal_error.
    join_from_browser: str = 'a:has-text("Join from your browser")'
    download_now: str = 'button:has-text("Download Now"), a:has-text("Download Now")'
    client_frame_name: str = "webclient"
    # Pre-join: React #input-for-name, classic #inputname. Passcode #input-for-pwd, fallbacks a
    # passcode placeholder, a password input; asked without a pwd in the link: passcode_required.
    name_input: tuple[str, ...] = ("#input-for-name", "#inputname")
    passcode_input: tuple[str, ...] = (
        "#input-for-pwd", 'input[placeholder*="passcode" i]', 'input[type="password"]')
    mic_live: str = '#preview-audio-control-button[aria-label="Mute"]'
    camera_off_state: str = '#preview-video-control-button[aria-label="Start Video"]'
    # Join: React button.preview-join-button (disabled until a name is typed), classic #joinBtn.
    join_button: tuple[str, ...] = ("button.preview-join-button", "#joinBtn")
    recaptcha: str = 'iframe[src*="recaptcha"]'
    # Admitted: the footer Leave button (exists only in the call); fallbacks the footer bar. The
    # waiting room also renders in .meeting-app, so waiting texts are checked first.
    in_call: tuple[str, ...] = ('button[aria-label="Leave"]', "#wc-footer", "footer.footer", "#foot-bar")
    # In-call controls for "the call is over": the same footer Leave button and bar.
    controls: tuple[str, ...] = ('button[aria-label="Leave"]', "#wc-footer", "#foot-bar")
    leave: str = 'button[aria-label="Leave"]'
    leave_confirm: str = "button.leave-meeting-options__btn--danger"
    # Computer audio: the footer button reads Mute/Unmute once joined (then nothing to do);
    # otherwise the dialog's "Join Audio by Computer"/"Join with Computer Audio", or the footer
    # "join audio" button that opens it. None of them: warned, the recording may be silent.
    audio_footer: str = "button.join-audio-container__btn"
    audio_joined_labels: tuple[str, ...] = ("mute", "unmute")
    join_audio: tuple[str, ...] = (
        'button:has-text("Join Audio by Computer")', 'button:has-text("Join with Computer Audio")')
    audio_footer_join: str = 'button.join-audio-container__btn[aria-label*="join audio" i]'
    # Notices during the call: any .zm-modal / .ReactModal__Content that is not an end modal is
    # closed by its own primary button (or its close/OK), each click scoped to its dialog.
    modal: str = ".zm-modal, .ReactModal__Content"
    modal_primary: str = "button.zm-btn--primary"
    modal_close: tuple[str, ...] = ('button[aria-label="close" i]', 'button:has-text("OK")')
    end_marker: str = '[aria-label="Meeting is end now"]'
    # Speaking, primary: the name in the active-speaker frame; fallbacks the speaker bar's
    # --active frame, the single-view frame, the screen-share view. Zoom holds the last speaker,
    # so the worker ends each turn when the audio goes quiet. None: no timeline entries.
    speaker_frames: tuple[str, ...] = (
        ".speaker-active-container__video-frame",
        ".speaker-bar-container__video-frame--active",
        ".single-main-container__video-frame",
        ".single-suspension-container__video-frame",
    )
    tile_name: str = ".video-avatar__avatar-footer span"
    # Count: the footer participants counter; fallback none (no alone-detection without it).
    counter: str = ".footer-button__participants-icon .footer-button__number-counter span"


SELECTORS = _Selectors()


@dataclass(frozen=True)
class _CaptionSelectors:
    # Turning them on (reference 2.6, ATT): the footer's More control (its aria-label ends in a
    # space) -> "Captions" -> "Show Captions" in "Your caption settings". No Captions item: the
    # host has not enabled captions for this call.
    more: tuple[str, ...] = ('[aria-label="More meeting control "]', '[aria-label="More meeting control"]')
    captions_item: tuple[str, ...] = ('a[aria-label="Captions"]', '[role="menuitem"][aria-label="Captions"]')
    show: tuple[str, ...] = ('a[aria-label="Your caption settings grouping Show Captions"]',)
    # The text (not in platforms.md; what independent open-source Zoom caption readers agree on):
    # #live-transcription-subtitle holds the lines, each text a .live-transcription-subtitle__item;
    # the speaker shows only as an avatar image beside it, never as a name.
    overlay: str = ".live-transcription-subtitle__overlay-container, #live-transcription-subtitle"
    root: str = "#live-transcription-subtitle"
    text: str = ".live-transcription-subtitle__item"
    avatar: str = "img.zmu-data-selector-item__icon"


CAPTION_SELECTORS = _CaptionSelectors()


@dataclass(frozen=True)
class _ChatSelectors:
    # Open (reference 2.6): "open the chat panel", unless the list shows already. The box: the
    # TipTap editor's contenteditable, or the paragraph with its placeholder; none once open: read
    # only. Send: button[aria-label="send"].
    open: str = 'button[aria-label="open the chat panel"]'
    box: tuple[str, ...] = ('.chat-rtf-box__editor-outer [contenteditable="true"]',
                            'p[data-placeholder="Type message here ..."]')
    send: str = 'button[aria-label="send"]'
    # Messages: div[aria-label="Chat Message List"] > div[id^="chat-message-content"], whose
    # aria-label holds sender and text ("Alice to Everyone, 10:02 AM, text"); the bot's own are "You".
    list: str = 'div[aria-label="Chat Message List"]'
    message: str = 'div[id^="chat-message-content"]'
    you: str = "You"


CHAT_SELECTORS = _ChatSelectors()
CHAT_MAX_CHARS = 1024
"""Zoom's limit per message as assumed (its box says none); a refusal lowers it."""


@dataclass(frozen=True)
class _Texts:
    passcode_wrong: tuple[str, ...] = ("Passcode wrong", "Incorrect passcode")
    invalid: tuple[str, ...] = ("This meeting link is invalid", "Invalid meeting ID")
    bot_wall: tuple[str, ...] = ("We detected you may be a bot", "Automated bots aren't allowed",
                                 "must use Zoom RTMS")
    signin: tuple[str, ...] = (
        "sign in to join this meeting", "authentication is required",
        "only authenticated users can join", "The host requires authentication",
    )
    removed: tuple[str, ...] = ("You have been removed", "removed from the meeting")
    ended: tuple[str, ...] = ("This meeting has been ended by host", "meeting has ended",
                              "ended by the host", "host ended the meeting", "Meeting is end now",
                              "meeting is end")
    join_audio: tuple[str, ...] = ("Join Audio by Computer", "Join with Computer Audio")
    waiting: tuple[str, ...] = (
        "Please wait, the meeting host will let you in soon",
        "Waiting for the host to start this meeting", "Waiting for the host to start the meeting",
        "Host has joined. We've let them know you're here", "waiting room",
    )


TEXTS = _Texts()

_REFUSALS: tuple[tuple[str, Outcome], ...] = (
    ("passcode_wrong", Outcome.PASSCODE_WRONG),
    ("invalid", Outcome.MEETING_NOT_FOUND),
    ("bot_wall", Outcome.BLOCKED_BY_PLATFORM),
    ("signin", Outcome.LOGIN_REQUIRED),
    ("removed", Outcome.DENIED_ADMISSION),
    ("ended", Outcome.MEETING_ENDED),
)

# The speaker is only an avatar, so a line's id carries it: a line another speaker's words take
# over is, to the follower, a new block (its name comes from who the page showed speaking).
_READ_CAPTIONS = """
({sel}) => {
  const out = [];
  const key = (src) => {
    let h = 7;
    for (const c of String(src || '')) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return h.toString(36);
  };
  for (const root of document.querySelectorAll(sel.root)) {
    if (getComputedStyle(root.closest(sel.overlay) || root).display === 'none') continue;
    for (const item of root.querySelectorAll(sel.text)) {
      const text = norm(item.textContent);
      if (!text) continue;
      let avatar = null;
      for (let el = item.parentElement; el && !avatar; el = el === root ? null : el.parentElement) {
        avatar = el.querySelector(sel.avatar);
      }
      out.push({id: capId(item) + '-' + key(avatar && avatar.getAttribute('src')), speaker: null, text});
    }
  }
  return out;
}
"""

# The aria-label is "<sender> to <audience>, <time>, <text>"; where it is not, the sender is what
# comes before " to " and the text the element's own.
_READ_CHAT = """
({sel, selfName}) => {
  const out = [];
  const shape = /^(.+?) to (.+?), (\\d{1,2}:\\d{2}(?:\\s?[AP]M)?), ([\\s\\S]*)$/i;
  for (const el of document.querySelectorAll(sel.list + ' ' + sel.message)) {
    const label = norm(el.getAttribute('aria-label'));
    const m = label.match(shape);
    const sender = m ? m[1] : (label.includes(' to ') ? label.split(' to ')[0] : null);
    const text = m ? m[4] : norm(el.textContent);
    out.push({id: el.id || capId(el), sender, text, self: sender === sel.you || sender === selfName});
  }
  return out;
}
"""

_CAPTIONS_SHOWING = """
({sel}) => {
  const el = document.querySelector(sel.overlay);
  return !!el && getComputedStyle(el).display !== 'none';
}
"""

# One frame's view; the Python side merges the page and the client frame.
_LOOK = """
({sel, txt, refusals}) => {
  const text = bodyText();
  let refused = null;
  for (const kind of refusals) {
    const hit = textHit(text, txt[kind]);
    if (hit) { refused = [kind, hit]; break; }
  }
  if (!refused && document.querySelector(sel.recaptcha)) refused = ['bot_wall', 'Zoom shows a captcha'];
  const endMarker = document.querySelector(sel.end_marker) ? 'Meeting is end now' : null;
  const counter = document.querySelector(sel.counter);
  return {
    refused, waiting: textHit(text, txt.waiting), in_call: firstVisible(sel.in_call),
    controls: firstVisible(sel.controls) !== null, removed: textHit(text, txt.removed),
    ended: textHit(text, txt.ended) || endMarker,
    count: counter ? norm(counter.textContent).replace(/\\D/g, '') : null, at: pageNow(),
  };
}
"""

_READ_SPEAKING = """
({frames, nameSel, selfName}) => {
  const names = new Set();
  for (const el of document.querySelectorAll(nameSel)) {
    const n = norm(el.textContent);
    if (n && n !== selfName) names.add(n);
  }
  const active = frames.map((f) => {
    const frame = document.querySelector(f);
    if (!frame) return null;
    const label = frame.querySelector(nameSel);
    return label ? norm(label.textContent) : '';
  });
  return [...names].map((name) => ({name, values: active.map((a) => a === null ? null : a === name)}));
}
"""

_NOTICES = """
({sel, txt}) => {
  const out = [];
  document.querySelectorAll(sel.modal).forEach((m, i) => {
    const t = norm(m.innerText);
    if (visible(m) && t && !textHit(t, txt.ended) && !textHit(t, txt.removed)
        && !textHit(t, txt.join_audio)) out.push([i, t.slice(0, 60)]);
  });
  return out;
}
"""


class ZoomAdapter(PlatformAdapter):
    name: ClassVar[str] = "zoom"
    SPEAKER_ENDS_VISIBLE: ClassVar[bool] = False
    SPEAKING_SIGNALS: ClassVar[tuple[tuple[str, SignalKind], ...]] = (
        ("active-speaker frame", "state"),
        ("speaker bar --active frame", "state"),
        ("single-view frame", "state"),
        ("screen-share view frame", "state"),
    )
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
    AUDIO_JOIN_WAIT_S: ClassVar[float] = 15.0
    """How long after admission the bot keeps trying to join computer audio."""

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
        self._passcode_sent = False

    # -- frames -------------------------------------------------------------------------------
    def _frames(self) -> list[Frame]:
        """The page and, when the client renders there, iframe#webclient."""
        frames = [self.page.main_frame]
        for f in self.page.frames:
            if f is not self.page.main_frame and (f.name == SELECTORS.client_frame_name or "/wc/" in f.url):
                frames.append(f)
        return frames

    def _probe_frame(self) -> Frame:
        return self._frames()[-1]  # the client's frame when there is one

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

    async def _click_any(self, selectors: tuple[str, ...], what: str) -> bool:
        loc = await self._find(selectors)
        return loc is not None and await self._click(loc, what)

    async def _look_frames(self) -> list[dict[str, Any]]:
        args = {"sel": as_arg(SELECTORS), "txt": as_arg(TEXTS), "refusals": [k for k, _ in _REFUSALS]}
        views = []
        for frame in self._frames():
            try:
                raw = await self._eval(frame, _LOOK, args)
            except Exception:  # a frame detached between listing and reading
                raw = None
            if raw is not None:
                views.append(raw)
        if not views:
            raise TimeoutError("no frame could be read")
        return views

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
        # Banners and permission dialogs can arrive late and sit over the form.
        await self._dismiss_overlays()
        mic = await self._find((SELECTORS.mic_live,))
        if mic is not None:
            await self._click(mic, "mute microphone")
        if camera_on:
            cam = await self._find((SELECTORS.camera_off_state,))
            if cam is not None:
                await self._click(cam, "start video")
        button = await self._find(SELECTORS.join_button)
        if button is None:
            raise JoinError(Outcome.INTERNAL_ERROR, "the Zoom join button is missing")
        for _ in range(50):
            cls = await button.get_attribute("class") or ""
            if await button.is_enabled() and "disabled" not in cls.split():
                break
            await asyncio.sleep(0.1)
        await self._at_ask_time()
        await self._dismiss_overlays()
        await button.click(timeout=10_000)
        log.info("join requested")

    async def _dismiss_overlays(self) -> None:
        await self._click_any(SELECTORS.cookie_accept, "accept cookies")
        await self._click_any(SELECTORS.permission, "media permission dialog")

    async def _reach_prejoin(self) -> Locator:
        clicked_download = False
        for _ in range(600):
            view = await self._look(self._look_lobby(), "pre-join")
            if view is not None and view.refused is not None:
                raise JoinError(*view.refused)
            await self._dismiss_overlays()
            name_input = await self._find(SELECTORS.name_input)
            if name_input is not None:
                return name_input
            browser_link = self.page.locator(SELECTORS.join_from_browser).first
            if await self._click(browser_link, "Join from your browser"):
                pass
            elif not clicked_download:
                # The browser link is revealed once a download was offered; downloads are refused.
                clicked_download = await self._click(self.page.locator(SELECTORS.download_now).first,
                                                     "Download Now")
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

    # -- waiting room -------------------------------------------------------------------------
    async def _look_lobby(self) -> LobbyView:
        views = await self._look_frames()
        at = float(views[0]["at"])
        for v in views:
            if v["refused"]:
                kind, hit = v["refused"]
                return LobbyView(at=at, refused=(dict(_REFUSALS)[kind], hit))
        waiting = next((v["waiting"] for v in views if v["waiting"]), None)
        admitted = next((v["in_call"] for v in views if v["in_call"]), None)
        # The waiting room renders inside .meeting-app too: its texts decide first.
        return LobbyView(at=at, waiting=waiting, admitted=None if waiting else admitted)

    async def _lobby_actions(self) -> None:
        if not self._passcode_sent and await self._fill_passcode_if_asked():
            self._passcode_sent = True
            await self._click_any(SELECTORS.join_button, "join after passcode")
        await self._dismiss_overlays()

    async def _after_admission(self) -> None:
        """Join computer audio (without it Zoom plays the bot nothing). Notices that sit over the
        audio dialog are closed first, in every round: a covered button cannot be clicked."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.AUDIO_JOIN_WAIT_S
        while loop.time() < deadline:
            state = await self._audio_state()
            if state == "joined":
                log.info("computer audio joined")
                break
            await self._close_notices()
            if not await self._click_any(SELECTORS.join_audio, "Join Audio by Computer") \
                    and state == "not_joined":
                # No dialog (never shown, or not yet): the footer button opens it.
                await self._click_any((SELECTORS.audio_footer_join,), "footer Join Audio")
            await asyncio.sleep(0.2)
        else:
            log.warning("computer audio not joined: the recording may be silent")
        await self._close_notices()

    async def _audio_state(self) -> str:
        footer = await self._find((SELECTORS.audio_footer,))
        if footer is None:
            return "unknown"
        label = ((await footer.get_attribute("aria-label")) or "").strip().lower()
        return "joined" if label in SELECTORS.audio_joined_labels else "not_joined"

    async def _close_notices(self) -> None:
        """Each open notice is closed by a button inside that notice; end modals are left alone."""
        for frame in self._frames():
            args = {"sel": as_arg(SELECTORS), "txt": as_arg(TEXTS)}
            # Top-most first: the notice on top covers the ones under it.
            for index, text in reversed(await self._eval(frame, _NOTICES, args) or []):
                what = f"notice '{text[:40]}'"
                dialog = frame.locator(SELECTORS.modal).nth(index)
                if await self._click(dialog.locator(SELECTORS.modal_primary).first, what):
                    continue
                for sel in SELECTORS.modal_close:
                    if await self._click(dialog.locator(sel).first, f"close {what}"):
                        break

    # -- in call ------------------------------------------------------------------------------
    async def _look_call(self) -> CallView:
        views = await self._look_frames()
        for v in views:
            if v["removed"]:
                return CallView(ended=(Outcome.REMOVED_BY_HOST, v["removed"]))
        for v in views:
            if v["ended"]:
                return CallView(ended=(Outcome.MEETING_ENDED, v["ended"]))
        count = next((int(v["count"]) for v in views if v["count"]), None)
        return CallView(controls=any(v["controls"] for v in views), count=count)

    async def _call_actions(self) -> None:
        if await self._audio_state() == "not_joined":
            await self._click_any(SELECTORS.join_audio, "Join Audio by Computer")
        await self._close_notices()

    # -- captions -----------------------------------------------------------------------------
    async def _enable_captions(self, language: str | None) -> CaptionsState:
        sel = CAPTION_SELECTORS
        if not await self._captions_showing():
            for _ in range(3):  # More, then Captions, then Show Captions
                if await self._click_any(sel.show, "Show Captions"):
                    break
                if await self._click_any(sel.captions_item, "Captions"):
                    await asyncio.sleep(0.2)
                    continue
                if await self._find(sel.more) is None:
                    return CaptionsState(False, "Zoom shows no More control to turn captions on")
                await self._click_any(sel.more, "More")
                await asyncio.sleep(0.3)
                if await self._find(sel.captions_item) is None and await self._find(sel.show) is None:
                    await self.page.keyboard.press("Escape")  # the menu it opened
                    return CaptionsState(False, "Zoom's More menu holds no Captions item "
                                                "(the host has not enabled captions)")
            else:
                return CaptionsState(False, "Zoom's caption settings hold no Show Captions item")
        return await self._captions_shown("Zoom", language)

    async def _captions_showing(self) -> bool:
        for frame in self._frames():
            if await self._eval(frame, _CAPTIONS_SHOWING, {"sel": as_arg(CAPTION_SELECTORS)}):
                return True
        return False

    def _captions_read(self) -> tuple[str, dict[str, Any]] | None:
        return _READ_CAPTIONS, {"sel": as_arg(CAPTION_SELECTORS)}

    # -- chat ---------------------------------------------------------------------------------
    async def _open_chat(self) -> ChatState:
        sel = CHAT_SELECTORS
        if await self._find((sel.list,)) is None:
            deadline = time.monotonic() + CHAT_OPEN_S
            while not await self._click_any((sel.open,), "open the chat panel"):
                if time.monotonic() > deadline:
                    return ChatState(False, note="Zoom shows no chat button in this call")
                await asyncio.sleep(0.2)
            deadline = time.monotonic() + CHAT_OPEN_S
            while await self._find((sel.list,)) is None:
                if time.monotonic() > deadline:
                    return ChatState(False, note="Zoom did not open its chat when asked")
                await asyncio.sleep(0.1)
        if await self._find(sel.box) is None:
            return ChatState(True, note="Zoom's chat is read only here: no message box "
                                        "(chat has been disabled by the host)")
        return ChatState(True, True, CHAT_MAX_CHARS)

    def _chat_read(self) -> tuple[str, dict[str, Any]] | None:
        return _READ_CHAT, {"sel": as_arg(CHAT_SELECTORS)}

    async def _post_chat(self, text: str) -> bool:
        box = await self._find(CHAT_SELECTORS.box)
        send = await self._find((CHAT_SELECTORS.send,))
        if box is None or send is None:
            return False
        return await self._post_in(box, send, text)

    def _speaking_read(self) -> tuple[str, dict[str, Any]]:
        return _READ_SPEAKING, {"frames": list(SELECTORS.speaker_frames),
                                "nameSel": SELECTORS.tile_name, "selfName": self.bot_name}

    async def _leave(self) -> None:
        button = await self._find((SELECTORS.leave,))
        if button is None or not await self._click(button, "Leave"):
            return
        for _ in range(30):
            confirm = await self._find((SELECTORS.leave_confirm,))
            if confirm is not None:
                await self._click(confirm, "Leave Meeting")
                break
            await asyncio.sleep(0.1)
