"""`meetbot serve` as a subprocess for the RTStream tests, on local or S3 storage."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import meetbot_cmd, meetbot_env

KEY = "streams-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    def __init__(self, url: str, log: Path, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.log, self.proc = url, log, proc

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"x-access-token": KEY}, timeout=30)

    def ahttp(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"x-access-token": KEY}, timeout=30)


@contextlib.contextmanager
def serve(workdir: Path, **env: str) -> Iterator[Serve]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full = meetbot_env(MEETBOT_API_KEYS=KEY, MEETBOT_DATA_DIR=str(workdir / "data"),
                       MEETBOT_OUTPUT_DIR=str(workdir / "recordings"), MEETBOT_PUBLIC_URL=url,
                       MEETBOT_STREAM_LOSS_GRACE="4", **env)
    log = workdir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*meetbot_cmd(), "serve", "--port", str(port)], env=full,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"{url}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError(log.read_text()[-3000:])
            time.sleep(0.05)
        yield Serve(url, log, proc)
    finally:
        proc.terminate()
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        print(log.read_text()[-3000:])
        assert rc == 0, f"meetbot serve exited {rc}"


async def poll(fn, until, timeout: float, what: str, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Call ``fn`` (sync, in a thread) until ``until(result)``; the last result."""
    deadline = time.time() + timeout
    while True:
        got = await asyncio.to_thread(fn)
        if until(got):
            return got
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: last {got!r}")
        await asyncio.sleep(interval)
