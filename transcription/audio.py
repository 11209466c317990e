"""Audio as the engines want it: 16 kHz mono signed 16-bit PCM."""

from __future__ import annotations

from pathlib import Path

from media.ffmpeg import FFmpeg, run

RATE = 16_000


async def pcm16k(source: Path, *, start: float | None = None, end: float | None = None) -> bytes:
    """The audio of ``source`` (or of its [start, end) seconds) as raw 16 kHz mono s16le."""
    opts: dict[str, str | int | float | bool] = {}
    if start is not None:
        opts["ss"] = f"{start:.3f}"
    if end is not None:
        opts["to"] = f"{end:.3f}"
    cmd = FFmpeg().input(source, **opts).output("-", {"map": "0:a:0"}, ac=1, ar=RATE, f="s16le")
    return await run(cmd.args(), timeout=1800)
