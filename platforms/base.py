"""What every platform adapter offers the worker, the events it reports, and the loops they share.

An adapter is a page object: it drives one meeting page through join, waiting room, call and
leave, and reports what it sees. It holds no job policy (timeouts, auto-leave) and never touches
storage or callbacks. The flow, as the worker calls it:

    join()            open the link, fill the pre-join form, ask to join
    wait_admitted()   returns the moment the page shows the bot in the call (the worker starts
                      recording right then); raises JoinError when the meeting says no
    after_admission() joining computer audio, dismissing dialogs: run *beside* the recording
    watch()           speaking changes, participant counts, the end of the meeting
    leave()

Two rules shape every loop here:

- **Look before acting.** Each poll first reads the page (one in-page function, no clicks), reports
  what it saw, and only then acts (dismisses a dialog, ...). Every action is bounded by a short
  timeout, scoped to the one element it belongs to, and a failed action is logged, never raised
  into the observation.
- **A watchdog that only reads.** Beside the poll loop, a second task reads the end signals (end or
  removal texts, the in-call controls) and ends the meeting once they have held for a few seconds,
  whatever the poll loop is doing.

Speaking signals: each platform lists its documented primary signal first and its fallbacks after
it. A signal is *trusted* once it has been seen saying "on" (a fallback that is only visual must also
have been seen "off", so an outline that is always drawn is never taken for speech). The first
trusted signal in that order decides for everyone; a fallback therefore only adds information while
the primary has never shown up on the page, and never turns a speaker on while the primary says off.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import SplitResult, unquote, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page
from pydantic import BaseModel

from core.aio import bounded
from core.errors import JobError, JoinError, MeetbotError
from core.outcomes import Outcome
from core.page_clock import page_clock_offset

log = logging.getLogger("meetbot.platforms")

LEAVE_CONFIRM_S = 3.0
"""How long a leave waits for the page to show it left."""
WATCH_STOP_S = 5.0
"""How long the meeting's watchers get to end once cancelled."""


class MeetingRef(BaseModel, frozen=True):
    platform: str
    url: str
    """Canonical URL the bot opens."""
    meeting_id: str
    passcode: str | None = None


# -- events -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SpeakingChanged:
    name: str
    speaking: bool
    page_time: float
    """Seconds on the page's clock (performance.timeOrigin + now)."""


@dataclass(frozen=True, slots=True)
class SpeakerSignal:
    """Which speaking signal decides now (index into the adapter's SPEAKING_SIGNALS), for the log."""

    signal: str | None


@dataclass(frozen=True, slots=True)
class ParticipantCount:
    count: int
    """Everyone in the call, the bot included."""


@dataclass(frozen=True, slots=True)
class CaptionBlock:
    """One block of the page's live captions as it shows now: ``id`` stays the same while the
    page keeps the element (its text rewritten in place); ``speaker`` None where none is shown."""

    id: str
    speaker: str | None
    text: str


@dataclass(frozen=True, slots=True)
class CaptionsState:
    """What turning the page's captions on came to: ``on``, and what to tell the user (why they
    are off: none on this page, refused; or on, but not in the language asked for)."""

    on: bool
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message the chat panel shows: ``id`` the page's own where it has one (else its
    element's), ``sender`` None where the page names none, ``from_bot`` the bot posted it."""

    id: str
    sender: str | None
    text: str
    from_bot: bool = False


@dataclass(frozen=True, slots=True)
class ChatState:
    """What opening the chat came to: its messages show (``readable``); the bot may post
    (``can_post``), each message up to ``max_chars`` (the page's own limit where it says one, else
    the platform's as assumed); and what to tell the user (why it is unread or read only)."""

    readable: bool
    can_post: bool = False
    max_chars: int = 500
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MeetingEnded:
    outcome: Outcome
    detail: str


MeetingEvent = SpeakingChanged | SpeakerSignal | ParticipantCount | MeetingEnded


@dataclass(frozen=True, slots=True)
class Admitted:
    page_time: float
    """When the page first showed the bot in the call, on the page's clock."""
    signal: str
    """What showed it (for the log)."""


# -- what one look at the page found ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LobbyView:
    at: float
    """Page clock when the look was taken."""
    refused: tuple[Outcome, str] | None = None
    """The meeting said no (denied, not found, sign-in wall, ...): outcome and the text seen."""
    waiting: str | None = None
    """A waiting-room text on the page."""
    admitted: str | None = None
    """The in-call signal seen (and no waiting text)."""


@dataclass(frozen=True, slots=True)
class CallView:
    ended: tuple[Outcome, str] | None = None
    """An end or removal signal: outcome and what was seen."""
    controls: bool | None = None
    """The in-call controls are on the page (None: could not tell)."""
    count: int | None = None
    """Participants, the bot included (None: no count on the page)."""


SignalKind = Literal["state", "visual"]

CAPTIONS_SHOW_S = 3.0
"""How long a page may take to show its captions once the bot clicked them on."""
CHAT_OPEN_S = 3.0
"""How long a page may take to show its chat panel once clicked open (and its button to render)."""
CHAT_TAKEN_S = 1.0
"""How long a page may take to empty its message box once a message is sent."""

# -- in-page helpers ----------------------------------------------------------------------------
# Prepended to every function the adapters evaluate in the page. Selectors and texts arrive as the
# function's argument; only code is composed here.
_LIB = r"""
const norm = (s) => String(s || '').replace(/[\u2018\u2019]/g, "'").replace(/\s+/g, ' ').trim();
const lower = (s) => norm(s).toLowerCase();
const pageNow = () => (performance.timeOrigin + performance.now()) / 1000;
const capId = (el) => {
  const ids = window.__meetbotCaptionIds || (window.__meetbotCaptionIds = { map: new WeakMap(), n: 0 });
  let id = ids.map.get(el);
  if (!id) { id = 'c' + (++ids.n); ids.map.set(el, id); }
  return id;
};
const alpha = (color) => {
  const c = String(color || '').trim();
  if (!c || c === 'transparent') return 0;
  const m = c.match(/^rgba?\(([^)]*)\)$/);
  if (!m) return 1;
  const parts = m[1].split(/[\s,\/]+/).filter(Boolean);
  if (parts.length < 4) return 1;
  const a = parts[3];
  return a.endsWith('%') ? parseFloat(a) / 100 : parseFloat(a);
};
// Really visible: in the layout, with a size, not hidden, and no transparent ancestor.
const visible = (el) => {
  if (!el || !el.isConnected) return false;
  const r = el.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return false;
  const cs = getComputedStyle(el);
  if (cs.visibility !== 'visible') return false;
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.display === 'none' || parseFloat(s.opacity) <= 0.05) return false;
  }
  return true;
};
// Draws something: a border, outline or shadow with a colour that is not transparent, on the
// element itself or on its ::before/::after box.
const paints = (el) => {
  if (!visible(el)) return false;
  for (const pseudo of [null, '::before', '::after']) {
    const cs = getComputedStyle(el, pseudo);
    if (pseudo && (cs.content === 'none' || cs.content === 'normal')) continue;
    if (cs.display === 'none' || cs.visibility !== 'visible' || parseFloat(cs.opacity) <= 0.05) continue;
    for (const side of ['Top', 'Right', 'Bottom', 'Left']) {
      const style = cs['border' + side + 'Style'];
      if (style !== 'none' && style !== 'hidden' && parseFloat(cs['border' + side + 'Width']) > 0
          && alpha(cs['border' + side + 'Color']) > 0.05) return true;
    }
    if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0
        && alpha(cs.outlineColor) > 0.05) return true;
    if (cs.boxShadow && cs.boxShadow !== 'none') {
      const col = cs.boxShadow.match(/rgba?\([^)]*\)/);
      if (!col || alpha(col[0]) > 0.05) return true;
    }
  }
  return false;
};
const firstVisible = (sels) => {
  for (const s of sels) for (const el of document.querySelectorAll(s)) if (visible(el)) return s;
  return null;
};
const textHit = (text, phrases) => {
  const t = lower(text);
  for (const p of phrases) if (t.includes(lower(p))) return p;
  return null;
};
const bodyText = () => norm(document.body ? document.body.innerText : '');
"""


def page_js(fn: str) -> str:
    """An in-page function ``(args) => ...`` with the shared helpers in scope."""
    return f"(args) => {{\n{_LIB}\nreturn ({fn})(args);\n}}"


# Runs in the page: re-reads every speaking signal right after any DOM change (MutationObserver,
# so a change is stamped within a microtask rather than a polling period late), plus a slow poll as
# a safety net. READ returns [{name, values: [signal 0, signal 1, ...]}] with true/false/null
# (null: that signal's element is not on this tile). The first trusted signal decides (see the
# module docstring); changes go out through the exposed bindings with the page clock.
_PROBE = """
(args) => {
  const read = (__READ__);
  const kinds = args.kinds, n = kinds.length;
  const old = window.__meetbotProbe;
  if (old) { clearInterval(old.timer); old.obs.disconnect(); }
  const seenOn = new Array(n).fill(false), seenOff = new Array(n).fill(false);
  const since = kinds.map(() => new Map());
  let shown = new Set(), decider = -2, queued = false;
  const tick = () => {
    queued = false;
    let tiles;
    try { tiles = read(args.read); } catch (e) { return; }
    const t = pageNow();
    const names = new Set(tiles.map((x) => x.name));
    for (let i = 0; i < n; i++) {
      for (const tile of tiles) {
        const v = tile.values[i];
        if (v === true) { seenOn[i] = true; if (!since[i].has(tile.name)) since[i].set(tile.name, t); }
        else { if (v === false) seenOff[i] = true; since[i].delete(tile.name); }
      }
      for (const name of [...since[i].keys()]) if (!names.has(name)) since[i].delete(name);
    }
    let d = -1;
    for (let i = 0; i < n; i++) {
      if (seenOn[i] && (kinds[i] !== 'visual' || seenOff[i])) { d = i; break; }
    }
    if (d !== decider) { decider = d; window.__meetbotSignal(d); }
    const on = d < 0 ? new Map() : since[d];
    for (const name of shown) if (!on.has(name)) window.__meetbotSpeaking(name, false, t);
    for (const [name, s] of on) if (!shown.has(name)) window.__meetbotSpeaking(name, true, Math.min(s, t));
    shown = new Set(on.keys());
  };
  const obs = new MutationObserver(() => { if (!queued) { queued = true; queueMicrotask(tick); } });
  obs.observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                         attributeFilter: ['class', 'style', 'aria-label', 'aria-hidden',
                                           'data-audio-level']});
  tick();
  window.__meetbotProbe = {obs, timer: setInterval(tick, 250)};
}
"""


class PlatformAdapter(ABC):
    """Base of the per-platform page objects. Public methods wrap the ``_`` ones."""

    name: ClassVar[str]
    URL_TESTS: ClassVar[list[tuple[str, str | None]]]
    """(input URL, expected canonical URL or None when the adapter must reject it)."""

    SPEAKING_SIGNALS: ClassVar[tuple[tuple[str, SignalKind], ...]]
    """Speaking signals in priority order, documented primary first: (name, kind). ``state``
    signals are trusted once seen on; ``visual`` ones once seen both on and off."""
    SPEAKER_ENDS_VISIBLE: ClassVar[bool] = True
    """False where the page only shows who spoke last (Zoom's active-speaker frame): the worker
    then ends each turn when the meeting audio goes quiet."""

    LOBBY_POLL_S: ClassVar[float] = 0.1
    """Admission is noticed within this long: the recording starts from it."""
    CALL_POLL_S: ClassVar[float] = 0.5
    LOOK_TIMEOUT_S: ClassVar[float] = 3.0
    """One read of the page; a page that does not answer in this long is looked at again later."""
    ACTION_TIMEOUT_S: ClassVar[float] = 1.5
    """One click in a poll loop."""
    CONTROLS_GONE_S: ClassVar[float] = 1.5
    """In-call controls missing this long (a single miss can be a re-render) = the call is over."""
    WATCHDOG_S: ClassVar[float] = 3.0
    """The watchdog ends the meeting once an end signal has held this long."""

    def __init__(self, ref: MeetingRef, page: Page) -> None:
        self.ref = ref
        self.page = page
        self.bot_name = ""
        self._ask_at: float | None = None
        self._events: asyncio.Queue[MeetingEvent] = asyncio.Queue()
        self._bindings_installed = False

    # -- URL handling -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def parse_url(cls, url: str) -> MeetingRef | None:
        """The meeting this URL names; None if the URL is not this platform's.

        Raises JoinError(invalid_meeting_url) for this platform's host with an unusable path.
        """

    # -- the flow -----------------------------------------------------------------------------
    async def join(self, *, bot_name: str, camera_on: bool = True, ask_at: float | None = None) -> None:
        """Open the meeting and ask to join as ``bot_name``, microphone off; with ``ask_at``
        (wall clock, a scheduled meeting's join_at), ready on the pre-join page, not before."""
        self.bot_name = bot_name
        self._ask_at = ask_at
        await self._guard(self._join(bot_name=bot_name, camera_on=camera_on))

    async def _at_ask_time(self) -> None:
        """Each adapter's last step before its join click: wait for ``ask_at`` if early."""
        wait = (self._ask_at or 0.0) - time.time()
        if wait > 0:
            log.info("ready to ask to join; waiting for its time", extra={"wait_s": round(wait, 3)})
            await asyncio.sleep(wait)

    async def wait_admitted(self, on_waiting_room: Callable[[], None]) -> Admitted:
        """Return as soon as the page shows the bot in the call; JoinError if the meeting says no.

        Calls ``on_waiting_room`` once when the page shows the lobby. No timeout here: the
        worker owns the waiting-room policy. Each round reads first, then acts (dismisses what
        blocks the way); an action that fails is logged and the next look decides.
        """
        in_lobby = False
        while True:
            view = await self._look(self._look_lobby(), "lobby")
            if view is not None:
                if view.refused is not None:
                    raise JoinError(*view.refused)
                if view.admitted is not None:
                    log.info("admitted", extra={"signal": view.admitted})
                    return Admitted(page_time=view.at, signal=view.admitted)
                if view.waiting and not in_lobby:
                    in_lobby = True
                    log.info("in waiting room", extra={"text": view.waiting})
                    on_waiting_room()
            await self._act(self._lobby_actions(), "lobby actions")
            await asyncio.sleep(self.LOBBY_POLL_S)

    async def after_admission(self) -> None:
        """What is left to do once in the call (computer audio, dialogs, camera), run beside the
        recording. Never raises: a failure here is logged and costs nothing already recorded."""
        try:
            await self._after_admission()
        except (PlaywrightError, TimeoutError) as exc:
            log.warning("after-admission step failed", extra={"error": str(exc)[:300]})

    async def watch(self) -> AsyncIterator[MeetingEvent]:
        """Speaking changes, participant counts and the end of the meeting, as they happen."""
        await self._install_speaker_probe()
        # Observing never waits for acting: clicks run in their own loop, so a slow or failing
        # click cannot delay noticing the end of the meeting.
        tasks = [asyncio.create_task(self._poll_call(), name=f"{self.name}-poll"),
                 asyncio.create_task(self._act_loop(), name=f"{self.name}-act"),
                 asyncio.create_task(self._watchdog(), name=f"{self.name}-watchdog")]
        # A loop that dies must not leave the bot recording an empty queue until max_duration.
        broken: asyncio.Future[asyncio.Task[None]] = asyncio.get_running_loop().create_future()

        def on_done(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None and not broken.done():
                broken.set_result(task)

        for t in tasks:
            t.add_done_callback(on_done)
        try:
            while True:
                get = asyncio.ensure_future(self._events.get())
                await asyncio.wait({get, broken}, return_when=asyncio.FIRST_COMPLETED)
                if not get.done():  # what was seen before the failure was handed out first
                    get.cancel()
                    task = broken.result()
                    exc = task.exception()
                    log.error("meeting watcher failed", extra={"task": task.get_name(), "error": repr(exc)})
                    if isinstance(exc, MeetbotError):
                        raise exc
                    raise JobError(Outcome.INTERNAL_ERROR,
                                   f"watching the meeting page failed ({task.get_name()}): {exc!r}") from exc
                ev = get.result()
                yield ev
                if isinstance(ev, MeetingEnded):
                    return
        finally:
            for t in tasks:
                t.cancel()
            # Bounded: a loop that outlives its cancellation must not hold the bot in the call.
            _, pending = await asyncio.wait(tasks, timeout=WATCH_STOP_S)
            for t in pending:
                log.error("a meeting watcher did not stop when cancelled", extra={"task": t.get_name()})

    async def leave(self) -> None:
        """Leave the call (best effort: a page that is gone counts as left)."""
        with contextlib.suppress(PlaywrightError, TimeoutError):
            view = await self._look_call()
            if view.ended is not None or view.controls is False:
                return  # the call is already over on this page: nothing to click
            await self._leave()
            # The page confirms it (an end text, or the controls gone) before the browser closes:
            # closing on the click alone can drop the leave the client was still sending.
            deadline = time.monotonic() + LEAVE_CONFIRM_S
            while time.monotonic() < deadline:
                view = await self._look_call()
                if view.ended is not None or view.controls is False:
                    await asyncio.sleep(0.3)
                    return
                await asyncio.sleep(0.1)
            log.info("leave: the page did not confirm it within %.0f s", LEAVE_CONFIRM_S)

    async def enable_captions(self, language: str | None = None) -> CaptionsState:
        """Turn the page's own captions on, in ``language`` where the page offers a choice. Looks
        first (already on?), then clicks; never raises: a failure is a state with its reason."""
        try:
            return await self._enable_captions(language)
        except (PlaywrightError, TimeoutError) as exc:
            return CaptionsState(False, f"turning captions on failed: {str(exc).splitlines()[0][:200]}")

    async def read_captions(self) -> list[CaptionBlock] | None:
        """The caption blocks showing now, oldest first; None when the page did not answer."""
        reader = self._captions_read()
        if reader is None:
            return []
        raw = await self._look(self._eval(self._probe_frame(), *reader), "captions")
        if raw is None:
            return None
        return [CaptionBlock(str(b["id"]), b.get("speaker") or None, str(b["text"])) for b in raw]

    async def _enable_captions(self, language: str | None) -> CaptionsState:
        return CaptionsState(False, f"{self.name}: the page's captions are not read on this platform")

    async def _captions_showing(self) -> bool:
        """Whether the page shows its captions now (a look, no click)."""
        return False

    async def _captions_shown(self, platform: str, language: str | None) -> CaptionsState:
        """After the clicks that turn captions on: on once the page shows them (within
        CAPTIONS_SHOW_S), in the meeting's language where ``platform`` gives a guest no choice."""
        deadline = time.monotonic() + CAPTIONS_SHOW_S
        while not await self._captions_showing():
            if time.monotonic() > deadline:
                return CaptionsState(False, f"{platform} did not show captions when asked")
            await asyncio.sleep(0.1)
        note = None if language is None else \
            f"captions on in the meeting's spoken language; choosing {language} is not done on {platform}"
        return CaptionsState(True, note)

    def _captions_read(self) -> tuple[str, dict[str, Any]] | None:
        """The in-page reader of the captions ``(args) => [{id, speaker, text}]`` (``capId(el)``
        gives an element its stable id) and its argument; None: this adapter reads no captions."""
        return None

    async def open_chat(self) -> ChatState:
        """Open the chat panel (a look first: it may be open already); never raises."""
        try:
            return await self._open_chat()
        except (PlaywrightError, TimeoutError) as exc:
            return ChatState(False, note=f"opening the chat failed: {str(exc).splitlines()[0][:200]}")

    async def read_chat(self) -> list[ChatLine] | None:
        """The messages the chat panel shows, oldest first; None when the page did not answer."""
        reader = self._chat_read()
        if reader is None:
            return []
        fn, args = reader
        raw = await self._look(self._eval(self._probe_frame(), fn, {**args, "selfName": self.bot_name}),
                               "chat")
        if raw is None:
            return None
        return [ChatLine(str(m["id"]), m.get("sender") or None, str(m["text"]), bool(m.get("self")))
                for m in raw]

    async def post_chat(self, text: str) -> bool:
        """Post one message (within the limit): whether the page took it. Never raises."""
        try:
            return await self._post_chat(text)
        except (PlaywrightError, TimeoutError) as exc:
            log.info("chat post failed", extra={"error": str(exc).splitlines()[0][:200]})
            return False

    async def _open_chat(self) -> ChatState:
        return ChatState(False, note=f"{self.name}: the chat is not read on this platform")

    def _chat_read(self) -> tuple[str, dict[str, Any]] | None:
        """The in-page reader of the chat ``(args) => [{id, sender, text, self}]`` (``args.selfName``
        is the bot's name) and its argument; None: this adapter reads no chat."""
        return None

    async def _post_chat(self, text: str) -> bool:
        """The first visible message box of ``_chat_controls`` filled, its send button clicked."""
        controls = self._chat_controls()
        if controls is None or (box := await self._first_visible(controls[0])) is None:
            return False
        return await self._post_in(box, self._probe_frame().locator(controls[1]).first, text)

    def _chat_controls(self) -> tuple[tuple[str, ...], str] | None:
        """The message box (its selectors, the first visible one wins) and the send button."""
        return None

    async def _first_visible(self, selectors: tuple[str, ...]) -> Locator | None:
        for selector in selectors:
            loc = self._probe_frame().locator(selector).first
            with contextlib.suppress(PlaywrightError):
                if await loc.is_visible():
                    return loc
        return None

    async def _post_in(self, box: Locator, send: Locator, text: str) -> bool:
        """Type ``text`` in the message box and send it; taken once the page empties the box (a
        page that refuses it, too long, leaves it there: then emptied here)."""
        await box.fill(text, timeout=1000 * self.ACTION_TIMEOUT_S)
        if not await self._click(send, "send chat message"):
            await box.press("Enter", timeout=1000 * self.ACTION_TIMEOUT_S)
        deadline = time.monotonic() + CHAT_TAKEN_S
        while time.monotonic() < deadline:
            if not (await box.evaluate("(el) => 'value' in el ? el.value : el.textContent")).strip():
                return True
            await asyncio.sleep(0.1)
        await box.fill("", timeout=1000 * self.ACTION_TIMEOUT_S)
        return False

    async def _wait_visible(self, selector: str, timeout: float) -> bool:
        """Whether ``selector`` shows within ``timeout`` seconds (a read, no click)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(PlaywrightError):
                if await self._probe_frame().locator(selector).first.is_visible():
                    return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)

    async def page_clock_offset(self) -> float:
        """Seconds to add to a page timestamp to put it on this process's wall clock."""
        return await page_clock_offset(self.page)

    # -- for subclasses -----------------------------------------------------------------------
    @abstractmethod
    async def _join(self, *, bot_name: str, camera_on: bool) -> None: ...

    @abstractmethod
    async def _look_lobby(self) -> LobbyView:
        """One read of the pre-join/lobby page: refused, waiting or admitted. No clicks."""

    async def _lobby_actions(self) -> None:
        """Clicks that move the join along (dialogs over the lobby, ...), each bounded."""
        return None

    async def _after_admission(self) -> None:
        """Side tasks once admitted; default nothing."""
        return None

    @abstractmethod
    async def _look_call(self) -> CallView:
        """One read of the in-call page: end signals, controls, count. No clicks."""

    async def _call_actions(self) -> None:
        """Clicks during the call (late dialogs, ...), each bounded; default nothing."""
        return None

    @abstractmethod
    def _speaking_read(self) -> tuple[str, dict[str, Any]]:
        """The in-page reader of the speaking signals and its argument: a JS function
        ``(args) => [{name, values}]`` with one value per entry of SPEAKING_SIGNALS."""

    @abstractmethod
    async def _leave(self) -> None: ...

    def _probe_frame(self) -> Frame:
        """The frame whose DOM shows the participants (the client may live in an iframe)."""
        return self.page.main_frame

    # -- shared loops -------------------------------------------------------------------------
    async def _poll_call(self) -> None:
        last_count: int | None = None
        gone_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            view = await self._look(self._look_call(), "call")
            if view is None and self.page.is_closed():
                self._events.put_nowait(MeetingEnded(Outcome.MEETING_ENDED, "the page closed"))
                return
            if view is not None:
                if view.ended is not None:
                    self._events.put_nowait(MeetingEnded(*view.ended))
                    return
                if view.controls is False:
                    gone_since = gone_since or loop.time()
                    if loop.time() - gone_since >= self.CONTROLS_GONE_S:
                        self._events.put_nowait(
                            MeetingEnded(Outcome.MEETING_ENDED, "the in-call controls are gone"))
                        return
                elif view.controls:
                    gone_since = None
                if view.count is not None and view.count != last_count:
                    last_count = view.count
                    self._events.put_nowait(ParticipantCount(view.count))
            await asyncio.sleep(self.CALL_POLL_S)

    async def _act_loop(self) -> None:
        while True:
            await self._act(self._call_actions(), "call actions")
            await asyncio.sleep(self.CALL_POLL_S)

    async def _watchdog(self) -> None:
        """Reads only. Ends the meeting when an end signal has held for WATCHDOG_S, so no stuck
        action or loop can keep the bot in a meeting that is over."""
        loop = asyncio.get_running_loop()
        since: float | None = None
        detail = ""
        while True:
            await asyncio.sleep(1.0)
            try:
                view = await bounded(self._look_call(), self.LOOK_TIMEOUT_S)
            except (PlaywrightError, TimeoutError):
                if self.page.is_closed():
                    self._events.put_nowait(MeetingEnded(Outcome.MEETING_ENDED, "the page closed"))
                    return
                continue
            outcome = None
            if view.ended is not None:
                outcome, detail = view.ended
            elif view.controls is False:
                outcome, detail = Outcome.MEETING_ENDED, "the in-call controls are gone"
            if outcome is None:
                since = None
                continue
            since = since or loop.time()
            if loop.time() - since >= self.WATCHDOG_S:
                log.warning("watchdog ends the meeting", extra={"seen": detail})
                self._events.put_nowait(MeetingEnded(outcome, f"{detail} (watchdog)"))
                return

    async def _look(self, aw: Awaitable[Any], what: str) -> Any:
        """One bounded read; None when the page could not be read this time (mid-navigation, slow)."""
        try:
            return await bounded(aw, self.LOOK_TIMEOUT_S)
        except JoinError:
            raise
        except (PlaywrightError, TimeoutError) as exc:
            log.debug("look failed", extra={"what": what, "error": str(exc)[:200]})
            return None

    async def _act(self, aw: Awaitable[Any], what: str) -> None:
        """Run one round of actions; a failure is logged and never reaches the observation."""
        try:
            await bounded(aw, self.ACTION_TIMEOUT_S * 4)
        except JoinError:
            raise
        except (PlaywrightError, TimeoutError) as exc:
            log.info("action failed", extra={"what": what, "error": str(exc)[:200]})

    async def _click(self, target: Locator, what: str, *, timeout: float | None = None) -> bool:
        """Click one element if it is visible; bounded, logged, never raises for a failed click."""
        try:
            if not await target.is_visible():
                return False
            await target.click(timeout=1000 * (timeout or self.ACTION_TIMEOUT_S))
        except (PlaywrightError, TimeoutError) as exc:
            log.info("click failed", extra={"what": what, "error": str(exc).splitlines()[0][:200]})
            return False
        log.info("clicked", extra={"what": what})
        return True

    async def _eval(self, frame: Frame, fn: str, args: Any) -> Any:
        """Evaluate an in-page function (``page_js``); None while the frame is navigating."""
        try:
            return await frame.evaluate(page_js(fn), args)
        except PlaywrightError as exc:
            msg = exc.message
            if "context was destroyed" in msg or "navigat" in msg or "detached" in msg:
                return None
            raise

    async def _install_speaker_probe(self) -> None:
        if not self._bindings_installed:
            def on_change(_source: object, name: str, speaking: bool, t: float) -> None:
                self._events.put_nowait(SpeakingChanged(str(name), bool(speaking), float(t)))

            def on_signal(_source: object, index: int) -> None:
                i = int(index)
                signal = self.SPEAKING_SIGNALS[i][0] if 0 <= i < len(self.SPEAKING_SIGNALS) else None
                log.info("speaking signal", extra={"signal": signal or "none yet"})
                self._events.put_nowait(SpeakerSignal(signal))

            await self.page.expose_binding("__meetbotSpeaking", on_change)
            await self.page.expose_binding("__meetbotSignal", on_signal)
            self._bindings_installed = True
        read_fn, read_args = self._speaking_read()
        probe = page_js(_PROBE.replace("__READ__", read_fn))
        await self._probe_frame().evaluate(
            probe, {"kinds": [k for _, k in self.SPEAKING_SIGNALS], "read": read_args})

    async def _guard(self, aw: Awaitable[None]) -> None:
        try:
            await aw
        except JoinError:
            raise
        except PlaywrightError as exc:
            if self.page.is_closed():
                raise JoinError(Outcome.INTERNAL_ERROR, "the browser page closed while joining") from exc
            raise JoinError(Outcome.INTERNAL_ERROR, f"{self.name}: page error: {exc.message}") from exc


def split_link(url: str) -> SplitResult | None:
    """A pasted meeting link, cleaned: quotes and brackets trimmed, decoded when the whole link
    arrived percent-encoded (redirectors do that, sometimes twice), ``https://`` added when missing.
    None for an empty link; JoinError for several links in one."""
    raw = url.strip().strip("'\"<>")
    for _ in range(3):
        if not raw.lower().startswith(("http%3a", "https%3a")):
            break
        raw = unquote(raw)
    if not raw:
        return None
    tokens = raw.split()
    if len(tokens) > 1:
        if sum("/" in t for t in tokens) > 1:
            raise JoinError(Outcome.INVALID_MEETING_URL, "the meeting URL holds several URLs")
        return None
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - a bad port or IPv6 host raises here, not later
    except ValueError as exc:  # "[" or a port out of range: not a link at all
        raise JoinError(Outcome.INVALID_MEETING_URL, f"the meeting URL is malformed: {exc}") from exc
    return parts


def normalize_text(text: str) -> str:
    """Fold typographic apostrophes and runs of white space, so one phrasing matches both forms."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def contains_any(text: str, phrases: tuple[str, ...]) -> str | None:
    low = normalize_text(text).lower()
    for p in phrases:
        if normalize_text(p).lower() in low:
            return p
    return None


def as_arg(spec: object) -> dict[str, Any]:
    """A SELECTORS/TEXTS dataclass as the plain mapping an in-page function receives."""
    return {f.name: list(v) if isinstance(v := getattr(spec, f.name), tuple) else v
            for f in dataclasses.fields(spec)}  # type: ignore[arg-type]
