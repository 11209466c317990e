"""The server in-process for unit tests: a real socket, the real store, bots played by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.config import Settings
from bot.embedded_server import EmbeddedServer
from bot.job import Job
from server.main import build_app
from server.sqlite_store import SqliteStatusStore

KEY = "test-key-1"


class FakeBots:
    """Records what the API asks of the bots; the test moves the store as a bot would."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.left: list[str] = []

    def submit(self, job: Job) -> None:
        self.jobs.append(job)

    async def leave(self, meeting_id: str) -> bool:
        self.left.append(meeting_id)
        return True


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
