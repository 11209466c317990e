"""Meetings with a ``join_at``: ``scheduled`` in the status store until their bot must start.

Every server runs a scheduler over the shared store; starting a meeting is a compare-and-set
(``scheduled`` -> ``created``), so of several servers, or one killed and restarted, exactly one
starts its bot, whatever launches it. Nothing is held in memory: a restart finds the schedule
where it was.

How early: what this store's recent meetings took from launch to ready-to-join (the bot's
``joining`` mark; spawning, display, browser, A/V self-test), their 90th percentile plus a margin.
The bot then holds, ready, until ``join_at`` less its join flow (page load and name, up to asking
to join: the median of the platform's recent joins plus a second), handed to it as ``join_lead``,
and on the pre-join page waits for ``join_at`` itself before it clicks. A start-up or a join flow
longer than measured makes it late by the difference; a shorter one only lengthens a wait.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import platforms
from core.errors import MeetbotError
from core.lifecycle import Phase
from core.outcomes import Outcome
from core.settings import Settings
from server.launchers import BotLauncher
from server.launchers.base import job_of
from server.launchers.recovery import fail_meeting
from status import MeetingRecord, StatusStore

log = logging.getLogger("meetbot.schedule")

POLL_S = 0.5
MARGIN_S = 3.0
"""Beyond the 90th percentile of past start-ups: a slower one still makes it."""
MIN_SAMPLES = 3
HISTORY = 50
MEASURE_EVERY_S = 30.0
SPAWN_MAX_S = 15.0
"""A launch -> ``starting`` longer than this waited for a slot (or a worker): not a start-up."""
JOIN_FLOW_DEFAULT_S = 3.0
"""Until a platform's joins are measured (a page load, a name typed, dialogs)."""
JOIN_FLOW_MARGIN_S = 1.0
JOIN_FLOW_MAX_S = 30.0


@dataclass(frozen=True)
class Leads:
    startup_s: float
    """Start a bot this long before its ``join_at``."""
    join_flow_s: dict[str, float] = field(default_factory=dict)
    """Per platform: from ready to asking to join."""
    samples: int = 0

    def join_flow(self, meeting_url: str) -> float:
        try:
            platform = platforms.resolve(meeting_url)[1].platform
        except MeetbotError:
            return JOIN_FLOW_DEFAULT_S
        measured = self.join_flow_s.get(platform)
        return JOIN_FLOW_DEFAULT_S if measured is None else measured + JOIN_FLOW_MARGIN_S


def _first(record: MeetingRecord, phase: Phase) -> float | None:
    return next((m.at for m in record.phases if m.phase == phase.value), None)


def measure_leads(records: Iterable[MeetingRecord], fallback_s: float) -> Leads:
    """From past meetings' phase marks: start-up p90 + margin (``fallback_s`` with too few), and
    per platform the median join flow of meetings that did not hold (no ``join_at``)."""
    startups: list[float] = []
    flows: dict[str, list[float]] = {}
    for r in records:
        launched = _first(r, Phase.CREATED) or r.created_at
        starting, joining = _first(r, Phase.STARTING), _first(r, Phase.JOINING)
        if starting is None or joining is None:
            continue
        if 0 <= starting - launched <= SPAWN_MAX_S:
            startups.append(joining - launched)
        asked = next((m.at for m in r.phases if m.at >= joining and m.phase in
                      (Phase.IN_WAITING_ROOM.value, Phase.IN_CALL_RECORDING.value)), None)
        if r.join_at is None and asked is not None and asked - joining <= JOIN_FLOW_MAX_S:
            try:
                platform = platforms.resolve(r.meeting_url)[1].platform
            except MeetbotError:
                continue
            flows.setdefault(platform, []).append(asked - joining)
    if len(startups) >= MIN_SAMPLES:
        startup = statistics.quantiles(startups, n=10, method="inclusive")[-1] + MARGIN_S
    else:
        startup = fallback_s
    return Leads(startup_s=round(startup, 3),
                 join_flow_s={p: round(statistics.median(v), 3) for p, v in flows.items()},
                 samples=len(startups))


class Scheduler:
    def __init__(self, store: StatusStore, bots: BotLauncher, settings: Settings, *,
                 poll: float = POLL_S) -> None:
        self.store, self.bots, self.settings, self.poll = store, bots, settings, poll
        self._leads: Leads | None = None
        self._measured_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    async def leads(self) -> Leads:
        if self._leads is None or time.monotonic() - self._measured_at > MEASURE_EVERY_S:
            self._leads = measure_leads(await self.store.recent(HISTORY), self.settings.join_startup_s)
            self._measured_at = time.monotonic()
        return self._leads

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler pass failed")
            await asyncio.sleep(self.poll)

    async def tick(self) -> list[str]:
        """Start the bots of the scheduled meetings that are due; their ids."""
        scheduled = [r for r in await self.store.active() if r.phase == Phase.SCHEDULED.value]
        if not scheduled:
            return []
        leads = await self.leads()
        started = []
        for r in scheduled:
            now = time.time()
            if r.join_at is not None and r.join_at - leads.startup_s > now:
                continue
            claimed = await self.store.claim_scheduled(r.meeting_id, now)
            if claimed is None:
                continue  # another server did, or it was cancelled
            join_lead = leads.join_flow(r.meeting_url)
            job = job_of(claimed).model_copy(update={"join_lead": join_lead})
            log.info("scheduled meeting: starting its bot", extra={
                "meeting_id": r.meeting_id, "join_in_s": round((r.join_at or now) - now, 2),
                "startup_lead_s": leads.startup_s, "join_lead_s": join_lead,
                "measured_from": leads.samples})
            self.bots.submit(job)
            started.append(r.meeting_id)
        return started

    async def cancel(self, meeting_id: str) -> bool:
        """A scheduled meeting called off before its bot started: failed (``stopped``), called
        back. False if it was not scheduled (any more): its bot is the launcher's to stop."""
        claimed = await self.store.claim_scheduled(meeting_id, time.time())
        if claimed is None:
            return False
        return await fail_meeting(self.store, self.settings, job_of(claimed), Outcome.STOPPED,
                                  "cancelled before its join_at; no bot was started", self._tasks)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.callback_grace + 5)
