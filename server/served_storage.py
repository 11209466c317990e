"""The local store, with the URLs the server serves its files at (``/media/<video_id>/<key>``)."""

from __future__ import annotations

from pathlib import Path

from bot.storage import LocalStorage
from server.urls import media_url


class ServedStorage(LocalStorage):
    """Writes like ``LocalStorage``; the URLs it returns are http, under the server's base URL."""

    def __init__(self, root: Path, *, base_url: str, video_id: str) -> None:
        super().__init__(root)
        self.base_url, self.video_id = base_url, video_id

    def url(self, key: str) -> str:
        self._path(key)  # refuses a key that escapes the store
        return media_url(self.base_url, self.video_id, key)

    async def put_file(self, key: str, path: Path) -> str:
        await super().put_file(key, path)
        return self.url(key)

    async def put_bytes(self, key: str, data: bytes) -> str:
        await super().put_bytes(key, data)
        return self.url(key)
