"""BrowserSession: Chromium through Playwright, headed on the bot's display, playing into its sink."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from playwright.async_api import BrowserContext, Page, Playwright, async_playwright

from bot.audio_threads import RealtimeAudioThreads
from bot.leases import Lease
from bot.page_audio import track_page_audio
from bot.routing import install_host_overrides
from core.aio import cleanup_step
from core.errors import RecordingError

log = logging.getLogger("meetbot.browser")


def chromium_args(*, width: int, height: int, fake_camera: Path | None) -> list[str]:
    args = [
        "--no-sandbox",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--disable-blink-features=AutomationControlled",
        # The machine has no route to Google's background services; asking only adds noise.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-dev-shm-usage",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        # No --audio-buffer-size: 4096 frames made the sound 270-360 ms late against the picture on
        # every audio path a page uses (WebAudio, <audio>, WebRTC), by an amount Chromium does not
        # report (baseLatency 93 ms); with its default the sound is 40 ms late, corrected per
        # recording (bot/av_selftest.py). It had been added for density (4 bots on 2 cores lost
        # 3 % of their sound without it): that needs another lever (issue 18).
        # Adapters match English texts; pin the UI language.
        "--lang=en-US",
        "--accept-lang=en-US,en",
        # Kiosk: no tab strip or infobars. Without a window manager the window comes out 1 px
        # short of what is asked, so ask for one more pixel each way to cover the whole frame.
        "--kiosk",
        "--window-position=0,0",
        f"--window-size={width + 1},{height + 1}",
    ]
    if fake_camera is not None:
        args.append(f"--use-file-for-fake-video-capture={fake_camera}")
    return args


class BrowserSession:
    def __init__(
        self,
        *,
        executable: Path,
        display: str,
        audio_env: dict[str, str],
        width: int,
        height: int,
        fake_camera: Path | None,
        host_overrides: dict[str, str],
        lease_dir: Path | None = None,
        extra_args: list[str] | None = None,
        realtime_audio: bool = False,
    ) -> None:
        self._executable = executable
        self._display = display
        self._audio_env = audio_env
        self._size = (width, height)
        self._fake_camera = fake_camera
        self._overrides = host_overrides
        self._pw: Playwright | None = None
        self._context: BrowserContext | None = None
        self._profile: str | None = None
        self._lease_dir = lease_dir
        self._extra_args = list(extra_args or [])
        self._lease: Lease | None = None
        self._realtime_audio = realtime_audio
        self.audio_threads: RealtimeAudioThreads | None = None
        self.page: Page | None = None

    @property
    def profile(self) -> str | None:
        """The profile directory, while the browser runs."""
        return self._profile

    async def __aenter__(self) -> BrowserSession:
        if not self._executable.exists():
            raise RecordingError(f"Chromium not found at {self._executable} (run scripts/setup.sh)")
        self._profile = tempfile.mkdtemp(prefix="meetbot-profile-")
        if self._lease_dir is not None:
            self._lease = Lease(self._lease_dir, "dir", path=self._profile, name=Path(self._profile).name)
        # env= replaces the whole environment: it must carry the display and the Pulse routing,
        # or libpulse would autospawn a daemon of its own and the audio would go elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(self._audio_env, DISPLAY=self._display)
        try:
            self._pw = await async_playwright().start()
            self._context = await self._pw.chromium.launch_persistent_context(
                self._profile,
                executable_path=str(self._executable),
                headless=False,
                env=env,
                no_viewport=True,
                ignore_default_args=["--enable-automation", "--mute-audio"],
                args=chromium_args(width=self._size[0], height=self._size[1],
                                   fake_camera=self._fake_camera) + self._extra_args,
                locale="en-US",
            )
            await install_host_overrides(self._context, self._overrides)
            await track_page_audio(self._context)
            pages = self._context.pages
            self.page = pages[0] if pages else await self._context.new_page()
            if self._realtime_audio:
                self.audio_threads = await RealtimeAudioThreads(self._profile).__aenter__()
        except Exception as exc:
            await self.aclose()
            raise RecordingError(f"Chromium did not start: {exc}") from exc
        log.info("browser started", extra={"display": self._display})
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        context, self._context = self._context, None
        pw, self._pw = self._pw, None
        self.page = None
        threads, self.audio_threads = self.audio_threads, None
        if threads is not None:
            await threads.__aexit__(None, None, None)
        if context is not None:
            await cleanup_step("close browser", context.close(), 10)
        if pw is not None:
            await cleanup_step("stop playwright", pw.stop(), 10)
        profile, self._profile = self._profile, None
        if profile:
            await asyncio.to_thread(shutil.rmtree, profile, True)
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if context is not None:
            log.info("browser closed")
