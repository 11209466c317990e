"""faster-whisper on the CPU, with a CTranslate2 model: a local directory (loaded strictly from it:
a missing directory, or one without a model, is a clear error, never a download) or a model hub
name (downloaded by faster-whisper into ``download_root`` on first use)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.errors import MeetbotError
from core.outcomes import Outcome
from transcription.audio import RATE, pcm16k
from transcription.engine import Word
from transcription.voicing import inside_voice, voiced

STEP_S = 0.02


class EngineError(MeetbotError):
    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INTERNAL_ERROR, message)


class WhisperEngine:
    def __init__(self, model: Path | str, *, compute_type: str = "int8", language: str | None = None,
                 download_root: Path | None = None) -> None:
        if isinstance(model, Path):
            if not model.is_dir():
                raise EngineError(f"the Whisper model directory {model} is not a directory")
            if not (model / "model.bin").is_file():
                raise EngineError(f"the Whisper model directory {model} holds no CTranslate2 model "
                                  "(model.bin); convert one with ct2-transformers-converter")
        self.model, self.compute_type, self.language = model, compute_type, language
        self.download_root = download_root
        self.name = f"faster-whisper:{model.name if isinstance(model, Path) else model}"
        self._model: Any = None

    def _load(self) -> Any:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineError("faster-whisper is not installed (pip install faster-whisper)") from exc
        if self._model is None:
            local = isinstance(self.model, Path)
            try:
                self._model = WhisperModel(
                    str(self.model), device="cpu", compute_type=self.compute_type, local_files_only=local,
                    download_root=None if local or self.download_root is None else str(self.download_root))
            except Exception as exc:  # a hub that cannot be reached, a model it does not have
                raise EngineError(f"the Whisper model {self.model} could not be loaded: {exc}") from exc
        return self._model

    def _words(self, pcm: bytes, offset: float) -> list[Word]:
        import numpy as np

        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        # An English-only model is told nothing: faster-whisper sets "en" itself.
        segments, _info = self._load().transcribe(audio, word_timestamps=True, vad_filter=True,
                                                  language=self.language)
        out: list[Word] = []
        for seg in segments:
            for w in seg.words or []:
                # Its times come in 20 ms steps: a word given none is given one.
                end = max(w.end, w.start + STEP_S)
                out.append(Word(text=w.word.strip(), start=round(offset + w.start, 3),
                                end=round(offset + end, 3), confidence=round(w.probability, 3)))
        return inside_voice(out, voiced(pcm, RATE), offset)

    async def transcribe(self, audio: Path, *, offset: float = 0.0) -> list[Word]:
        pcm = await pcm16k(audio)
        return await asyncio.to_thread(self._words, pcm, offset)
