"""The server in-process for unit tests: a real socket, the real store, bots played by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.http import EmbeddedServer
from core.job import Job
from core.settings import Settings
from server.main import build_app
from status.sqlite import SqliteStatusStore

KEY = "test-key-1"


class FakeBots:
    """A launcher that records what the API asks of it; the test moves the store as a bot would."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.left: list[str] = []
        self.public_url: str | None = None

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def submit(self, job: Job) -> None:
        self.jobs.append(job)

    async def leave(self, meeting_id: str) -> bool:
        self.left.append(meeting_id)
        return True

    async def exposition(self) -> bytes:
        return b""


def settings_for(tmp: Path, **over: object) -> Settings:
    return Settings(api_keys=f"other-key,{KEY}", data_dir=tmp / "data", output_dir=tmp / "recordings",
                    allow_private_urls="127.0.0.1/32", **over)  # type: ignore[arg-type]


@asynccontextmanager
async def running_server(tmp: Path) -> AsyncIterator[tuple[str, SqliteStatusStore, FakeBots]]:
    settings = settings_for(tmp)
    store = SqliteStatusStore(tmp / "data" / "meetbot.db")
    bots = FakeBots()
    server = EmbeddedServer(build_app(store, bots, settings), name="api")
    await server.start()
    try:
        yield server.url, store, bots
    finally:
        await server.aclose()
