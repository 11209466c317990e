"""Driving one platform adapter against a simulated meeting, without the rest of the bot.

The adapter gets a real page in headless Chromium with the platform's hosts routed to the
simulator; the test reads what the adapter reported and compares it with the simulator's truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import platforms
from bot.routing import install_host_overrides
from core.aio import bounded
from core.errors import JoinError
from platforms.base import Admitted, MeetingEnded, MeetingEvent, ParticipantCount, SpeakingChanged
from simulator.scenario import load_scenario

BOT = "Acme Notetaker"
CHROMIUM_ARGS = [
    "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=en-US",
]
HOSTS = ("meet.google.com", "zoom.us", "*.zoom.us", "teams.microsoft.com", "teams.live.com",
         "login.microsoftonline.com")


@dataclass
class Run:
    truth: dict[str, Any]
    admitted: Admitted | None = None
    refused: JoinError | None = None
    waiting_room_seen: bool = False
    events: list[MeetingEvent] = field(default_factory=list)
    ended: MeetingEnded | None = None
    ended_at: float | None = None
    """Wall-clock time the adapter reported the end."""
    after_admission_s: float | None = None
    log: list[str] = field(default_factory=list)

    def speaking(self) -> dict[str, list[tuple[float, float | None]]]:
        """Per speaker, the (on, off) page times the adapter reported."""
        out: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
        for ev in self.events:
            if not isinstance(ev, SpeakingChanged):
                continue
            turns = out[ev.name]
            if ev.speaking:
                turns.append((ev.page_time, None))
            elif turns and turns[-1][1] is None:
                turns[-1] = (turns[-1][0], ev.page_time)
        return dict(out)

    def counts(self) -> list[int]:
        return [ev.count for ev in self.events if isinstance(ev, ParticipantCount)]


async def drive(sim: Any, browser: Any, scenario: dict[str, Any], url: str | None = None, *,
                url_form: str | None = None, timeout: float = 40.0, leave_after: float | None = None) -> Run:
    """Join the scenario's meeting with the platform's adapter and watch it to the end."""
    sc = load_scenario(scenario)
    await sim.add_scenario(sc)
    url = url or sc.public_url(url_form)
    adapter_cls, ref = platforms.resolve(url)
    context = await browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    await install_host_overrides(context, {h: sim.url for h in HOSTS})
    page = await context.new_page()
    adapter = adapter_cls(ref, page)
    run = Run(truth={})
    side: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(timeout):
            try:
                await adapter.join(bot_name=BOT)
                run.admitted = await adapter.wait_admitted(lambda: setattr(run, "waiting_room_seen", True))
            except JoinError as exc:
                run.refused = exc
                return run
            started = time.monotonic()
            side = asyncio.create_task(adapter.after_admission())
            side.add_done_callback(lambda _t: setattr(run, "after_admission_s", time.monotonic() - started))
            deadline = time.time() + (leave_after or timeout)
            events = adapter.watch()
            try:
                while time.time() < deadline:
                    try:
                        ev = await bounded(anext(events), max(0.1, deadline - time.time()))
                    except (StopAsyncIteration, TimeoutError):
                        break
                    run.events.append(ev)
                    if isinstance(ev, MeetingEnded):
                        run.ended, run.ended_at = ev, time.time()
                        break
            finally:
                await events.aclose()
            await adapter.leave()
    finally:
        if side is not None:
            side.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await side
        await context.unroute_all(behavior="ignoreErrors")
        await context.close()
        run.truth = sim.truth(sc.meeting_code)
    return run


def speech_errors(run: Run, *, ends: bool = True) -> tuple[list[float], list[float]]:
    """Start (and end) errors of what the adapter reported against the page's own switching of
    the speaking signal (truth ``indicator_start``/``indicator_end``), matched in order per speaker."""
    reported = run.speaking()
    starts, stops = [], []
    cursor: dict[str, int] = defaultdict(int)
    for seg in run.truth["speech"]:
        name = seg["speaker"]
        turns = reported.get(name, [])
        i = cursor[name]
        assert i < len(turns), f"no reported turn for {name}'s speech at {seg['start']}: {reported}"
        on, off = turns[i]
        cursor[name] += 1
        starts.append(on - seg["indicator_start"])
        if ends and seg["indicator_end"] is not None:
            assert off is not None, f"{name}'s turn never ended: {reported}"
            stops.append(off - seg["indicator_end"])
    return starts, stops


def frame_errors(run: Run) -> list[float]:
    """Zoom: each hand-over of the active-speaker frame (truth ``active_speaker``) against the
    turn the adapter reported for that speaker. The frame's first holder is given at admission,
    before the adapter watches: that one is only checked to be reported within 0.6 s."""
    reported = run.speaking()
    errors = []
    for change in run.truth["active_speaker"]:
        name = change["name"]
        if name == BOT:
            continue
        starts = [on for on, _ in reported.get(name, [])]
        assert starts, f"{name} took the frame at {change['t']} and was never reported: {reported}"
        nearest = min(starts, key=lambda s: abs(s - change["t"]))
        if change["reason"] == "initial":
            assert 0 <= nearest - change["t"] < 0.6, (change, nearest)
        else:
            errors.append(nearest - change["t"])
    return errors
