"""Microsoft Teams: every URL, selector and text the bot relies on, and the flow that uses them.

Signals follow shared/reference/platforms.md §3. Anonymous guests go through a launcher
("Continue on this browser"), a media-permission modal and the pre-join screen; a sign-in bounce
to login.microsoftonline.com means the meeting does not admit anonymous guests. Each signal below
lists its fallbacks and what the adapter does when the page shows none of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, unquote

from playwright.async_api import Locator

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

log = logging.getLogger("meetbot.platforms.teams")

_HOSTS = ("teams.microsoft.com", "teams.live.com")
_MEETUP = re.compile(r"/l/meetup-join/(?P<thread>[^/?#]+)/(?P<msg>[^/?#]+)(?:\?(?P<query>[^#]*))?")
_MEET = re.compile(r"^/meet/(?P<id>[A-Za-z0-9]{6,40})/?$")


@dataclass(frozen=True)
class _Selectors:
    # Launcher: joinOnWeb, fallbacks the aria-labels and texts bots use. None and no pre-join
    # within 60 s: internal_error.
    continue_on_browser: tuple[str, ...] = (
        'button[data-tid="joinOnWeb"]',
        'button[aria-label="Join meeting from this browser"]',
        'button[aria-label="Continue on this browser"]',
        'button[aria-label="Join on this browser"]',
        'button:has-text("Continue on this browser")',
        'button:has-text("Join from browser")',
    )
    # "Are you sure you don't want audio or video?" blocks Join now and can come back after it.
    no_media: tuple[str, ...] = ('button:has-text("Continue without audio or video")',)
    # Pre-join name: data-tid, fallbacks the id and the placeholder.
    name_input: tuple[str, ...] = (
        'input[data-tid="prejoin-display-name-input"]', "#prejoin-display-name",
        'input[placeholder="Type your name"]',
    )
    passcode_input: str = 'input[data-tid="prejoin-passcode-input"], input[type="password"]'
    # Toggles: on when aria-checked="true" (fallback the checked attribute); clicked only to
    # change state. Absent: left alone.
    mic_toggle: str = '[data-tid="toggle-mute"]'
    camera_toggle: str = '[data-tid="toggle-video"]'
    join_button: str = 'button[data-tid="prejoin-join-button"]'
    # Walls: sign-in form / host, HIP captcha.
    login_form: str = 'input[name="loginfmt"]'
    captcha: str = '[data-tid="HIP-Captcha-Image"]'
    # Admitted: the hang-up button (several documented forms), fallbacks the call toolbar and
    # stage. A visible, enabled pre-join Join button means not in yet.
    in_call: tuple[str, ...] = (
        "#hangup-button", '[data-inp="hangup-button"]', 'button[data-tid="hangup-main-btn"]',
        "#callingButtons-showMoreBtn", '[data-tid="calling-toolbar"]', '[data-tid="callingScreen"]',
    )
    # In-call controls for "the call is over": hang-up, fallback the toolbar.
    controls: tuple[str, ...] = (
        "#hangup-button", 'button[data-tid="hangup-main-btn"]', 'button[aria-label="Leave"]',
        '[data-tid="calling-toolbar"]',
    )
    leave: tuple[str, ...] = ("#hangup-button", 'button[data-tid="hangup-main-btn"]',
                              'button[aria-label="Leave"]')
    # Popups after joining: Close buttons. Absent: nothing to do.
    close: tuple[str, ...] = ('button[aria-label="Close"]', 'button[title="Close"]')
    # Participants: [data-stream-type=Video][data-tid=<name>] tiles.
    tile: str = '[data-stream-type="Video"][data-tid]'
    # Speaking, primary: the tile's voice-level outline has vdi-frame-occlusion. Fallbacks, used
    # only while that class has never appeared: an aria label saying speaking/talking, then the
    # outline (or its ::before/::after) really drawn: visible border/outline/shadow with a
    # non-transparent colour, non-zero size and opacity, seen both drawn and not drawn. None of
    # them: no timeline entries.
    outline: str = '[data-tid="voice-level-stream-outline"]'
    speaking_class: str = "vdi-frame-occlusion"
    # Count: the roster badge; fallback the number of video tiles.
    badge: str = 'span[data-tid="toolbar-item-badge"]'
    # End: the rejoin button of the anonymous end screen, the retry screen's title.
    rejoin: str = 'button[data-tid="anon-meeting-end-screen-rejoin-button"]'
    retry_title: str = "#calling-retry-screen-title"


SELECTORS = _Selectors()


@dataclass(frozen=True)
class _CaptionSelectors:
    # Captions (reference 3.6): only these three data-tids are stable between host and guest
    # views; each text follows its author in document order.
    wrapper: str = '[data-tid="closed-caption-renderer-wrapper"]'
    author: str = '[data-tid="author"]'
    text: str = '[data-tid="closed-caption-text"]'
    # Turning them on (ATT): "Language and speech" then "Turn on live captions", both behind the
    # toolbar's More menu when they are not showing already. None of them: no captions here.
    captions_button: str = "#closed-captions-button"
    language_speech: str = "#LanguageSpeechMenuControl-id"
    more: tuple[str, ...] = ("#callingButtons-showMoreBtn", 'button[aria-label="More"]',
                             'button[aria-label="More actions"]')


CAPTION_SELECTORS = _CaptionSelectors()


@dataclass(frozen=True)
class _ChatSelectors:
    # Open (reference 3.6, ATT): #chat-button, unless the list shows already. The box: the
    # CKEditor's contenteditable, or what is labelled or placeholdered "Type a message"; none once
    # open: read only. Send: newMessageCommands-send.
    open: str = "#chat-button"
    box: tuple[str, ...] = ('[data-tid="ckeditor"] [contenteditable="true"]', '[aria-label="Type a message"]',
                            '[placeholder="Type a message"]')
    send: str = 'button[data-tid="newMessageCommands-send"]'
    # Messages (LMA, VX): [data-tid=chat-pane-list] > [data-tid=chat-pane-message] with
    # message-author-name and messageBodyContent. The bot's own carry its name.
    list: str = '[data-tid="chat-pane-list"]'
    message: str = '[data-tid="chat-pane-message"]'
    author: str = '[data-tid="message-author-name"]'
    body: str = '[data-tid="messageBodyContent"]'


CHAT_SELECTORS = _ChatSelectors()
CHAT_MAX_CHARS = 4000
"""Teams' limit per message as assumed (its box says none); a refusal lowers it."""


@dataclass(frozen=True)
class _Texts:
    login_hosts: tuple[str, ...] = ("login.microsoftonline.com", "login.live.com")
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
        "Call ended", "You left the meeting", "meeting has been ended",
    )
    ended_url: tuple[str, ...] = ("/postmeeting", "/meetingended", "calling/end")
    speaking_words: tuple[str, ...] = ("speaking", "talking")
    not_speaking_words: tuple[str, ...] = ("not speaking", "not talking")


TEXTS = _Texts()

_REFUSALS: tuple[tuple[str, Outcome], ...] = (
    ("denied", Outcome.DENIED_ADMISSION),
    ("login", Outcome.LOGIN_REQUIRED),
    ("bad_url", Outcome.MEETING_NOT_FOUND),
    ("captcha", Outcome.BLOCKED_BY_PLATFORM),
    ("removed", Outcome.DENIED_ADMISSION),
    ("ended", Outcome.MEETING_ENDED),
)

_LOOK_LOBBY = """
({sel, txt, refusals}) => {
  const text = bodyText();
  if (txt.login_hosts.some((h) => location.host === h) || document.querySelector(sel.login_form))
    return {refused: ['login', 'Teams sent the guest to a sign-in page']};
  if (document.querySelector(sel.captcha))
    return {refused: ['captcha', 'Teams asks the bot to solve a captcha']};
  for (const kind of refusals) {
    const hit = textHit(text, txt[kind]);
    if (hit) return {refused: [kind, hit]};
  }
  const waiting = textHit(text, txt.lobby);
  const join = document.querySelector(sel.join_button);
  const joinReady = join && visible(join) && !join.disabled;
  const inCall = firstVisible(sel.in_call);
  return {waiting, admitted: !waiting && !joinReady ? inCall : null, at: pageNow()};
}
"""

_LOOK_CALL = """
({sel, txt}) => {
  const text = bodyText();
  const removed = textHit(text, txt.removed) || (() => {
    const t = document.querySelector(sel.retry_title);
    return t && visible(t) ? textHit(t.innerText, txt.removed) : null;
  })();
  let ended = null;
  const rejoin = document.querySelector(sel.rejoin);
  if (rejoin && visible(rejoin)) ended = "the meeting's end screen is shown";
  else if (txt.ended_url.some((u) => location.href.includes(u))) ended = 'the meeting ended page';
  else ended = textHit(text, txt.ended);
  const badge = document.querySelector(sel.badge);
  return {removed, ended, controls: firstVisible(sel.controls) !== null,
          badge: badge ? norm(badge.textContent).replace(/\\D/g, '') : null,
          tiles: document.querySelectorAll(sel.tile).length};
}
"""

_READ_CAPTIONS = """
({sel}) => {
  const out = [];
  for (const wrapper of document.querySelectorAll(sel.wrapper)) {
    let author = null;
    for (const el of wrapper.querySelectorAll(sel.author + ',' + sel.text)) {
      if (el.matches(sel.author)) { author = norm(el.textContent) || null; continue; }
      const text = norm(el.textContent);
      if (text) out.push({id: capId(el), speaker: author, text});
    }
  }
  return out;
}
"""

_READ_CHAT = """
({sel, selfName}) => {
  const out = [];
  for (const el of document.querySelectorAll(sel.list + ' ' + sel.message)) {
    const who = el.querySelector(sel.author);
    const body = el.querySelector(sel.body);
    const sender = who ? norm(who.textContent) : null;
    if (body) out.push({id: el.getAttribute('data-mid') || capId(el), sender, text: norm(body.textContent),
                        self: sender === selfName || sender === 'You'});
  }
  return out;
}
"""

_READ_SPEAKING = """
({sel, txt, selfName}) => {
  const out = [];
  for (const tile of document.querySelectorAll(sel.tile)) {
    const name = norm(tile.getAttribute('data-tid'));
    if (!name || name === selfName) continue;
    const outline = tile.querySelector(sel.outline);
    if (!outline) { out.push({name, values: [null, null, null]}); continue; }
    const primary = outline.classList.contains(sel.speaking_class);
    let aria = null;
    for (const el of [outline, tile]) {
      const label = el.getAttribute('aria-label');
      if (label === null) continue;
      const l = lower(label);
      const on = txt.speaking_words.some((w) => l.includes(w))
        && !txt.not_speaking_words.some((w) => l.includes(w));
      aria = aria || on;
    }
    out.push({name, values: [primary, aria, paints(outline)]});
  }
  return out;
}
"""


class TeamsAdapter(PlatformAdapter):
    name: ClassVar[str] = "teams"
    SPEAKING_SIGNALS: ClassVar[tuple[tuple[str, SignalKind], ...]] = (
        ("voice-level outline class vdi-frame-occlusion", "state"),
        ("aria label says speaking", "state"),
        ("voice-level outline drawn", "visual"),
    )
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
        # An overlay can cover the form: focus and type rather than rely on a click landing.
        await name_input.focus()
        await name_input.fill(bot_name)
        if await name_input.input_value() != bot_name:
            await name_input.fill("")
            await name_input.press_sequentially(bot_name, delay=15)
        passcode = self.page.locator(SELECTORS.passcode_input).first
        if self.ref.passcode and await passcode.is_visible():
            await passcode.fill(self.ref.passcode)
        await self._set_toggle(SELECTORS.mic_toggle, on=False)
        if camera_on:
            await self._set_toggle(SELECTORS.camera_toggle, on=True)
        await self._click_any(SELECTORS.no_media, "Continue without audio or video")
        button = self.page.locator(SELECTORS.join_button).first
        await button.wait_for(state="visible", timeout=15_000)
        await self._at_ask_time()
        await self._click_any(SELECTORS.no_media, "Continue without audio or video")
        await button.click(timeout=10_000)
        log.info("join requested")

    async def _reach_prejoin(self) -> Locator:
        for _ in range(600):
            view = await self._look(self._look_lobby(), "pre-join")
            if view is not None and view.refused is not None:
                raise JoinError(*view.refused)
            await self._click_any(SELECTORS.continue_on_browser, "Continue on this browser")
            await self._click_any(SELECTORS.no_media, "Continue without audio or video")
            for sel in SELECTORS.name_input:
                loc = self.page.locator(sel).first
                if await loc.is_visible():
                    return loc
            await asyncio.sleep(0.1)
        raise JoinError(Outcome.INTERNAL_ERROR, "the Teams pre-join screen did not appear")

    async def _click_any(self, selectors: tuple[str, ...], what: str) -> bool:
        for sel in selectors:
            if await self._click(self.page.locator(sel).first, what):
                return True
        return False

    async def _set_toggle(self, selector: str, *, on: bool) -> None:
        toggle = self.page.locator(selector).first
        if not await toggle.is_visible():
            return
        state = (await toggle.get_attribute("aria-checked")) or (
            "true" if await toggle.get_attribute("checked") is not None else "false")
        if (state == "true") != on:
            await self._click(toggle, f"toggle {selector}")

    # -- waiting room -------------------------------------------------------------------------
    async def _look_lobby(self) -> LobbyView:
        raw = await self._eval(self.page.main_frame, _LOOK_LOBBY, {
            "sel": as_arg(SELECTORS), "txt": as_arg(TEXTS), "refusals": [k for k, _ in _REFUSALS]})
        if raw is None:
            raise TimeoutError("the page is navigating")
        if raw.get("refused"):
            kind, hit = raw["refused"]
            return LobbyView(at=0.0, refused=(dict(_REFUSALS)[kind], hit))
        return LobbyView(at=float(raw["at"]), waiting=raw.get("waiting"), admitted=raw.get("admitted"))

    async def _lobby_actions(self) -> None:
        await self._click_any(SELECTORS.no_media, "Continue without audio or video")

    async def _after_admission(self) -> None:
        await self._click_any(SELECTORS.no_media, "Continue without audio or video")
        await self._click_any(SELECTORS.close, "Close popup")

    # -- in call ------------------------------------------------------------------------------
    async def _look_call(self) -> CallView:
        raw = await self._eval(self.page.main_frame, _LOOK_CALL,
                               {"sel": as_arg(SELECTORS), "txt": as_arg(TEXTS)})
        if raw is None:
            return CallView()
        if raw["removed"]:
            return CallView(ended=(Outcome.REMOVED_BY_HOST, raw["removed"]))
        if raw["ended"]:
            return CallView(ended=(Outcome.MEETING_ENDED, raw["ended"]))
        count = int(raw["badge"]) if raw["badge"] else (int(raw["tiles"]) or None)
        return CallView(controls=bool(raw["controls"]), count=count)

    async def _call_actions(self) -> None:
        await self._click_any(SELECTORS.close, "Close popup")

    def _speaking_read(self) -> tuple[str, dict[str, Any]]:
        return _READ_SPEAKING, {"sel": as_arg(SELECTORS), "txt": as_arg(TEXTS), "selfName": self.bot_name}

    async def _leave(self) -> None:
        await self._click_any(SELECTORS.leave, "Leave")

    # -- captions -----------------------------------------------------------------------------
    async def _enable_captions(self, language: str | None) -> CaptionsState:
        sel = CAPTION_SELECTORS
        if not await self._captions_showing():
            for _ in range(3):  # More, then Language and speech, then the captions item
                if await self._click(self.page.locator(sel.captions_button).first, "Turn on live captions"):
                    break
                if await self._click(self.page.locator(sel.language_speech).first, "Language and speech"):
                    continue
                if not await self._click_any(sel.more, "More"):
                    return CaptionsState(False, "Teams shows no live captions control in this call")
                await asyncio.sleep(0.3)
            else:
                return CaptionsState(False, "Teams' menu holds no live captions item")
        return await self._captions_shown("Teams", language)

    async def _captions_showing(self) -> bool:
        shown = await self._eval(self.page.main_frame, """({sel}) => {
          const w = document.querySelector(sel.wrapper);
          return !!w && getComputedStyle(w).display !== 'none';
        }""", {"sel": as_arg(CAPTION_SELECTORS)})
        return bool(shown)

    def _captions_read(self) -> tuple[str, dict[str, Any]] | None:
        return _READ_CAPTIONS, {"sel": as_arg(CAPTION_SELECTORS)}

    # -- chat ---------------------------------------------------------------------------------
    async def _open_chat(self) -> ChatState:
        sel = CHAT_SELECTORS
        if not await self._wait_visible(sel.list, 0.0):
            if not await self._wait_visible(sel.open, CHAT_OPEN_S):
                return ChatState(False, note="Teams shows no chat button in this call")
            await self._click(self.page.locator(sel.open).first, "Chat")
            if not await self._wait_visible(sel.list, CHAT_OPEN_S):
                return ChatState(False, note="Teams did not open its chat when asked")
        if (await self._first_visible(sel.box)) is None:
            return ChatState(True, note="Teams' chat is read only here: no message box "
                                        "(chat is turned off for attendees)")
        return ChatState(True, True, CHAT_MAX_CHARS)

    def _chat_read(self) -> tuple[str, dict[str, Any]] | None:
        return _READ_CHAT, {"sel": as_arg(CHAT_SELECTORS)}

    def _chat_controls(self) -> tuple[tuple[str, ...], str]:
        return CHAT_SELECTORS.box, CHAT_SELECTORS.send
