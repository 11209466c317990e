"""The bot's own media stack for the recorder tests: its display, sink and browser, as the runner
composes them, at 640x360."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.audio import AudioSink
from bot.browser import BrowserSession
from bot.display import VirtualDisplay
from core.settings import Settings

WIDTH, HEIGHT = 640, 360


@dataclass
class BotMedia:
    display: VirtualDisplay
    sink: AudioSink
    browser: BrowserSession


@contextlib.asynccontextmanager
async def bot_media(tmp: Path, extra_args: list[str] | None = None,
                    realtime_audio: bool | None = None) -> AsyncIterator[BotMedia]:
    s = Settings()
    leases = tmp / "leases"
    async with VirtualDisplay(width=WIDTH, height=HEIGHT, lease_dir=leases) as display, \
            AudioSink(runtime_path=s.pulse_runtime_path, lease_dir=leases,
                       realtime=s.realtime_audio if realtime_audio is None else realtime_audio) as sink, \
            BrowserSession(executable=s.chromium_path, display=display.name, audio_env=sink.client_env(),
                           width=WIDTH, height=HEIGHT, fake_camera=None, host_overrides={},
                           lease_dir=leases, extra_args=extra_args or [],
                           realtime_audio=s.realtime_audio if realtime_audio is None
                           else realtime_audio) as browser:
        assert browser.page is not None
        yield BotMedia(display, sink, browser)
