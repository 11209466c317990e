"""How late this recording's sound comes after the page, measured before joining.

A page's sound reaches the bot's sink some time after the page's audio clock says it plays: the
output buffers of Chromium (their size a flag) and PulseAudio, by how busy the machine is (a
4096-frame output buffer made it 270-360 ms late, Chromium's ``baseLatency`` said 93 ms; 36-45 ms
with the default buffer). So each recording measures its own: on the bot's page, before the
meeting, a context that already plays (silence) into the sink starts a few tones, then sends a
couple through a MediaStream to an ``<audio>`` element (a path of its own), each with a white
square fading in at the instant the context's clock says the tone starts; a short capture
with the recorder's own command reads back each tone's onset and each fade's start. The sound is
corrected by its lateness; the picture's (the time from Chromium's last frame to the grab, 0-17
ms, a phase of each capture's own) is only reported.

The fade is a linear ramp, so every frame inside it says how long ago it began: the frames in its
lower part place the start between grabs, where one flip would only be placed to a frame.
"""

from __future__ import annotations

import array
import asyncio
import logging
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from bot.recorder import PLAYLIST, Recorder
from core.aio import bounded
from core.errors import RecordingError
from core.page_clock import read_page_clock
from media.ffmpeg import ffprobe, run

log = logging.getLogger("meetbot.av_selftest")

RAMP_S = 0.3
HOLD_S = 0.15
TONE_S = 0.08
PROBES = 3
ELEMENT_PROBES = 2
"""Tones the context plays straight to its destination, then tones it sends through a
MediaStream to an ``<audio>`` element: Chromium plays that element from a renderer of its own,
and its sound came 51-69 ms later than the context's (the page dated both on the context's clock)."""
PROBE_GAP_S = 0.6
LEAD_S = 0.4
"""The first probe this long after the capture's first progress report (ffmpeg takes 0.3-1.2 s
to start, the most on a cold machine)."""
START_TIMEOUT_S = 10.0
TONE_DB = -12.0
KINDS = ["context"] * PROBES + ["element"] * ELEMENT_PROBES
AV_BOUND_S = 0.045
"""Sound more than 45 ms before or after its picture is noticed (ITU-R BT.1359 puts the
detectability threshold at +45 / -125 ms)."""

# The context's clock is read from the main thread, where currentTime moves in whole output
# buffers; the median of many readings sits mid-buffer (when its frames are rendered). Each probe
# is dated again just before it plays, from readings taken after the context settled.
_PAGE = f"""<!doctype html><html><head><style>
html,body{{margin:0;height:100%;background:#000;overflow:hidden;cursor:none}}
#flash{{position:fixed;left:calc(50% - 64px);top:calc(50% - 64px);width:128px;height:128px;
  background:#fff;opacity:0;will-change:opacity}}
</style></head><body><div id="flash"></div><script>
let ctx = null, toElement = null, element = null;
// Both outputs play (silence) before the capture starts: a stream that joins the sink during the
// capture changes the sink's timing under it (measured: the sound then reads ~40 ms early).
window.__avPrepare = async () => {{
  ctx = new AudioContext({{ latencyHint: 'interactive' }});
  await ctx.resume();
  toElement = ctx.createMediaStreamDestination();
  element = new Audio();
  element.srcObject = toElement.stream;
  await element.play();
  const hum = ctx.createOscillator(), mute = ctx.createGain();
  mute.gain.value = 0;
  hum.connect(mute);
  mute.connect(ctx.destination);
  mute.connect(toElement);
  hum.start();
  await new Promise((r) => setTimeout(r, 300));
}};
// kinds[k]: 'context' (to the destination) or 'element' (through the MediaStream to <audio>).
window.__avProbe = async (kinds, gapMs, leadMs) => {{
  const probes = kinds.length;
  const offsets = [];
  const outputs = [];
  const read = () => {{
    if (ctx.currentTime > 0) offsets.push(performance.now() - ctx.currentTime * 1000);
    if (ctx.outputLatency > 0) outputs.push(ctx.outputLatency);
  }};
  const offset = () => {{ const s = offsets.slice(-41).sort((a, b) => a - b); return s[s.length >> 1]; }};
  const reader = setInterval(read, 7);
  const flash = document.getElementById('flash');
  const out = [];
  const t0 = performance.now() + leadMs;
  await new Promise((r) => setTimeout(r, Math.max(0, leadMs - 150)));
  for (let k = 0; k < probes; k++) {{
    const P = t0 + k * gapMs;
    await new Promise((r) => setTimeout(r, Math.max(0, P - 120 - performance.now())));
    const T = (P - offset()) / 1000;
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 1000; gain.gain.value = {10 ** (TONE_DB / 20):.4f};
    osc.connect(gain).connect(kinds[k] === 'element' ? toElement : ctx.destination);
    osc.start(T); osc.stop(T + {TONE_S});
    await new Promise((r) => setTimeout(r, Math.max(0, P - 40 - performance.now())));
    const at = T * 1000 + offset();
    const ms = {1000 * (RAMP_S + HOLD_S)};
    const ramp = {RAMP_S / (RAMP_S + HOLD_S):.4f};
    const anim = flash.animate(
      [{{ opacity: 0, easing: 'linear' }}, {{ opacity: 1, offset: ramp }}, {{ opacity: 1 }}],
      {{ duration: ms, fill: 'none' }});
    anim.startTime = at;
    out.push((performance.timeOrigin + at) / 1000);
  }}
  await new Promise((r) => setTimeout(r, gapMs));
  clearInterval(reader);
  // Its median over the probes: one reading is off by tens of ms under load.
  const sorted = outputs.sort((a, b) => a - b);
  const figures = {{ base_latency: ctx.baseLatency,
                     output_latency: sorted.length ? sorted[sorted.length >> 1] : ctx.outputLatency }};
  element.pause();
  await ctx.close();
  return {{ at: out, ...figures }};
}};
</script></body></html>"""


@dataclass(frozen=True, slots=True)
class AvPath:
    sound_late: float
    """Seconds from the page's audio clock to the sink (median over the probes)."""
    picture_late: float | None
    """Seconds from the page's drawing to the display grab in the self-test's own capture (None:
    a sound-only recording, or no fade read)."""
    probes: int
    """Tones found."""
    spread: float
    """The largest minus the smallest lateness of the tones, seconds."""
    base_latency: float | None = None
    output_latency: float | None = None
    """What Chromium said of the probes' context (a lower bound of ``sound_late``)."""
    element_stream_late: float | None = None
    """Seconds from the context's clock to the sink for its sound sent through a MediaStream to an
    ``<audio>`` element (median over those probes; None: none found)."""
    sink_latency: float | None = None
    """What PulseAudio said the probes' streams waited in it, read as they played."""
    clock_offset: float | None = None
    clock_rtt: float | None = None
    """The page's clock against the bot's, and the round trip of the read it came from: an error
    in it moves the sound's and the picture's lateness alike."""

    @property
    def offset(self) -> float:
        """The sound's lateness against the picture's, before correction."""
        return self.sound_late - (self.picture_late or 0.0)


async def measure_av_path(page: Page, make_recorder: Callable[[Path], Recorder], work: Path, *,
                          audio_only: bool = False,
                          sink_latency: Callable[[], Awaitable[float | None]] | None = None,
                          on_step: Callable[[str], None] = lambda _: None) -> AvPath:
    """Probes on ``page`` (left showing a black screen), captured by ``make_recorder(dir)``: a
    Recorder like the meeting's, without correction. RecordingError when they cannot be read.
    ``on_step`` hears what it is doing, so that a caller giving up on it can say where it was."""
    try:
        on_step("opening its page")
        await page.set_content(_PAGE, timeout=10_000)
        on_step("reading the page's clock")
        clock = await bounded(read_page_clock(page), 10)
        on_step("preparing the page's sound")
        await bounded(page.evaluate("() => window.__avPrepare()"), 10)
    except (PlaywrightError, TimeoutError) as exc:
        raise RecordingError(f"the A/V self-test page did not start its sound: {exc}") from exc
    on_step("starting its capture")
    async with make_recorder(work) as recorder:
        on_step("waiting for its capture's first progress")
        began = asyncio.get_running_loop().time()
        while not recorder.progress.get("out_time_us", "").strip("-").isdigit() or \
                int(recorder.progress["out_time_us"]) <= 0:
            if not recorder.running or asyncio.get_running_loop().time() - began > START_TIMEOUT_S:
                raise RecordingError("the A/V self-test's capture did not start: "
                                     + " | ".join(recorder.tail()[-3:]))
            await asyncio.sleep(0.05)
        on_step("playing its probes")
        probing = asyncio.ensure_future(page.evaluate(
            "([kinds, gap, lead]) => window.__avProbe(kinds, gap, lead)",
            [KINDS, PROBE_GAP_S * 1000, LEAD_S * 1000]))
        waits: list[float] = []
        try:
            if sink_latency is not None:  # read while the context's tones play
                await asyncio.sleep(LEAD_S + PROBE_GAP_S)
                waits = [w for w in [await sink_latency() for _ in range(3)] if w is not None]
            got = await bounded(probing, LEAD_S + (len(KINDS) + 1) * PROBE_GAP_S + 10)
        except (PlaywrightError, TimeoutError) as exc:
            raise RecordingError(f"the A/V self-test page did not run: {exc}") from exc
        finally:
            probing.cancel()
        on_step("stopping its capture")
        await recorder.stop()
        on_step("releasing its capture")
    base = recorder.ts_base
    at = [float(t) + clock.offset for t in got["at"]]
    on_step("decoding its sound")
    sound = await _sound(work / PLAYLIST)
    on_step("decoding its picture")
    picture = None if audio_only else await _picture(work / PLAYLIST)
    sound_late: dict[str, list[float]] = {kind: [] for kind in KINDS}
    picture_late: list[float] = []
    for t, kind in zip(at, KINDS, strict=True):
        onset = _tone_onset(sound, t - base)
        fade = None if picture is None else _fade_start(picture, t - base)
        if onset is None or (picture is not None and fade is None):
            log.info("A/V probe not found",
                     extra={"kind": kind, "at": round(t - base, 3), "sound": onset, "picture": fade})
        if onset is not None:
            sound_late[kind].append(onset - (t - base))
        if fade is not None:
            picture_late.append(fade - (t - base))
    element, context = sound_late["element"], sound_late["context"]
    if not context:
        raise RecordingError(f"the A/V self-test found none of its {PROBES} tones in the capture "
                             "(no sound on the sink?)")
    return AvPath(sound_late=statistics.median(context),
                  picture_late=statistics.median(picture_late) if picture_late else None,
                  probes=len(context), spread=max(context) - min(context),
                  base_latency=_num(got.get("base_latency")), output_latency=_num(got.get("output_latency")),
                  element_stream_late=statistics.median(element) if element else None,
                  sink_latency=statistics.median(waits) if waits else None,
                  clock_offset=clock.offset, clock_rtt=clock.rtt)


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) else None


async def _sound(playlist: Path) -> tuple[float, array.array[int]]:
    """(file time of the first sample, mono samples at 48 kHz)."""
    out = await run(ffprobe(playlist, "-select_streams", "a:0", "-show_entries", "stream=start_time",
                            "-of", "csv=p=0"), timeout=30)
    start = float((out.decode().split() or ["0"])[0].strip(",") or 0)
    raw = await run(["ffmpeg", "-v", "error", "-i", str(playlist), "-map", "0:a:0", "-ac", "1",
                     "-ar", "48000", "-f", "s16le", "-"], timeout=60)
    return start, array.array("h", raw)


async def _picture(playlist: Path) -> list[tuple[float, float]]:
    """(file time, mean luma of the flash's middle) of every frame."""
    times = (await run(ffprobe(playlist, "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                               "-of", "csv=p=0"), timeout=30)).decode().split()
    lumas = await run(["ffmpeg", "-v", "error", "-i", str(playlist), "-map", "0:v:0", "-vf",
                       "crop=96:96:iw/2-48:ih/2-48,scale=1:1:flags=area,format=gray",
                       "-fps_mode", "passthrough", "-f", "rawvideo", "-"], timeout=60)
    pts = [float(t.strip(",")) for t in times if t.strip(",") not in ("", "N/A")]
    return list(zip(pts, [float(v) for v in lumas], strict=False))


def _tone_onset(sound: tuple[float, array.array[int]], expect: float) -> float | None:
    """File time of the first sample of the probe's tone (a quarter of its peak, after 0.1 s
    without one) in the probe's gap after ``expect``."""
    start, samples = sound
    limit = 32768 * 10 ** (TONE_DB / 20) / 4
    a = max(0, int((expect - 0.15 - start) * 48000))
    b = min(len(samples), int((expect + PROBE_GAP_S - 0.15 - start) * 48000))
    quiet = 0
    for i in range(a, b):
        if abs(samples[i]) > limit:
            if quiet >= 4800:
                return start + i / 48000
            quiet = 0
        else:
            quiet += 1
    return None


def _fade_start(frames: list[tuple[float, float]], expect: float) -> float | None:
    """Where the fade near ``expect`` began: black the darkest frame before it, white the
    brightest after it, then the mean of (time - ramp x fraction) over the frames in the ramp's
    lower part."""
    near = [(t, v) for t, v in frames if expect - 0.25 <= t <= expect + RAMP_S + HOLD_S]
    dark = [v for t, v in near if t < expect - 0.02]
    if not dark or not near:
        return None
    black, white = min(dark), max(v for _, v in near)
    if white - black < 100:
        return None
    starts = []
    for t, v in near:
        f = (v - black) / (white - black)
        # Its upper part bends (measured: 0.79 where 0.72 was due): the lower part is the line.
        if 0.04 < f < 0.6 and expect - 0.1 <= t <= expect + RAMP_S + 0.12:
            starts.append(t - RAMP_S * f)
    return statistics.fmean(starts) if starts else None


def describe(av: AvPath) -> dict[str, float | int | None]:
    """The figures for the log and stats.json, in ms."""
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {"av_offset_ms": ms(av.offset), "sound_late_ms": ms(av.sound_late),
            "picture_late_ms": ms(av.picture_late), "probes": av.probes,
            "probe_spread_ms": ms(av.spread), "chromium_base_latency_ms": ms(av.base_latency),
            "chromium_output_latency_ms": ms(av.output_latency),
            "element_stream_late_ms": ms(av.element_stream_late),
            "sink_latency_ms": ms(av.sink_latency), "clock_offset_ms": ms(av.clock_offset),
            "clock_rtt_ms": ms(av.clock_rtt)}
