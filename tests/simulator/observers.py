"""Page-side observers for the variant tests: they read the DOM the way the reference says bots read
the real pages, independently of the simulator's own code, and stamp what they see with page-clock
epoch times (the clock the ground truth uses)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

# The per-platform tile and name readers (reference 1.4, 2.4, 3.4).
MEET_TILES = "div[data-participant-id]:has(span.notranslate)"
MEET_NAME = "tile.querySelector('span.notranslate').textContent"
TEAMS_TILES = '[data-tid="modern-stage-wrapper"] [data-stream-type="Video"]'
TEAMS_NAME = "tile.getAttribute('data-tid')"
TEAMS_OUTLINE = "tile.querySelector('[data-tid=\"voice-level-stream-outline\"]')"

# A border drawn for real: some opacity, a style, a width and a colour that is not transparent.
_LIT = """
const __lit = (cs) => !!cs && parseFloat(cs.opacity) > 0 && cs.borderTopStyle !== 'none'
  && parseFloat(cs.borderTopWidth) > 0 && cs.borderTopColor !== 'transparent'
  && !/^rgba\\(.*,\\s*0\\)$/.test(cs.borderTopColor);
const __blue = (c) => {
  const m = /rgba?\\((\\d+),\\s*(\\d+),\\s*(\\d+)/.exec(c || '');
  return m ? +m[3] : 0;
};
"""


def signal_observer(tiles: str, name: str, on: str, vis: str = "false", probe: str = "null") -> str:
    """An init script recording ``window.__flips`` ({name, on, t, probe}) whenever the predicate
    ``on`` (JS expression over ``tile``) changes for a tile, with ``probe`` (another expression) read
    at that moment; and ``window.__vis`` the same for the visual predicate ``vis``. Reading the DOM
    inside the page at the moment it changes keeps the checks independent of how slow the test's
    round trips are."""
    return f"""
(() => {{
  {_LIT}
  const TILES = {json.dumps(tiles)};
  window.__flips = []; window.__vis = [];
  const last = new Map(), lastVis = new Map();
  const scan = () => {{
    const t = (performance.timeOrigin + performance.now()) / 1000;
    for (const tile of document.querySelectorAll(TILES)) {{
      const name = {name};
      if (!name) continue;
      const on = !!({on});
      if ((last.get(name) || false) !== on) {{
        last.set(name, on);
        window.__flips.push({{ name, on, t, probe: ({probe}) }});
      }}
      const vis = !!({vis});
      if ((lastVis.get(name) || false) !== vis) {{
        lastVis.set(name, vis);
        window.__vis.push({{ name, on: vis, t }});
      }}
    }}
  }};
  new MutationObserver(scan).observe(document,
    {{ subtree: true, childList: true, attributes: true, characterData: true }});
}})();
"""


def teams_visual() -> str:
    """The Teams outline (or its ::before) visibly drawn (MB's pseudo check, VX's style check)."""
    o = TEAMS_OUTLINE
    return f"(__lit(getComputedStyle({o})) || __lit(getComputedStyle({o}, '::before')))"


def teams_pseudo_on() -> str:
    """MB ``checkElementAndPseudo``: a blue (b > 180) ::before border with opacity 1."""
    o = TEAMS_OUTLINE
    return ("((cs) => cs.opacity === '1' && __blue(cs.borderTopColor) > 180"
            f" && parseFloat(cs.borderTopWidth) > 0)(getComputedStyle({o}, '::before'))")


def intervals(flips: list[dict[str, Any]], name: str) -> list[tuple[float, float | None]]:
    """(on, off) times of one name's signal; off is None while it stays on."""
    out: list[tuple[float, float | None]] = []
    for f in flips:
        if f["name"] != name:
            continue
        if f["on"]:
            out.append((f["t"], None))
        elif out and out[-1][1] is None:
            out[-1] = (out[-1][0], f["t"])
    return out


def assert_signal_follows_speech(flips: list[dict[str, Any]], speech: list[dict[str, Any]],
                                 stuck: tuple[str, ...] = (), tol: float = 0.2) -> list[float]:
    """Each segment lit its speaker's signal when its audio started and (unless stuck) darkened it
    when the audio ended; returns the errors in seconds. The tolerance allows for the page's timers
    firing late while two pages render on two cores (a first turn was once lit 154 ms late)."""
    errors = []
    for seg in speech:
        spans = [s for s in intervals(flips, seg["speaker"]) if s[0] > seg["start"] - 0.5]
        assert spans, f"{seg['speaker']}: no signal for the segment at {seg['start']}"
        on, off = spans[0]
        errors.append(on - seg["start"])
        if seg["speaker"] in stuck:
            assert off is None, f"{seg['speaker']} is stuck but went dark at {off}"
        else:
            assert off is not None, f"{seg['speaker']}: signal never went dark"
            errors.append(off - seg["end"])
    assert max(abs(e) for e in errors) < tol, [round(e * 1000) for e in errors]
    return errors


def assert_flips_follow_audio(flips: list[dict[str, Any]], speech: list[dict[str, Any]],
                              tol: float = 0.15) -> None:
    """The sync marker's truth flips: white when each segment's audio reached the output (its start,
    or when the bot joined Zoom audio in its middle), black at its end (segments here never overlap)."""
    expect = []
    for s in speech:
        start = s["start"] if s["audible"] else s["audible_from"]
        if start is not None:
            expect += [(start, True), (s["end"], False)]
    assert [f["on"] for f in flips] == [on for _, on in expect], flips
    for f, (t, _) in zip(flips, expect, strict=True):
        assert abs(f["t"] - t) < tol, (f, t)


async def marker_pixels(page: Any) -> tuple[list[int], list[int]]:
    """Screenshot the viewport's bottom-left 48x48 CSS px and return the (min, max) RGB seen."""
    vp = page.viewport_size
    png = await page.screenshot(clip={"x": 0, "y": vp["height"] - 48, "width": 48, "height": 48})
    return await page.evaluate("""async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width; c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const lo = [255, 255, 255], hi = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) {
        for (let k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], d[i + k]); hi[k] = Math.max(hi[k], d[i + k]); }
      }
      return [lo, hi];
    }""", base64.b64encode(png).decode())


async def side_by_side(cases: dict[str, Any], at_once: int = 2) -> None:
    """Run short meetings (label -> coroutine) concurrently, a few at a time (the machine has two
    cores); a failure names its case."""
    gate = asyncio.Semaphore(at_once)

    async def one(label: str, c: Any) -> None:
        async with gate:
            try:
                await c
            except Exception as exc:
                raise AssertionError(f"case {label}: {exc!r}") from exc

    await asyncio.gather(*(one(k, c) for k, c in cases.items()))


async def wait_events(sim: Any, code: str, kind: str, n: int, timeout: float = 10.0) -> None:
    """Wait until the page has reported ``n`` events of this type."""
    meeting = sim.registry.get(code)
    async with asyncio.timeout(timeout), meeting.changed:
        await meeting.changed.wait_for(lambda: sum(e.get("type") == kind for e in meeting.truth.events) >= n)


def active_observer(selector: str) -> str:
    """An init script recording ``window.__active`` ({name, t}) each time the text of the first
    ``selector`` match changes (Zoom's active-speaker readers, reference 2.4)."""
    return f"""
(() => {{
  const SEL = {json.dumps(selector)};
  window.__active = [];
  let last = null;
  new MutationObserver(() => {{
    const t = (performance.timeOrigin + performance.now()) / 1000;
    const el = document.querySelector(SEL);
    const name = el ? el.textContent : null;
    if (name !== last) {{ last = name; window.__active.push({{ name, t }}); }}
  }}).observe(document, {{ subtree: true, childList: true, attributes: true, characterData: true }});
}})();
"""
