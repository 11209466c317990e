"""An S3-compatible server for the tests: moto's standalone server (``moto[server]``) as a subprocess.

moto keeps everything in memory and accepts any credentials, path-style URLs
(``http://127.0.0.1:PORT/BUCKET/KEY``) and presigned URLs. ``MotoS3`` starts it on a free loopback
port (retrying if the port was taken in between), creates a bucket, and gives what a client or
our server needs: ``endpoint_url``, ``bucket``, ``region``, ``access_key``, ``secret_key`` (also as
``env()`` in AWS_* variables and as an ``obstore`` store), plus a boto3 client to look at what was
stored (``keys()``, ``get()``).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.procs import ManagedProcess, free_port, wait_until


class MotoS3:
    def __init__(self, workdir: Path, *, bucket: str = "meetbot-test", region: str = "us-east-1",
                 access_key: str = "test-access-key", secret_key: str = "test-secret-key") -> None:
        self.workdir = workdir
        self.bucket = bucket
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.port = 0
        self.proc: ManagedProcess | None = None
        self._client: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoS3:
        for attempt in range(3):
            self.port = free_port()
            self.proc = ManagedProcess([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                        str(self.port)], name="moto-s3",
                                       log_path=self.workdir / f"moto-{attempt}.log")
            self.proc.start()
            try:
                wait_until(self._listening, 30, "moto's S3 server to listen", alive=self.proc)
                break
            except RuntimeError:  # exited: most likely the port was taken meanwhile
                self.proc.stop()
                if attempt == 2:
                    raise
        self.create_bucket(self.bucket)
        return self

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            return True
        return False

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    # -- clients ------------------------------------------------------------------------------------

    def client(self) -> Any:
        """A boto3 S3 client on this server (boto3 comes with moto)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region,
                aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
        return self._client

    def obstore(self, bucket: str | None = None, **options: Any) -> Any:
        """An ``obstore.store.S3Store`` on this server, as the server side makes one."""
        from obstore.store import S3Store

        return S3Store(bucket or self.bucket, endpoint=self.endpoint_url, region=self.region,
                       access_key_id=self.access_key, secret_access_key=self.secret_key,
                       virtual_hosted_style_request=False, client_options={"allow_http": True},
                       **options)

    def env(self) -> dict[str, str]:
        """The usual AWS_* variables for a process that should use this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_ENDPOINT_URL_S3": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, "AWS_ALLOW_HTTP": "true"}

    def as_dict(self) -> dict[str, str]:
        return {"endpoint_url": self.endpoint_url, "bucket": self.bucket, "region": self.region,
                "access_key": self.access_key, "secret_key": self.secret_key}

    # -- looking at what was stored ----------------------------------------------------------------------

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh random one without a name) and return its name."""
        name = name or f"meetbot-{secrets.token_hex(4)}"
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().create_bucket(**kwargs)
                return name
            except Exception as exc:
                if "BucketAlreadyOwnedByYou" in str(exc):
                    return name
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def keys(self, prefix: str = "", bucket: str | None = None) -> list[str]:
        out: list[str] = []
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket or self.bucket,
                                                                         Prefix=prefix)
        for page in pages:
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def get(self, key: str, bucket: str | None = None) -> bytes:
        return bytes(self.client().get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read())

    def put(self, key: str, data: bytes, bucket: str | None = None) -> None:
        self.client().put_object(Bucket=bucket or self.bucket, Key=key, Body=data)
