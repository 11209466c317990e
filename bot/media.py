"""ffprobe and the final remux: facts about media files, read from the files themselves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.errors import RecordingError

ENDLIST = "#EXT-X-ENDLIST"


async def run_tool(*cmd: str, timeout: float = 120) -> bytes:
    """Run ffmpeg/ffprobe to completion; its stdout, or RecordingError with the end of stderr."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RecordingError(f"{cmd[0]} failed: {err.decode(errors='replace').strip()[-400:]}")
    return out


async def probe(path: Path) -> dict[str, Any]:
    out = await run_tool("ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                     "-show_streams", str(path), timeout=60)
    return dict(json.loads(out))


async def first_packet_pts(path: Path, stream: str = "v") -> float | None:
    out = await run_tool("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                     "packet=pts_time", "-read_intervals", "%+#1", "-of", "csv=p=0", str(path),
                     timeout=30)
    for line in out.decode().split():
        line = line.strip().strip(",")
        if line and line != "N/A":
            return float(line)
    return None


def close_playlist(playlist: Path) -> bool:
    """Append ENDLIST if missing (a crashed EVENT playlist makes ffmpeg wait forever for more)."""
    text = playlist.read_text()
    if ENDLIST in text:
        return False
    playlist.write_text(text.rstrip("\n") + f"\n{ENDLIST}\n")
    return True


def playlist_segments(playlist: Path) -> list[str]:
    try:
        text = playlist.read_text()
    except FileNotFoundError:
        return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


async def remux_to_mp4(playlist: Path, out: Path) -> None:
    """Segments -> one MP4 without re-encoding; faststart so players can begin before the end."""
    close_playlist(playlist)
    tmp = out.with_suffix(".part.mp4")
    await run_tool("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(playlist),
               "-map", "0", "-c", "copy", "-movflags", "+faststart", str(tmp), timeout=600)
    tmp.replace(out)


def stream_of(info: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for s in info.get("streams", []):
        if s.get("codec_type") == kind:
            return dict(s)
    return None
