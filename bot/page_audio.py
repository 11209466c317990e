"""The meeting page's audio players, started again after PulseAudio restarted under Chromium.

When the PulseAudio daemon dies, Chromium suspends every AudioContext and pauses media elements
whose output failed; a new daemon with the bot's sink created again gets nothing until the page
plays again, and meeting pages do not notice (measured: an AudioContext stayed 'suspended' and
silent, resume() brought its sound to the new sink at once). So the bot tracks the page's
AudioContexts from the first script on, and after a restart resumes them and plays the paused
elements that carry a live stream (a WebRTC track's ``srcObject``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

log = logging.getLogger("meetbot.page_audio")

# Subclassing keeps instanceof and the prototype chain as the page expects; nothing enumerable is
# added to window.
_TRACK = """
(() => {
  const contexts = [];
  for (const name of ['AudioContext', 'webkitAudioContext']) {
    const Original = window[name];
    if (typeof Original !== 'function') continue;
    const Tracked = class extends Original {
      constructor(...args) { super(...args); contexts.push(new WeakRef(this)); }
    };
    Object.defineProperty(Tracked, 'name', { value: Original.name });
    window[name] = Tracked;
  }
  Object.defineProperty(window, '__meetbotReviveAudio', { enumerable: false, value: async () => {
    let resumed = 0, played = 0;
    for (const ref of contexts) {
      const ctx = ref.deref();
      if (ctx && ctx.state === 'suspended') { await ctx.resume().catch(() => {}); resumed++; }
    }
    for (const el of document.querySelectorAll('audio, video')) {
      if (el.srcObject && el.paused && !el.ended) { await el.play().catch(() => {}); played++; }
    }
    return { resumed, played };
  } });
})();
"""


_REVIVE = "() => window.__meetbotReviveAudio ? window.__meetbotReviveAudio() : null"


async def track_page_audio(context: BrowserContext) -> None:
    """Before any page script runs, in every frame."""
    await context.add_init_script(_TRACK)


REVIVE_AT_S = (0.0, 0.5, 1.0, 2.0, 4.0)
"""Chromium suspends the page's audio a moment after its sound server went, possibly after the
bot has noticed: it looks again for a few seconds."""


async def keep_reviving_page_audio(page: Page) -> dict[str, int]:
    """``revive_page_audio`` at REVIVE_AT_S after now; the counts summed."""
    total = {"resumed": 0, "played": 0}
    began = asyncio.get_running_loop().time()
    for at in REVIVE_AT_S:
        await asyncio.sleep(max(0.0, began + at - asyncio.get_running_loop().time()))
        for key, n in (await revive_page_audio(page)).items():
            total[key] += n
    log.info("page audio started again", extra=total)
    return total


async def revive_page_audio(page: Page) -> dict[str, int]:
    """Resume the suspended AudioContexts and play the paused live streams, in every frame;
    how many of each."""
    total = {"resumed": 0, "played": 0}
    for frame in page.frames:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            # A context that cannot start (no device yet) may never settle its resume().
            got = await asyncio.wait_for(frame.evaluate(_REVIVE), 5)
            if isinstance(got, dict):
                for key in total:
                    total[key] += int(got.get(key) or 0)
    return total
