"""Where recordings go: a small interface, with the local directory as its first backend."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from storage.local import LocalStorage


class Storage(Protocol):
    async def put_file(self, key: str, path: Path) -> str:
        """Store ``path`` under ``key``; return its URL."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> str: ...

    def url(self, key: str) -> str: ...


__all__ = ["LocalStorage", "Storage"]
