"""Text to WAV with espeak-ng (or flite, for voices named ``flite:<voice>``), cached by content hash."""

from __future__ import annotations

import array
import asyncio
import hashlib
import os
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CLIP_EDGE_LEVEL", "SpeechSynthesizer", "SynthesizedSpeech", "default_cache_dir"]

# Bump when the output format changes so stale cache entries are not reused.
_FORMAT_VERSION = "2"
CLIP_EDGE_LEVEL = 200
"""Peak amplitude (16-bit) below which espeak's lead-in/out counts as silence: a clip's first and
last samples are the first and last this loud, so its voice is everything at or above it (some
voices end a phrase on a breathy tail of 100-150 ms at -40..-44 dBFS, which stays in)."""
_PAD_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class SynthesizedSpeech:
    key: str
    path: Path
    duration: float


def default_cache_dir() -> Path:
    return Path(os.environ.get("MEETBOT_SIM_CACHE", Path(tempfile.gettempdir()) / "meetbot-sim-audio"))


class SpeechSynthesizer:
    """Turns (voice, speed, text) into a WAV file whose first and last samples are the voice itself.

    Trimming espeak's silent lead-in makes "audio started" in the ground truth coincide with the
    audible onset, which is what the bot's recording and speaker timeline can observe.
    """

    def __init__(self, cache_dir: Path | None = None, *, concurrency: int = 4) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._sem = asyncio.Semaphore(concurrency)

    def key_for(self, voice: str, speed: int, text: str) -> str:
        raw = f"{_FORMAT_VERSION}|{voice}|{speed}|{text}".encode()
        return hashlib.sha256(raw).hexdigest()[:24]

    def path_for(self, key: str) -> Path:
        return self.cache_dir / f"{key}.wav"

    async def synthesize(self, voice: str, speed: int, text: str) -> SynthesizedSpeech:
        key = self.key_for(voice, speed, text)
        path = self.path_for(key)
        if not path.exists():
            async with self._sem:
                if not path.exists():
                    await self._render(voice, speed, text, path)
        return SynthesizedSpeech(key=key, path=path, duration=wav_duration(path))

    async def _render(self, voice: str, speed: int, text: str, path: Path) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(suffix=".wav", dir=self.cache_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if voice.startswith("flite:"):
                # flite's diphone voices: closer to natural speech than espeak's formants, so a
                # speech recogniser's accuracy on them means something. Speed: 165 wpm = 1.0.
                cmd = ["flite", "-voice", voice.split(":", 1)[1], "--setf",
                       f"duration_stretch={165 / speed:.3f}", "-t", text, "-o", str(tmp)]
            else:
                cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(tmp), "--", text]
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err.decode().strip()}")
            _trim_silence(tmp)
            tmp.replace(path)  # atomic, so concurrent servers never serve half a file
        finally:
            tmp.unlink(missing_ok=True)


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _trim_silence(path: Path) -> None:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        frames = w.readframes(w.getnframes())
    if params.sampwidth != 2 or params.nchannels != 1:
        return
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    loud = [i for i, s in enumerate(samples) if abs(s) > CLIP_EDGE_LEVEL]
    if not loud:
        return
    pad = int(_PAD_SECONDS * params.framerate)
    start, end = max(0, loud[0] - pad), min(len(samples), loud[-1] + pad + 1)
    trimmed = samples[start:end]
    if sys.byteorder == "big":
        trimmed.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(trimmed.tobytes())
