"""One simulator and one headless Chromium for the adapter tests; each meeting gets its own context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from simulator import SimulatorServer
from tests.platforms.harness import CHROMIUM_ARGS


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()
