"""HLS playlists as the recorder and the stream ingest write them, and the MP4 made from them."""

from __future__ import annotations

from pathlib import Path

from media.ffmpeg import FFmpeg, run

ENDLIST = "#EXT-X-ENDLIST"


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


def playlist_upto(playlist: Path, segment: str) -> str:
    """The playlist's text up to and including ``segment`` (what is safe to publish so far)."""
    lines = playlist.read_text().splitlines()
    cut = next((i for i, ln in enumerate(lines) if ln.strip() == segment), len(lines) - 1)
    return "\n".join(lines[: cut + 1]) + "\n"


async def remux_to_mp4(playlist: Path, out: Path) -> None:
    """Segments -> one MP4 without re-encoding; faststart so players can begin before the end."""
    close_playlist(playlist)
    tmp = out.with_suffix(".part.mp4")
    await run(FFmpeg().input(playlist).output(tmp, {"map": "0"}, c="copy", movflags="+faststart").args(),
              timeout=600)
    tmp.replace(out)
