"""VirtualDisplay: one Xvfb server for one bot (pyvirtualdisplay)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from types import TracebackType

from pyvirtualdisplay.xvfb import XvfbDisplay

from bot.leases import Lease
from core.errors import RecordingError

log = logging.getLogger("meetbot.display")


class _XvfbDyingWithUs(XvfbDisplay):
    """Xvfb that gets SIGTERM when the thread that started it ends, the bot's process killed
    included (``setpriv --pdeathsig``, util-linux: pyvirtualdisplay takes no ``preexec_fn``).
    A SIGKILLed bot's ffmpeg died with it (its own parent-death signal) while its Xvfb stayed
    until the next bot's lease reaper. The start runs in the loop's default executor, whose threads live as
    long as the loop does."""

    def _cmd(self) -> list[str]:
        cmd: list[str] = super()._cmd()
        setpriv = shutil.which("setpriv")
        return [setpriv, "--pdeathsig", "TERM", "--", *cmd] if setpriv else cmd


class VirtualDisplay:
    def __init__(self, *, width: int, height: int, lease_dir: Path | None = None) -> None:
        self._size = (width, height)
        self._display: XvfbDisplay | None = None
        self._lease_dir = lease_dir
        self._lease: Lease | None = None

    @property
    def name(self) -> str:
        """The DISPLAY value, e.g. ``:12``."""
        if self._display is None:
            raise RuntimeError("display not started")
        return str(self._display.new_display_var)

    @property
    def pid(self) -> int | None:
        return self._display.pid if self._display else None

    async def __aenter__(self) -> VirtualDisplay:
        display = _XvfbDyingWithUs(size=self._size, color_depth=24, manage_global_env=False,
                                   extra_args=["-nolisten", "tcp"])
        try:
            # Starting Xvfb blocks while it waits for the server to accept connections (~0.1 s).
            await asyncio.to_thread(display.start)
        except Exception as exc:
            raise RecordingError(f"Xvfb did not start: {exc}") from exc
        self._display = display
        if self._lease_dir is not None:
            self._lease = Lease(self._lease_dir, "xvfb", pid=display.pid)
        log.info("display started", extra={"display": self.name, "pid": display.pid})
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        display, self._display = self._display, None
        if display is None:
            return
        try:
            await asyncio.to_thread(display.stop)
        except Exception:
            log.warning("display stop failed", exc_info=True)
        if self._lease is not None:
            self._lease.release()
        log.info("display stopped")
