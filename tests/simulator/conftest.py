"""Fixtures for the simulator's own tests: one simulator and one Chromium per session, a context per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.routing import install_host_overrides
from simulator import SimulatorServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

# Records every speaking-class flip with its page-clock epoch time, independently of the page's code.
SPEAKING_OBSERVER = """
window.__speaking = [];
new MutationObserver((records) => {
  const t = (performance.timeOrigin + performance.now()) / 1000;
  for (const r of records) {
    const el = r.target;
    if (!(el instanceof Element)) continue;
    const was = (r.oldValue || '').split(/\\s+/).includes('Oaajhc');
    const now = el.classList.contains('Oaajhc');
    if (was === now) continue;
    const tile = el.closest('[data-participant-id]');
    const name = tile && tile.querySelector('span.notranslate');
    window.__speaking.push({name: name ? name.textContent : null, on: now, t});
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['class'], attributeOldValue: true});
"""


@pytest.fixture(scope="session")
def sim_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-audio")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sim(sim_cache_dir: Path) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(cache_dir=sim_cache_dir) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sim_browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def sim_page(sim: SimulatorServer, sim_browser: object) -> AsyncIterator[object]:
    context = await sim_browser.new_context(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    await install_host_overrides(context, {"meet.google.com": sim.url})
    await context.add_init_script(SPEAKING_OBSERVER)
    page = await context.new_page()
    yield page
    await context.unroute_all(behavior="ignoreErrors")
    await context.close()


# Every public host the Zoom and Teams pages live on, served by the one simulator origin.
def web_overrides(url: str) -> dict[str, str]:
    return {"zoom.us": url, "*.zoom.us": url, "teams.microsoft.com": url, "teams.live.com": url,
            "login.microsoftonline.com": url}


@pytest_asyncio.fixture(loop_scope="session")
async def web_page(sim: SimulatorServer, sim_browser: object) -> AsyncIterator[object]:
    """A page whose Zoom, Teams and Microsoft login hosts are routed to the simulator."""
    context = await sim_browser.new_context(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    await install_host_overrides(context, web_overrides(sim.url))
    page = await context.new_page()
    yield page
    await context.unroute_all(behavior="ignoreErrors")
    await context.close()


@pytest.fixture
def meeting_code() -> str:
    return "sim-" + uuid.uuid4().hex[:10]


@pytest_asyncio.fixture(loop_scope="session")
async def new_page(sim: SimulatorServer, sim_browser: object) -> AsyncIterator[object]:
    """A factory of pages, each in its own context with every simulated host routed, so that a
    test can run several short meetings side by side. ``await new_page(init_script)``."""
    contexts: list[Any] = []

    async def make(init_script: str | None = None) -> Any:
        context = await sim_browser.new_context(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
        contexts.append(context)
        await install_host_overrides(context, {"meet.google.com": sim.url, **web_overrides(sim.url)})
        if init_script:
            await context.add_init_script(init_script)
        return await context.new_page()

    yield make
    for context in contexts:
        await context.unroute_all(behavior="ignoreErrors")
        await context.close()
