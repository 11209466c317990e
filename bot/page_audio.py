"""The meeting page's audio players, started again after PulseAudio restarted under Chromium.

When the PulseAudio daemon dies, Chromium suspends every AudioContext and pauses media elements
whose output failed; a new daemon with the bot's sink created again gets nothing until the page
plays again, and meeting pages do not notice (measured: an AudioContext stayed 'suspended' and
silent, resume() brought its sound to the new sink at once). So the bot tracks the page's
AudioContexts from the first script on, and after a restart resumes them and plays the paused
elements that carry a live stream (a WebRTC track's ``srcObject``).

The same tracking (AudioContexts, media elements that played, RTCPeerConnections) tells which
paths the page plays through and what Chromium reports of their latencies (``audio_paths``): the
sound's lateness differs by path, and the self-test measures one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from dataclasses import asdict, dataclass

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from core.aio import bounded

log = logging.getLogger("meetbot.page_audio")

# Subclassing keeps instanceof and the prototype chain as the page expects; nothing enumerable is
# added to window.
_TRACK = """
(() => {
  const contexts = [], outputs = new WeakMap();
  // outputLatency read once is off by tens of ms under load (a context that just started, a late
  // render callback): each context's last second of readings, every 100 ms, gives its median.
  const follow = (ref) => {
    const timer = setInterval(() => {
      const c = ref.deref();
      if (!c || c.state === 'closed') { clearInterval(timer); return; }
      if (c.state !== 'running' || !(c.outputLatency > 0)) return;
      const seen = outputs.get(c) || [];
      seen.push(c.outputLatency);
      if (seen.length > 10) seen.shift();
      outputs.set(c, seen);
    }, 100);
  };
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
  for (const name of ['AudioContext', 'webkitAudioContext']) {
    const Original = window[name];
    if (typeof Original !== 'function') continue;
    const Tracked = class extends Original {
      constructor(...args) { super(...args); contexts.push(new WeakRef(this)); follow(new WeakRef(this)); }
    };
    Object.defineProperty(Tracked, 'name', { value: Original.name });
    window[name] = Tracked;
  }
  const peers = [], players = [], seen = new WeakSet();
  if (typeof window.RTCPeerConnection === 'function') {
    const Original = window.RTCPeerConnection;
    const Tracked = class extends Original {
      constructor(...args) { super(...args); peers.push(new WeakRef(this)); }
    };
    Object.defineProperty(Tracked, 'name', { value: Original.name });
    window.RTCPeerConnection = Tracked;
  }
  // Elements play whether or not they are in the document (new Audio()).
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    if (!seen.has(this)) { seen.add(this); players.push(new WeakRef(this)); }
    return play.apply(this, args);
  };
  Object.defineProperty(window, '__meetbotAudioCensus', { enumerable: false, value: async (withStats) => {
    const out = { contexts: [], elements: [], receivers: [], playouts: [] };
    for (const ref of contexts) {
      const c = ref.deref();
      if (c && c.state === 'running') {
        const seen = outputs.get(c);
        const output = seen && seen.length >= 3 ? median(seen) : (c.outputLatency || 0);
        out.contexts.push({ base_ms: 1000 * c.baseLatency, output_ms: 1000 * output });
      }
    }
    // A received track is the receiver's own object (getReceivers needs no stats): an element
    // playing one plays a call's remote audio, not a stream the page made itself.
    const received = new Set();
    for (const ref of peers) {
      const pc = ref.deref();
      if (!pc || pc.connectionState === 'closed') continue;
      for (const r of pc.getReceivers()) if (r.track) received.add(r.track);
    }
    // Muted ones too: a page may hold its players muted until the call's audio is joined (Zoom).
    for (const ref of players) {
      const el = ref.deref();
      if (!el || el.paused) continue;
      const stream = el.srcObject && el.srcObject.getAudioTracks ? el.srcObject : null;
      if (el.srcObject && !(stream && stream.getAudioTracks().length)) continue;
      const remote = !!stream && stream.getAudioTracks().some((t) => received.has(t));
      out.elements.push({ source: stream ? 'stream' : 'file', remote, audible: !el.muted && el.volume > 0 });
    }
    for (const ref of withStats ? peers : []) {
      const pc = ref.deref();
      if (!pc || pc.connectionState === 'closed') continue;
      const stats = await pc.getStats().catch(() => null);
      if (!stats) continue;
      stats.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio' && r.jitterBufferEmittedCount > 0) {
          out.receivers.push({ jitter_buffer_ms: 1000 * r.jitterBufferDelay / r.jitterBufferEmittedCount });
        } else if (r.type === 'media-playout' && r.totalSamplesCount > 0) {
          out.playouts.push({ delay_ms: 1000 * r.totalPlayoutDelay / r.totalSamplesCount });
        }
      });
    }
    return out;
  } });
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
_CENSUS = "(withStats) => window.__meetbotAudioCensus ? window.__meetbotAudioCensus(withStats) : null"


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
            got = await bounded(frame.evaluate(_REVIVE), 5)
            if isinstance(got, dict):
                for key in total:
                    total[key] += int(got.get(key) or 0)
    return total


@dataclass
class AudioPaths:
    """What the meeting page plays its sound through, and the latencies Chromium reports for it:
    running AudioContexts (``outputLatency``), playing media elements (a MediaStream or a file),
    WebRTC receivers (NetEq's average jitter buffer delay, the playout delay)."""

    contexts: int = 0
    elements_stream: int = 0
    elements_file: int = 0
    elements_remote: int = 0
    """Playing elements, muted or not, whose MediaStream carries a track a WebRTC receiver of the
    page received: a call's remote audio."""
    elements_page_stream: int = 0
    """Playing elements, muted or not, whose MediaStream the page made itself (none received)."""
    receivers: int = 0
    context_output_ms: float | None = None
    jitter_buffer_ms: float | None = None
    playout_delay_ms: float | None = None

    def figures(self) -> dict[str, float]:
        """As stats timings (numbers only; a latency not reported is left out)."""
        return {f"page_audio_{k}": round(float(v), 1) for k, v in asdict(self).items() if v is not None}


async def audio_paths(page: Page, *, timeout: float = 5.0, stats: bool = True) -> AudioPaths:
    """The page's audio paths now, over every frame (medians of each latency); a frame that does
    not answer within ``timeout`` is left out. ``stats``: also ask each RTCPeerConnection for its
    receivers' figures (``getStats()``, the slow part)."""
    ctx_out: list[float] = []
    jitter: list[float] = []
    playout: list[float] = []
    seen = AudioPaths()
    for frame in page.frames:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            got = await bounded(frame.evaluate(_CENSUS, stats), timeout)
            if not isinstance(got, dict):
                continue
            seen.contexts += len(got["contexts"])
            ctx_out += [c["output_ms"] for c in got["contexts"]]
            audible = [e for e in got["elements"] if e["audible"]]
            seen.elements_stream += sum(e["source"] == "stream" for e in audible)
            seen.elements_file += sum(e["source"] == "file" for e in audible)
            streams = [e for e in got["elements"] if e["source"] == "stream"]
            seen.elements_remote += sum(e["remote"] for e in streams)
            seen.elements_page_stream += sum(not e["remote"] for e in streams)
            seen.receivers += len(got["receivers"])
            jitter += [r["jitter_buffer_ms"] for r in got["receivers"]]
            playout += [r["delay_ms"] for r in got["playouts"]]
    seen.context_output_ms = statistics.median(ctx_out) if ctx_out else None
    seen.jitter_buffer_ms = statistics.median(jitter) if jitter else None
    seen.playout_delay_ms = statistics.median(playout) if playout else None
    return seen
