"""Drive the official npm VideoDB SDK (``videodb`` 0.2.0, pinned) against a server from a test.

``tests/support/videodb_node/run.js`` takes a base URL, an API key and a JSON list of steps and
prints one JSON line per step (its header comment has the format). ``run_sdk`` (blocking) and
``run_sdk_async`` (for tests whose server runs in the test's own event loop, which a blocking call
would freeze) run it and return the parsed lines::

    results = await run_sdk_async(base_url, "key", [
        {"call": "getCollection", "args": ["default"], "as": "coll"},
        {"call": "connectRTStream", "on": "coll", "args": [url, "cam", ["video"]], "as": "rt"},
        {"call": "stop", "on": "rt"},
    ])
    assert results[2]["ok"] and results[2]["object"]["status"] == "stopped"

Each result: ``step``, ``call`` (or ``get``), ``ok``, and ``result``/``type``/``object`` or ``error``
(``name``, ``message``, ``cause``, and ``status``/``body`` for HTTP errors). ``node_modules`` is
installed by ``scripts/setup.sh`` (``npm ci``); ``ensure_installed`` says so when it is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from core.aio import bounded

SDK_DIR = Path(__file__).resolve().parent / "videodb_node"
SCRIPT = SDK_DIR / "run.js"
SDK_VERSION = "0.2.0"

Step = dict[str, Any]
Result = dict[str, Any]


class SdkRunError(RuntimeError):
    """run.js itself failed (bad steps, missing node or SDK), as opposed to a step failing."""


def ensure_installed() -> str:
    """The ``node`` executable; raises with the fix when node or the SDK is missing."""
    node = shutil.which("node")
    if node is None:
        raise SdkRunError("node is not installed (scripts/setup.sh installs nodejs)")
    package = SDK_DIR / "node_modules" / "videodb" / "package.json"
    if not package.exists():
        raise SdkRunError(f"the npm SDK is not installed in {SDK_DIR} (scripts/setup.sh runs npm ci)")
    version = json.loads(package.read_text())["version"]
    if version != SDK_VERSION:
        raise SdkRunError(f"videodb {version} installed in {SDK_DIR}, want {SDK_VERSION} (run npm ci)")
    return node


def command(base_url: str, api_key: str) -> list[str]:
    return [ensure_installed(), str(SCRIPT), "--base-url", base_url, "--api-key", api_key]


def _parse(stdout: bytes, stderr: bytes, returncode: int | None, steps: list[Step]) -> list[Result]:
    if returncode != 0:
        raise SdkRunError(f"run.js exited {returncode}: {stderr.decode(errors='replace')[-2000:]}")
    results = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    if len(results) != len(steps) and not any(r.get("ok") is False for r in results):
        raise SdkRunError(f"run.js answered {len(results)} of {len(steps)} steps: "
                          f"{stderr.decode(errors='replace')[-2000:]}")
    return results


def run_sdk(base_url: str, api_key: str, steps: list[Step], timeout: float = 60.0) -> list[Result]:
    """Run the steps with the npm SDK; blocks (use ``run_sdk_async`` when the server is in-process)."""
    proc = subprocess.run(command(base_url, api_key), input=json.dumps(steps).encode(),
                          capture_output=True, timeout=timeout, check=False)
    return _parse(proc.stdout, proc.stderr, proc.returncode, steps)


async def run_sdk_async(base_url: str, api_key: str, steps: list[Step],
                        timeout: float = 60.0) -> list[Result]:
    """``run_sdk`` without blocking the event loop (the server under test may live in it)."""
    proc = await asyncio.create_subprocess_exec(
        *command(base_url, api_key), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await bounded(proc.communicate(json.dumps(steps).encode()), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return _parse(stdout, stderr, proc.returncode, steps)
