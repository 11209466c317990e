"""What a frame shows, in words: the text on screen read by OCR, and optionally a vision model.

The default describer needs nothing but Debian's ``tesseract-ocr`` (run at a lower priority, one
process per frame): a meeting's or a camera's frames are described by the text they show (slides,
shared screens, captions, name tags). A vision model can be plugged in through any
OpenAI-compatible ``/chat/completions`` endpoint (``MEETBOT_VISION_URL``, ``MEETBOT_VISION_MODEL``,
``MEETBOT_VISION_API_KEY``); it is off by default, and when it fails the OCR text still makes the
record.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.errors import MeetbotError, RecordingError
from core.outcomes import Outcome
from core.settings import Settings
from media.ffmpeg import FFmpeg, run

log = logging.getLogger("meetbot.indexes")

# A line of OCR output is kept when it holds a real word: tesseract reads texture (a test
# pattern, a face, a grid) as short runs of symbols and one- or two-letter fragments.
_WORDISH = re.compile(r"[A-Za-z0-9]{3,}")


class SceneError(MeetbotError):
    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INTERNAL_ERROR, message)


async def grab_frame(media: Path, at: float, out: Path, *, nice: int = 10) -> Path:
    """One frame of ``media``, ``at`` seconds from its start, as a PNG. Decoded up to it rather than
    seeked: a window starts wherever its segments do, and seeking into a short transport stream
    with B-frames lands on frames that cannot be decoded."""
    cmd = FFmpeg().input(media).output(out, {"frames:v": 1}, ss=f"{max(0.0, at):.3f}").args()
    await run(cmd, timeout=30, nice=nice)
    if not out.is_file():
        raise SceneError(f"no frame at {at:.2f} s of {media.name}")
    return out


def clean_ocr(text: str) -> str:
    lines = []
    for line in text.splitlines():
        dense = line.replace(" ", "")
        if _WORDISH.search(line) and sum(c.isalnum() for c in dense) >= 0.6 * len(dense):
            lines.append(" ".join(line.split()))
    return " ".join(lines)


async def read_text(png: Path, *, languages: str = "eng", nice: int = 10) -> str:
    """The text on screen (tesseract, fully automatic page segmentation), cleaned of noise.

    Tesseract's layout analysis loses large text on a busy picture (measured: a 45 px caption
    over a test pattern read in some frames and not in others); when the frame at its own size
    gives nothing, the frame at half size is read too."""
    text = await _tesseract(png, languages, nice)
    if not text:
        half = png.with_name(f"{png.stem}.half.png")
        await run(FFmpeg().input(png).output(half, vf="scale=iw/2:ih/2").args(), timeout=30, nice=nice)
        text = await _tesseract(half, languages, nice)
    return text


async def _tesseract(png: Path, languages: str, nice: int) -> str:
    try:
        out = await run(["tesseract", str(png), "stdout", "-l", languages], timeout=60, nice=nice)
    except RecordingError as exc:
        raise SceneError(exc.message) from exc
    return clean_ocr(out.decode(errors="replace"))


@dataclass
class VisionModel:
    """A vision model behind an OpenAI-compatible chat-completions endpoint."""

    url: str
    model: str
    api_key: str | None = None
    timeout: float = 30.0

    async def describe(self, png: Path, prompt: str, client: httpx.AsyncClient) -> str:
        image = base64.b64encode(png.read_bytes()).decode()
        body = {"model": self.model, "max_tokens": 300, "messages": [{"role": "user", "content": [
            {"type": "text", "text": prompt},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}]}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        reply = await client.post(f"{self.url.rstrip('/')}/chat/completions", json=body,
                                  headers=headers, timeout=self.timeout)
        if reply.status_code != 200:
            raise SceneError(f"vision model answered {reply.status_code}: {reply.text[:200]}")
        try:
            return " ".join(str(reply.json()["choices"][0]["message"]["content"]).split())
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise SceneError(f"vision model answer not understood: {reply.text[:200]}") from exc


@dataclass
class Description:
    text: str
    on_screen: str
    model: str | None = None
    """What the vision model said (None: no model, or it failed)."""
    warning: str | None = None


class Describer:
    """OCR always; the vision model when one is configured (its failure is a warning, not a loss)."""

    def __init__(self, settings: Settings) -> None:
        self.languages = settings.ocr_languages
        self.nice = settings.index_nice
        self.vision = (VisionModel(str(settings.vision_url), settings.vision_model,
                                   settings.vision_api_key.get_secret_value() if settings.vision_api_key
                                   else None, settings.vision_timeout)
                       if settings.vision_url else None)
        self._client: httpx.AsyncClient | None = None

    @property
    def name(self) -> str:
        return f"ocr+{self.vision.model}" if self.vision else "ocr"

    async def describe(self, png: Path, prompt: str | None) -> Description:
        on_screen = await read_text(png, languages=self.languages, nice=self.nice)
        said, warning = None, None
        if self.vision is not None:
            self._client = self._client or httpx.AsyncClient()
            try:
                said = await self.vision.describe(png, prompt or "Describe the scene", self._client)
            except (SceneError, httpx.HTTPError) as exc:
                warning = f"vision model: {exc}"
                log.warning("vision model failed", extra={"error": str(exc)})
        parts = [said] if said else []
        parts.append(f"Text on screen: {on_screen}" if on_screen else "No text on screen.")
        return Description(text=" ".join(parts), on_screen=on_screen, model=said, warning=warning)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
