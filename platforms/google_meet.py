"""Google Meet: every URL, selector and text the bot relies on, and the flow that uses them.

Signals follow shared/reference/platforms.md §1 (as documented by open-source bots). Obfuscated
class names change: semantic attributes and visible texts come first, classes only where nothing
else exists (the speaking indicator). Each signal below lists its fallbacks and what the adapter
does when the page shows none of them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

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

log = logging.getLogger("meetbot.platforms.google_meet")

HOST = "meet.google.com"
_CODE = re.compile(r"^([a-z]{3})-?([a-z]{4})-?([a-z]{3})$")
_LOOKUP = re.compile(r"^lookup/[A-Za-z0-9_-]+$")
_PEOPLE_COUNT = re.compile(r"People\s*-\s*(\d+)\s+joined", re.I)


@dataclass(frozen=True)
class _Selectors:
    # Pre-join. Name field: the aria-label form; fallbacks jsname, the only visible text input,
    # a "name" placeholder. None of them (but a join button) = a signed-in profile: login_required.
    name_input: tuple[str, ...] = (
        'input[type="text"][aria-label="Your name"]',
        'input[jsname][type="text"]',
        'input[type="text"]:not([aria-hidden="true"])',
        'input[placeholder*="name" i]',
    )
    # Mic: "Turn off microphone" is clicked, then "Turn on microphone" confirms. Neither: the
    # lobby has no mic control (no device); nothing to do. Camera likewise.
    mic_on: str = '[aria-label="Turn off microphone"]'
    mic_off: str = '[aria-label="Turn on microphone"]'
    camera_on: str = '[aria-label="Turn off camera"]'
    camera_off: str = '[aria-label="Turn on camera"]'
    # Join: a button whose <span> carries one of TEXTS.join_buttons; fallback VX's last resort, a
    # jsname button with a span and no aria-label. Neither within 15 s: internal_error.
    join_button_last_resort: str = "button[jsname]:not([aria-label]):has(span)"
    # Dialogs over the lobby or the call (consent, notices): a modal dialog holding one of
    # TEXTS.consent_dialog, accepted by its OK action; toasts closed by a close/dismiss label.
    dialog: str = 'div[aria-modal="true"][role="dialog"]'
    dialog_ok: str = 'button[data-mdc-dialog-action="ok"]'
    toast_close: tuple[str, ...] = ('button[aria-label*="close" i]', 'button[aria-label*="dismiss" i]')
    # Admitted: the captions toggle, Present/Share (absent from the lobby); fallback a named
    # participant tile. "Leave call" and the toggles are in the lobby too and prove nothing.
    in_call: tuple[str, ...] = (
        'button[aria-label="Turn on captions"]',
        'button[aria-label="Turn off captions"]',
        'button[aria-label*="Present now"]',
        'button[aria-label*="Share screen"]',
    )
    # In-call controls (for "the call is over" when they are gone): Leave call, then the call
    # controls region. None of them for CONTROLS_GONE_S: meeting_ended.
    controls: tuple[str, ...] = (
        'button[aria-label="Leave call"]',
        'div[role="region"][aria-label="Call controls"]',
    )
    leave: str = 'button[aria-label="Leave call"]'
    # Participants: tiles with an id, name in span.notranslate, self marked by [data-self-name]
    # (the "effects" element carries an id in the lobby too, but no name).
    tile: str = "[data-participant-id]"
    tile_name: str = "span.notranslate"
    self_marker: str = "[data-self-name]"
    # Speaking, primary: one of SPEAKING_CLASSES on the tile or a descendant. Fallback (only
    # while the primary has never shown): a non-zero [data-audio-level]. Neither: no timeline
    # entries, and the recording is unaffected.
    audio_level: str = "[data-audio-level]"
    # Count: [data-avatar-count]; fallbacks the People button's "People - N joined", the number
    # of named tiles. None: no count (tiles vanish in screen share), so no alone-detection.
    avatar_count: str = "[data-avatar-count]"
    people_button: str = 'button[aria-label^="People"]'


SELECTORS = _Selectors()


@dataclass(frozen=True)
class _CaptionSelectors:
    # Toggle (reference 1.6): "Turn on captions" is clicked, "Turn off captions" says they are on.
    # Neither within CAPTIONS_TOGGLE_S: the call has no captions. Clicked and still off: refused.
    turn_on: str = 'button[aria-label="Turn on captions"]'
    turn_off: str = 'button[aria-label="Turn off captions"]'
    # The region: role=region with tabindex=0 (the call-controls region has a label of its own),
    # the older UI's .a4cQT. A block: childNodes[0] the name, childNodes[1] the text (its last
    # child rewritten in place); the region's last child is "Jump to bottom", never a block.
    regions: tuple[str, ...] = ('div[role="region"][tabindex="0"]:not([aria-label="Call controls"])',
                                "div.a4cQT")
    # Languages: ul[aria-label="Meeting language"] li[data-value] (BCP 47 values).
    language_list: str = 'ul[aria-label="Meeting language"]'
    language_item: str = "li[data-value]"


CAPTION_SELECTORS = _CaptionSelectors()


@dataclass(frozen=True)
class _ChatSelectors:
    # Open (reference 1.6, ATT): "Chat with everyone". The box: textarea[aria-label="Send a
    # message"], MB's placeholder and "to everyone" label as fallbacks; none once open: the host
    # turned chat off for guests (read only). Send: the button holding the "send" icon (MB).
    open: str = 'button[aria-label="Chat with everyone"]'
    box: tuple[str, ...] = ('textarea[aria-label="Send a message"]',
                            'textarea[aria-label="Send a message to everyone"]',
                            'textarea[placeholder="Send a message"]')
    send: str = 'button:has(i:text("send"))'
    # Messages (VXo): [data-message-id], text .jO4O1, the sender .poVWob in the header .HNucUd of
    # the group .aops0b the message is in. The bot's own are under "You".
    message: str = "[data-message-id]"
    text: str = ".jO4O1"
    group: str = ".aops0b"
    sender: str = ".poVWob"
    you: str = "You"


CHAT_SELECTORS = _ChatSelectors()
CHAT_MAX_CHARS = 500
"""Meet's limit per message where the box does not say it (its maxlength)."""
CAPTIONS_TOGGLE_S = 5.0
"""The captions toggle renders with the call controls, a moment after admission."""
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
    # Refusals, in the order they are checked: lobby text can stay in the DOM after a denial.
    denied: tuple[str, ...] = (
        "Someone in the call denied your request to join", "Your request to join was denied",
        "You were denied", "weren't allowed to join", "can't join this call",
    )
    no_response: tuple[str, ...] = ("No one responded to your request to join the call",)
    not_found: tuple[str, ...] = (
        "Check your meeting code", "Invalid video call name", "Your meeting code has expired",
        "The meeting code you entered doesn't work",
    )
    blocked: tuple[str, ...] = (
        "You can't join this video call", "There is a problem connecting to this video call",
    )
    login_hosts: tuple[str, ...] = ("accounts.google.com",)
    login_heading: tuple[str, ...] = ("Sign in",)
    login_context: tuple[str, ...] = ("Google Account",)
    waiting: tuple[str, ...] = (
        "Asking to be let in", "You'll join the call when someone lets you in",
        "Please wait until a meeting host brings you into the call",
        "Waiting for the host to let you in", "You're in the waiting room",
        "Waiting for the host to join",
    )
    removed: tuple[str, ...] = ("You've been removed from the meeting",)
    ended: tuple[str, ...] = (
        "Your host ended the meeting for everyone", "The call ended", "Meeting ended",
        "Call ended", "You left the meeting",
    )
    participant_prefixes_skipped: tuple[str, ...] = ("Google Participant (",)
    participant_parts_skipped: tuple[str, ...] = ("spaces/", "devices/")


TEXTS = _Texts()

# Which refusal text means which outcome, in the order they are checked.
_REFUSALS: tuple[tuple[str, Outcome], ...] = (
    ("denied", Outcome.DENIED_ADMISSION),
    ("no_response", Outcome.WAITING_ROOM_TIMEOUT),  # Meet's own lobby timeout, not a denial
    ("not_found", Outcome.MEETING_NOT_FOUND),
    ("blocked", Outcome.BLOCKED_BY_PLATFORM),
    ("removed", Outcome.DENIED_ADMISSION),
    ("ended", Outcome.MEETING_ENDED),
)

_LOOK_LOBBY = """
({sel, txt, refusals}) => {
  const text = bodyText();
  for (const kind of refusals) {
    const hit = textHit(text, txt[kind]);
    if (hit) return {refused: [kind, hit]};
  }
  if (txt.login_hosts.some((h) => location.host.endsWith(h))
      || (textHit(text, txt.login_heading) && textHit(text, txt.login_context)))
    return {refused: ['login', 'Google asks the bot to sign in']};
  const waiting = textHit(text, txt.waiting);
  let admitted = firstVisible(sel.in_call);
  if (!admitted) {
    for (const tile of document.querySelectorAll(sel.tile)) {
      const label = tile.querySelector(sel.tile_name);
      if (label && norm(label.textContent) && visible(tile)) { admitted = 'a named participant tile'; break; }
    }
  }
  return {waiting, admitted: waiting ? null : admitted, at: pageNow()};
}
"""

_LOOK_CALL = """
({sel, txt}) => {
  const text = bodyText();
  const removed = textHit(text, txt.removed);
  const ended = textHit(text, txt.ended);
  const controls = firstVisible(sel.controls) !== null;
  const c = document.querySelector(sel.avatar_count);
  const people = document.querySelector(sel.people_button);
  const ids = new Set();
  for (const t of document.querySelectorAll(sel.tile))
    if (t.querySelector(sel.tile_name)) ids.add(t.getAttribute('data-participant-id'));
  return {removed, ended, controls, avatar: c ? c.getAttribute('data-avatar-count') : null,
          people: people ? people.getAttribute('aria-label') : null, tiles: ids.size};
}
"""

_READ_SPEAKING = """
({sel, classes, skipPrefixes, skipParts, selfName}) => {
  const cls = classes.map((c) => '.' + c).join(',');
  const out = [], seen = new Set();
  for (const tile of document.querySelectorAll(sel.tile)) {
    if (tile.matches(sel.self_marker) || tile.querySelector(sel.self_marker)) continue;
    const label = tile.querySelector(sel.tile_name);
    const name = norm(label && label.textContent);
    if (!name || name === selfName || seen.has(name)) continue;
    if (skipPrefixes.some((p) => name.startsWith(p)) || skipParts.some((p) => name.includes(p))) continue;
    seen.add(name);
    const primary = tile.matches(cls) || tile.querySelector(cls) !== null;
    const levels = [...tile.querySelectorAll(sel.audio_level)];
    if (tile.matches(sel.audio_level)) levels.push(tile);
    const level = levels.length
      ? levels.some((e) => { const v = parseFloat(e.getAttribute('data-audio-level')); return v > 0; })
      : null;
    out.push({name, values: [primary, level]});
  }
  return out;
}
"""

_READ_CHAT = """
({sel, selfName}) => {
  const out = [];
  for (const el of document.querySelectorAll(sel.message)) {
    const body = el.querySelector(sel.text) || el;
    const group = el.closest(sel.group);
    const who = group && group.querySelector(sel.sender);
    const sender = who ? norm(who.textContent) : null;
    out.push({id: el.getAttribute('data-message-id') || capId(el), sender,
              text: norm(body.textContent), self: sender === sel.you || sender === selfName});
  }
  return out;
}
"""

_READ_CAPTIONS = """
({sel}) => {
  for (const query of sel.regions) {
    for (const region of document.querySelectorAll(query)) {
      const out = [];
      for (const block of region.children) {
        if (block.matches('button') || block.childNodes.length < 2) continue;
        const text = norm(block.childNodes[1].textContent);
        if (text) out.push({id: capId(block), speaker: norm(block.childNodes[0].textContent) || null, text});
      }
      if (out.length) return out;  // another tabindex=0 region holds no speaker blocks
    }
  }
  return [];
}
"""

_DIALOGS = """
({sel, txt}) => {
  const out = [];
  for (const d of document.querySelectorAll(sel.dialog)) {
    const hit = visible(d) && textHit(d.innerText, txt.consent_dialog);
    if (hit) out.push(hit);
  }
  return out;
}
"""


class GoogleMeetAdapter(PlatformAdapter):
    name: ClassVar[str] = "google_meet"
    SPEAKING_SIGNALS: ClassVar[tuple[tuple[str, SignalKind], ...]] = (
        ("speaking class on the tile", "state"),
        ("data-audio-level on the tile", "state"),
    )
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

    # -- URLs ---------------------------------------------------------------------------------
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

    # -- join ---------------------------------------------------------------------------------
    async def _join(self, *, bot_name: str, camera_on: bool) -> None:
        # hl=en pins the UI language: every text here is English.
        await self.page.goto(f"{self.ref.url}?hl=en", wait_until="domcontentloaded")
        name_input = await self._wait_for_prejoin()
        await name_input.fill(bot_name)
        if await name_input.input_value() != bot_name:
            await name_input.fill("")
            await name_input.press_sequentially(bot_name, delay=20)
        await self._toggle_off(SELECTORS.mic_on, SELECTORS.mic_off, "microphone")
        if not camera_on:
            await self._toggle_off(SELECTORS.camera_on, SELECTORS.camera_off, "camera")
        button = await self._find_join_button(15.0)
        for _ in range(50):  # disabled until the name is accepted
            if await button.is_enabled():
                break
            await asyncio.sleep(0.1)
        label = (await button.inner_text()).strip()
        log.info("join button found", extra={"button": label})
        await self._at_ask_time()
        await self._dismiss_dialogs()
        await button.click(timeout=10_000)
        log.info("join requested", extra={"button": label})

    async def _wait_for_prejoin(self) -> Locator:
        for _ in range(600):
            view = await self._look(self._look_lobby(), "pre-join")
            if view is not None and view.refused is not None:
                raise JoinError(*view.refused)
            await self._dismiss_dialogs()
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

    async def _find_join_button(self, timeout: float) -> Locator:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for button in (self._join_button(), self.page.locator(SELECTORS.join_button_last_resort).first):
                if await button.is_visible():
                    return button
            await asyncio.sleep(0.1)
        raise JoinError(Outcome.INTERNAL_ERROR, "the Google Meet join button did not appear")

    async def _toggle_off(self, on_selector: str, off_selector: str, what: str) -> None:
        if not await self._click(self.page.locator(on_selector).first, f"turn off {what}"):
            return
        try:
            await self.page.locator(off_selector).first.wait_for(state="attached", timeout=3_000)
        except Exception:
            log.warning("toggle did not switch off", extra={"what": what})

    # -- waiting room -------------------------------------------------------------------------
    async def _look_lobby(self) -> LobbyView:
        raw = await self._eval(self.page.main_frame, _LOOK_LOBBY, {
            "sel": as_arg(SELECTORS), "txt": as_arg(TEXTS), "refusals": [k for k, _ in _REFUSALS]})
        if raw is None:
            raise TimeoutError("the page is navigating")
        if raw.get("refused"):
            kind, hit = raw["refused"]
            outcome = dict(_REFUSALS).get(kind, Outcome.LOGIN_REQUIRED)
            return LobbyView(at=0.0, refused=(outcome, hit))
        return LobbyView(at=float(raw["at"]), waiting=raw.get("waiting"), admitted=raw.get("admitted"))

    async def _lobby_actions(self) -> None:
        await self._dismiss_dialogs()

    async def _after_admission(self) -> None:
        await self._dismiss_dialogs()

    async def _dismiss_dialogs(self) -> None:
        """Consent and notice dialogs: OK in the dialog that holds the text; toasts: their close."""
        shown = await self._eval(self.page.main_frame, _DIALOGS,
                                 {"sel": as_arg(SELECTORS), "txt": as_arg(TEXTS)}) or []
        for text in shown:
            dialog = self.page.locator(SELECTORS.dialog, has_text=text).first
            await self._click(dialog.locator(SELECTORS.dialog_ok).first, f"OK on dialog '{text}'")
        for label in TEXTS.dismiss_buttons:
            await self._click(self.page.get_by_role("button", name=label, exact=True).first,
                              f"'{label}' button")

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
        count: int | None = None
        if raw["avatar"] is not None and str(raw["avatar"]).isdigit():
            count = int(raw["avatar"])
        elif raw["people"] and (m := _PEOPLE_COUNT.search(str(raw["people"]))):
            count = int(m.group(1))
        elif raw["tiles"]:
            count = int(raw["tiles"])
        return CallView(controls=bool(raw["controls"]), count=count)

    async def _call_actions(self) -> None:
        await self._dismiss_dialogs()

    def _speaking_read(self) -> tuple[str, dict[str, Any]]:
        return _READ_SPEAKING, {
            "sel": as_arg(SELECTORS), "classes": list(SPEAKING_CLASSES),
            "skipPrefixes": list(TEXTS.participant_prefixes_skipped),
            "skipParts": list(TEXTS.participant_parts_skipped), "selfName": self.bot_name,
        }

    async def _leave(self) -> None:
        await self._click(self.page.locator(SELECTORS.leave).first, "Leave call")

    # -- captions -----------------------------------------------------------------------------
    async def _enable_captions(self, language: str | None) -> CaptionsState:
        sel = CAPTION_SELECTORS
        if not await self._wait_visible(sel.turn_off, 0.0):
            if not await self._wait_visible(sel.turn_on, CAPTIONS_TOGGLE_S):
                return CaptionsState(False, "Google Meet shows no captions toggle in this call")
            await self._click(self.page.locator(sel.turn_on).first, "Turn on captions")
            if not await self._wait_visible(sel.turn_off, 3.0):
                return CaptionsState(False, "Google Meet did not turn captions on when asked")
        if language is None:
            return CaptionsState(True)
        return CaptionsState(True, await self._pick_language(language))

    async def _pick_language(self, language: str) -> str | None:
        """The caption language, where the page lists it; what went wrong, else None."""
        sel = CAPTION_SELECTORS
        if not await self._wait_visible(sel.language_list, 3.0):
            return f"captions on, but Google Meet showed no language list: not set to {language}"
        items = self.page.locator(f"{sel.language_list} {sel.language_item}")
        values = [v for v in await items.evaluate_all("(els) => els.map((e) => e.dataset.value)") if v]
        pick = next((v for v in values if v.lower() == language.lower()), None) or next(
            (v for v in values if v.lower().split("-")[0] == language.lower().split("-")[0]), None)
        if pick is None:
            return f"captions on, but Google Meet offers no {language} ({', '.join(values[:8])})"
        item = self.page.locator(f'{sel.language_list} li[data-value="{pick}"]').first
        if not await self._click(item, f"caption language {pick}"):
            return f"captions on, but picking {pick} failed"
        return None

    def _captions_read(self) -> tuple[str, dict[str, Any]] | None:
        return _READ_CAPTIONS, {"sel": as_arg(CAPTION_SELECTORS)}

    # -- chat ---------------------------------------------------------------------------------
    async def _open_chat(self) -> ChatState:
        sel = CHAT_SELECTORS
        if await self._first_visible(sel.box) is None:  # not open already
            if not await self._wait_visible(sel.open, CHAT_OPEN_S):
                return ChatState(False, note="Google Meet shows no chat button in this call")
            await self._click(self.page.locator(sel.open).first, "Chat with everyone")
        deadline = time.monotonic() + CHAT_OPEN_S
        while (box := await self._first_visible(sel.box)) is None:
            if time.monotonic() > deadline:
                return ChatState(True, note="Google Meet's chat is read only here: no message box "
                                            "(the host turned chat off for guests)")
            await asyncio.sleep(0.1)
        limit = await box.get_attribute("maxlength")
        return ChatState(True, True, int(limit) if limit and limit.isdigit() else CHAT_MAX_CHARS)

    def _chat_read(self) -> tuple[str, dict[str, Any]] | None:
        return _READ_CHAT, {"sel": as_arg(CHAT_SELECTORS)}

    def _chat_controls(self) -> tuple[tuple[str, ...], str]:
        return CHAT_SELECTORS.box, CHAT_SELECTORS.send
