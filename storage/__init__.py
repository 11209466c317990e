"""Where recordings and streams go: one small interface, a local directory or an S3-compatible
bucket behind it, chosen by settings.

Every recording (a meeting's, a stream's, an export) is a *store location* named by a URI:
``file:///abs/dir`` or ``s3://bucket/prefix``. The status records keep that URI, so whoever reads
the files later (the server, on another machine than the bot) opens the same place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from core.errors import StorageError
from core.settings import StorageSettings
from storage.local import LocalStorage


class Storage(Protocol):
    @property
    def uri(self) -> str: ...

    def url(self, key: str) -> str:
        """Where the file is reached: the server's ``/media/...`` URL when served."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file on this machine's disk, for a local store; None for a remote one."""
        ...

    async def presign(self, key: str) -> str | None:
        """A time-limited URL anyone can GET (remote stores); None where files are served."""
        ...

    async def put_file(self, key: str, path: Path) -> str:
        """Store ``path`` under ``key``; return its URL."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> str: ...

    async def get_bytes(self, key: str) -> bytes: ...

    async def fetch(self, key: str, dest: Path) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...


async def local_file(storage: Storage, key: str, work: Path) -> Path:
    """``key`` as a file on this machine: the stored file itself in a local store, else a copy
    fetched into the directory ``work`` (which the caller removes)."""
    path = storage.local_path(key)
    if path is not None and path.is_file():
        return path
    dest = work / key.replace("/", "_")
    await storage.fetch(key, dest)
    return dest


def location(settings: StorageSettings, kind: str, name: str) -> str:
    """The URI a new recording (``kind`` "recordings", "streams", "videos") is stored at."""
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise StorageError("MEETBOT_STORAGE_BACKEND=s3 needs MEETBOT_S3_BUCKET")
        prefix = "/".join(p for p in (settings.s3_prefix.strip("/"), kind, name) if p)
        return f"s3://{settings.s3_bucket}/{prefix}"
    root = settings.output_dir if kind == "recordings" else settings.output_dir / kind
    return (root / name).resolve().as_uri()


def open_storage(uri: str, settings: StorageSettings, *, public_url: str | None = None,
                 asset_id: str | None = None) -> Storage:
    """The store at ``uri`` (see ``location``); ``public_url`` and ``asset_id`` make its URLs the
    server's ``/media/<asset_id>/...``."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return LocalStorage(Path(parts.path), public_url=public_url, asset_id=asset_id)
    if parts.scheme == "s3":
        from storage.s3 import S3Storage

        return S3Storage(
            bucket=parts.netloc, prefix=parts.path, endpoint=str(settings.s3_endpoint) if settings.s3_endpoint
            else None, region=settings.s3_region,
            access_key_id=settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None,
            secret_access_key=(settings.s3_secret_access_key.get_secret_value()
                               if settings.s3_secret_access_key else None),
            presign_seconds=settings.s3_presign_seconds, public_url=public_url, asset_id=asset_id)
    raise StorageError(f"unsupported store location {uri!r}")


__all__ = ["LocalStorage", "Storage", "location", "open_storage"]
