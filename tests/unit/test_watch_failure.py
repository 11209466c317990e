"""A meeting watcher loop that dies is a failed job, not a bot left recording until max_duration."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.errors import JobError, JoinError
from core.outcomes import Outcome
from platforms.base import MeetingRef, ParticipantCount
from platforms.google_meet import GoogleMeetAdapter

pytestmark = pytest.mark.unit


class _Watcher(GoogleMeetAdapter):
    def __init__(self, failure: BaseException) -> None:
        super().__init__(MeetingRef(platform="google_meet", url="https://meet.google.com/abc-defg-hij",
                                    meeting_id="abc-defg-hij"), page=None)  # type: ignore[arg-type]
        self.failure = failure

    async def _install_speaker_probe(self) -> None:
        pass

    async def _poll_call(self) -> None:
        self._events.put_nowait(ParticipantCount(1))
        await asyncio.sleep(0.05)
        raise self.failure

    async def _act_loop(self) -> None:
        await asyncio.sleep(3600)

    async def _watchdog(self) -> None:
        await asyncio.sleep(3600)


async def drain(adapter: Any) -> list[Any]:
    seen = []
    async for ev in adapter.watch():
        seen.append(ev)
    return seen


async def test_a_dead_poll_loop_fails_the_job_after_what_it_saw() -> None:
    adapter = _Watcher(ValueError("invalid literal for int()"))
    seen: list[Any] = []
    with pytest.raises(JobError) as err:
        async with asyncio.timeout(5):
            async for ev in adapter.watch():
                seen.append(ev)
    assert seen == [ParticipantCount(1)]
    assert err.value.code is Outcome.INTERNAL_ERROR and "ValueError" in err.value.message


async def test_a_meetbot_error_keeps_its_code() -> None:
    adapter = _Watcher(JoinError(Outcome.REMOVED_BY_HOST, "removed"))
    with pytest.raises(JoinError) as err:
        async with asyncio.timeout(5):
            await drain(adapter)
    assert err.value.code is Outcome.REMOVED_BY_HOST
