"""Where recordings go. A small interface; the local directory store is the default."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from bot.errors import StorageError


class Storage(Protocol):
    async def put_file(self, key: str, path: Path) -> str:
        """Store ``path`` under ``key``; return its URL."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> str: ...

    def url(self, key: str) -> str: ...


class LocalStorage:
    """A directory; writes are atomic (temp file + rename) so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError(f"key {key!r} escapes the store")
        return path

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def _write(self, key: str, src: Path | None, data: bytes | None) -> str:
        dest = self._path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
            try:
                with os.fdopen(fd, "wb") as fh:
                    if src is not None:
                        with src.open("rb") as fin:
                            shutil.copyfileobj(fin, fh, 1024 * 1024)
                    else:
                        fh.write(data or b"")
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc}") from exc
        return dest.as_uri()

    async def put_file(self, key: str, path: Path) -> str:
        return await asyncio.to_thread(self._write, key, path, None)

    async def put_bytes(self, key: str, data: bytes) -> str:
        return await asyncio.to_thread(self._write, key, None, data)
