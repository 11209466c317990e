"""The local directory store: one folder per recording, written atomically."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import tempfile
from pathlib import Path

from core.errors import StorageError
from core.urls import media_url


class LocalStorage:
    """A directory; writes are atomic (temp file + rename) so a reader never sees half a file.

    URLs are ``file://`` ones, or the server's ``/media/<asset id>/<key>`` when the files are served
    (``public_url`` and ``asset_id`` given).
    """

    def __init__(self, root: Path, *, public_url: str | None = None, asset_id: str | None = None) -> None:
        self.root = root.resolve()
        self.public_url, self.asset_id = public_url, asset_id

    @property
    def uri(self) -> str:
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError(f"key {key!r} escapes the store")
        return path

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def url(self, key: str) -> str:
        path = self._path(key)  # refuses a key that escapes the store
        if self.public_url and self.asset_id:
            return media_url(self.public_url, self.asset_id, key)
        return path.as_uri()

    async def presign(self, key: str) -> str | None:
        """Local files are served by the API, not signed."""
        return None

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
            raise StorageError(f"could not write {key}: {exc}",
                               full=exc.errno in (errno.ENOSPC, errno.EDQUOT)) from exc
        return self.url(key)

    async def put_file(self, key: str, path: Path) -> str:
        if path.resolve() == self._path(key):
            return self.url(key)  # already where it belongs
        return await asyncio.to_thread(self._write, key, path, None)

    async def put_bytes(self, key: str, data: bytes) -> str:
        return await asyncio.to_thread(self._write, key, None, data)

    async def get_bytes(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except OSError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    async def fetch(self, key: str, dest: Path) -> None:
        try:
            await asyncio.to_thread(shutil.copyfile, self._path(key), dest)
        except OSError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)
