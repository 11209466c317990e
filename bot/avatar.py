"""The bot's camera: its image, fetched and turned into a Y4M file for Chromium's fake camera."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx

from callbacks.guard import UnsafeUrlError
from core.errors import JobError, RecordingError
from core.outcomes import Outcome
from media.ffmpeg import FFmpeg, run

log = logging.getLogger("meetbot.avatar")

MAX_IMAGE_BYTES = 10 * 1024 * 1024
CAMERA_SIZE = (1280, 720)
_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_BACKGROUND = "0x3c4043"  # a neutral grey, close to the platforms' own avatar backgrounds


def sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


async def fetch_image(url: str, client: httpx.AsyncClient) -> bytes:
    """Download a PNG or JPEG; anything else raises JobError(invalid_bot_image)."""
    try:
        async with client.stream("GET", url, follow_redirects=True, timeout=15) as resp:
            if resp.status_code != 200:
                raise JobError(Outcome.INVALID_BOT_IMAGE,
                               f"bot_image_url answered HTTP {resp.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise JobError(Outcome.INVALID_BOT_IMAGE,
                                   f"bot image is larger than {MAX_IMAGE_BYTES} bytes")
                chunks.append(chunk)
    except UnsafeUrlError as exc:
        raise JobError(Outcome.INVALID_BOT_IMAGE, f"bot_image_url refused: {exc}") from exc
    except httpx.HTTPError as exc:
        raise JobError(Outcome.INVALID_BOT_IMAGE, f"bot_image_url could not be fetched: {exc}") from exc
    data = b"".join(chunks)
    if sniff_image(data) is None:
        raise JobError(Outcome.INVALID_BOT_IMAGE, "bot image is neither PNG nor JPEG")
    return data


async def _ffmpeg(cmd: FFmpeg) -> None:
    try:
        await run(cmd.args(), timeout=60)
    except RecordingError as exc:
        raise JobError(Outcome.INVALID_BOT_IMAGE, f"bot image could not be decoded: {exc.message}") from exc


def _fit(width: int, height: int) -> str:
    # Letterbox into the camera frame without distortion.
    return (f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color={_BACKGROUND},format=yuv420p")


async def image_to_y4m(image: Path, out: Path) -> Path:
    w, h = CAMERA_SIZE
    # One frame is enough: Chromium loops the file.
    await _ffmpeg(FFmpeg().input(image).output(out, {"vf": _fit(w, h), "frames:v": 1}, r=10,
                                               f="yuv4mpegpipe"))
    return out


async def default_y4m(bot_name: str, out: Path) -> Path:
    """A neutral card with the bot's name, for jobs without an image."""
    w, h = CAMERA_SIZE
    text_file = out.with_suffix(".txt")
    text_file.write_text(bot_name)  # a file avoids escaping the name for drawtext
    vf = "format=yuv420p"
    if _FONT.exists():
        vf = (f"drawtext=fontfile={_FONT}:textfile={text_file}:fontcolor=white:fontsize=64:"
              f"x=(w-text_w)/2:y=(h-text_h)/2,format=yuv420p")
    await _ffmpeg(FFmpeg().input(f"color=c={_BACKGROUND}:s={w}x{h}:r=10", f="lavfi")
                  .output(out, {"vf": vf, "frames:v": 1}, f="yuv4mpegpipe"))
    return out


async def prepare_camera(
    *, bot_name: str, image_url: str | None, work_dir: Path, client: httpx.AsyncClient
) -> tuple[Path, str | None]:
    """Return the Y4M for the fake camera, and a warning when the job's image could not be used.

    A broken image must not cost the user the meeting: the bot joins with the default card and
    the problem is reported in the log and the callback.
    """
    out = work_dir / "camera.y4m"
    if image_url:
        try:
            data = await fetch_image(image_url, client)
            src = work_dir / "avatar-source"
            src.write_bytes(data)
            await image_to_y4m(src, out)
            log.info("bot image ready", extra={"bytes": len(data)})
            return out, None
        except JobError as exc:
            log.warning("bot image unusable; using the default card",
                        extra={"code": exc.code.value, "error": exc.message})
            await default_y4m(bot_name, out)
            return out, exc.message
    await default_y4m(bot_name, out)
    return out, None
