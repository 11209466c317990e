"""What every platform adapter offers the worker, and the events it reports.

An adapter drives one page through join, waiting room, call and leave, and reports what it sees.
It holds no job policy (timeouts, auto-leave) and never touches storage or callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import SplitResult, unquote, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page
from pydantic import BaseModel

from bot.errors import JoinError
from bot.outcomes import Outcome

log = logging.getLogger("meetbot.platforms")


class MeetingRef(BaseModel, frozen=True):
    platform: str
    url: str
    """Canonical URL the bot opens."""
    meeting_id: str
    passcode: str | None = None


@dataclass(frozen=True, slots=True)
class SpeakingChanged:
    name: str
    speaking: bool
    page_time: float
    """Seconds on the page's clock (performance.timeOrigin + now)."""


@dataclass(frozen=True, slots=True)
class ParticipantCount:
    count: int
    """Everyone in the call, the bot included."""


@dataclass(frozen=True, slots=True)
class MeetingEnded:
    outcome: Outcome
    detail: str


MeetingEvent = SpeakingChanged | ParticipantCount | MeetingEnded

# Runs in the page: re-reads who is speaking right after any DOM change (MutationObserver, so a
# change is stamped within a microtask instead of up to a polling period late), plus a slow poll
# as a safety net, and reports changes through the exposed binding with the page clock.
_SPEAKER_PROBE = """
(speakingFn) => {
  const old = window.__meetbotProbe;
  if (old) { clearInterval(old.timer); old.obs.disconnect(); }
  const speaking = new Function('return (' + speakingFn + ')();');
  let prev = new Set();
  let queued = false;
  const tick = () => {
    queued = false;
    let now;
    try { now = new Set(speaking()); } catch (e) { return; }
    const t = (performance.timeOrigin + performance.now()) / 1000;
    for (const n of now) if (!prev.has(n)) window.__meetbotSpeaking(n, true, t);
    for (const n of prev) if (!now.has(n)) window.__meetbotSpeaking(n, false, t);
    prev = now;
  };
  const obs = new MutationObserver(() => { if (!queued) { queued = true; queueMicrotask(tick); } });
  obs.observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                         attributeFilter: ['class', 'style', 'aria-label', 'data-audio-level']});
  tick();
  window.__meetbotProbe = {obs, timer: setInterval(tick, 250)};
}
"""


class PlatformAdapter(ABC):
    """Base of the per-platform adapters. Public methods wrap the ``_`` ones and convert errors."""

    name: ClassVar[str]
    URL_TESTS: ClassVar[list[tuple[str, str | None]]]
    """(input URL, expected canonical URL or None when the adapter must reject it)."""

    STATE_POLL_S: ClassVar[float] = 0.5
    SPEAKER_ENDS_VISIBLE: ClassVar[bool] = True
    """False where the page only shows who spoke last (Zoom's active-speaker frame): the worker
    then ends each turn when the meeting audio goes quiet."""

    def __init__(self, ref: MeetingRef, page: Page) -> None:
        self.ref = ref
        self.page = page
        self._events: asyncio.Queue[MeetingEvent] = asyncio.Queue()
        self._binding_installed = False

    # -- URL handling -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def parse_url(cls, url: str) -> MeetingRef | None:
        """The meeting this URL names; None if the URL is not this platform's.

        Raises JoinError(invalid_meeting_url) for this platform's host with an unusable path.
        """

    # -- the flow -----------------------------------------------------------------------------
    async def join(self, *, bot_name: str, camera_on: bool = True) -> None:
        """Open the meeting and ask to join as ``bot_name``, microphone off."""
        await self._guard(self._join(bot_name=bot_name, camera_on=camera_on))

    async def wait_admitted(self, on_waiting_room: Callable[[], None]) -> None:
        """Return once in the call; raise JoinError if the meeting says no.

        Calls ``on_waiting_room`` once when the page shows the lobby. No timeout here: the
        worker owns the waiting-room policy.
        """
        await self._guard(self._wait_admitted(on_waiting_room))

    async def watch(self) -> AsyncIterator[MeetingEvent]:
        """Speaking changes, participant counts and the end of the meeting, as they happen."""
        await self._install_speaker_probe()
        poller = asyncio.create_task(self._poll_state(), name=f"{self.name}-state")
        try:
            while True:
                get = asyncio.ensure_future(self._events.get())
                done, _ = await asyncio.wait({get, poller}, return_when=asyncio.FIRST_COMPLETED)
                if get in done:
                    yield get.result()
                    continue
                get.cancel()
                poller.result()  # re-raises what stopped the poller
                return
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller

    async def leave(self) -> None:
        """Leave the call (best effort: a page that is gone counts as left)."""
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await self._leave()

    async def page_clock_offset(self) -> float:
        """Seconds to add to a page timestamp to put it on this process's wall clock."""
        best: tuple[float, float] | None = None
        for _ in range(3):
            before = time.time()
            page_now = await self.page.evaluate("(performance.timeOrigin + performance.now()) / 1000")
            after = time.time()
            rtt = after - before
            if best is None or rtt < best[0]:
                best = (rtt, (before + after) / 2 - float(page_now))
        assert best is not None
        return best[1]

    # -- for subclasses -----------------------------------------------------------------------
    @abstractmethod
    async def _join(self, *, bot_name: str, camera_on: bool) -> None: ...

    @abstractmethod
    async def _wait_admitted(self, on_waiting_room: Callable[[], None]) -> None: ...

    @abstractmethod
    def _speaking_js(self) -> str:
        """A JS function expression returning the names of who is speaking now."""

    @abstractmethod
    async def _state(self) -> list[MeetingEvent]:
        """One look at the page: ParticipantCount and/or MeetingEnded, if any."""

    @abstractmethod
    async def _leave(self) -> None: ...

    async def _poll_state(self) -> None:
        last_count: int | None = None
        while True:
            try:
                events = await self._state()
            except PlaywrightError as exc:
                if self.page.is_closed():
                    self._events.put_nowait(MeetingEnded(Outcome.MEETING_ENDED, "page closed"))
                    return
                log.debug("state poll failed", extra={"error": str(exc)})
                events = []
            for ev in events:
                if isinstance(ev, ParticipantCount):
                    if ev.count == last_count:
                        continue
                    last_count = ev.count
                self._events.put_nowait(ev)
                if isinstance(ev, MeetingEnded):
                    return
            await asyncio.sleep(self.STATE_POLL_S)

    async def _install_speaker_probe(self) -> None:
        if not self._binding_installed:
            def on_change(_source: object, name: str, speaking: bool, t: float) -> None:
                self._events.put_nowait(SpeakingChanged(str(name), bool(speaking), float(t)))

            await self.page.expose_binding("__meetbotSpeaking", on_change)
            self._binding_installed = True
        await self._probe_frame().evaluate(_SPEAKER_PROBE, self._speaking_js())

    def _probe_frame(self) -> Frame:
        """The frame whose DOM shows the participants (the client may live in an iframe)."""
        return self.page.main_frame

    async def _body_text(self, frame: Frame | None = None) -> str:
        target = frame or self.page.main_frame
        try:
            text = await target.evaluate("document.body ? document.body.innerText : ''")
        except PlaywrightError as exc:
            # Mid-navigation (a launcher hand-off, a sign-in bounce): nothing to read this time.
            if "context was destroyed" in exc.message or "navigat" in exc.message:
                return ""
            raise
        return normalize_text(str(text))

    async def _first_visible(self, selectors: tuple[str, ...], frame: Frame | None = None) -> str | None:
        """The first selector with a visible match, or None."""
        target = frame or self.page.main_frame
        for sel in selectors:
            if await target.locator(sel).first.is_visible():
                return sel
        return None

    async def _click_if_visible(self, selectors: tuple[str, ...], frame: Frame | None = None) -> bool:
        target = frame or self.page.main_frame
        for sel in selectors:
            loc = target.locator(sel).first
            if await loc.is_visible():
                await loc.click(timeout=5_000)
                return True
        return False

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
    return urlsplit(raw)


def normalize_text(text: str) -> str:
    """Fold typographic apostrophes and runs of white space, so one phrasing matches both forms."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def contains_any(text: str, phrases: tuple[str, ...]) -> str | None:
    low = text.lower()
    for p in phrases:
        if normalize_text(p).lower() in low:
            return p
    return None
