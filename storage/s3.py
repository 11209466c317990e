"""S3-compatible object storage (AWS S3, MinIO, Ceph, moto...) through obstore.

obstore is async-native (no thread per call), keeps one HTTP connection pool per store, uploads
large files in parts and signs URLs. Each recording lives under a prefix of one bucket. Files are
uploaded the moment they exist (segments as they close), so a killed process loses at most what
was still being written.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from core.errors import StorageError
from core.urls import media_url


class S3Storage:
    def __init__(self, *, bucket: str, prefix: str, endpoint: str | None, region: str,
                 access_key_id: str | None, secret_access_key: str | None,
                 presign_seconds: float = 4 * 3600, public_url: str | None = None,
                 asset_id: str | None = None) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.public_url, self.asset_id = public_url, asset_id
        self.presign_seconds = presign_seconds
        config: dict[str, str] = {"region": region}
        if endpoint:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = "false"
        if access_key_id and secret_access_key:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
        self._store = S3Store(bucket, prefix=self.prefix or None, config=config,  # type: ignore[arg-type]
                              client_options={"allow_http": bool(endpoint and endpoint.startswith("http:"))})

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def local_path(self, key: str) -> Path | None:
        return None

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"key {key!r} escapes the store")
        return key

    def url(self, key: str) -> str:
        """The server's URL when served (it redirects to a signed one), else the object's URI."""
        self._key(key)
        if self.public_url and self.asset_id:
            return media_url(self.public_url, self.asset_id, key)
        return f"{self.uri}/{key}"

    async def presign(self, key: str) -> str | None:
        try:
            return str(await obstore.sign_async(self._store, "GET", self._key(key),
                                                timedelta(seconds=self.presign_seconds)))
        except BaseError as exc:
            raise StorageError(f"could not sign {key}: {exc}") from exc

    async def put_file(self, key: str, path: Path) -> str:
        try:
            await obstore.put_async(self._store, self._key(key), path)
        except (BaseError, OSError) as exc:
            raise StorageError(f"could not upload {key}: {exc}") from exc
        return self.url(key)

    async def put_bytes(self, key: str, data: bytes) -> str:
        try:
            await obstore.put_async(self._store, self._key(key), data)
        except BaseError as exc:
            raise StorageError(f"could not upload {key}: {exc}") from exc
        return self.url(key)

    async def get_bytes(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self._store, self._key(key))
            return bytes(await result.bytes_async())
        except BaseError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    async def fetch(self, key: str, dest: Path) -> None:
        try:
            result = await obstore.get_async(self._store, self._key(key))
            with dest.open("wb") as fh:
                async for chunk in result.stream():
                    fh.write(chunk)
        except (BaseError, OSError) as exc:
            raise StorageError(f"could not download {key}: {exc}") from exc

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self._store, self._key(key))
        except NotFoundError:
            return False
        except BaseError as exc:
            raise StorageError(f"could not look up {key}: {exc}") from exc
        return True

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, self._key(key))
        except BaseError as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc
