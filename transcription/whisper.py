"""faster-whisper with a CTranslate2 model directory the user already has on disk.

Loaded strictly from that directory (``local_files_only``): a missing directory, or one without a
CTranslate2 model in it, is a clear error, never a download.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.errors import MeetbotError
from core.outcomes import Outcome
from transcription.engine import Word


class EngineError(MeetbotError):
    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INTERNAL_ERROR, message)


class WhisperEngine:
    def __init__(self, model_dir: Path, *, compute_type: str = "int8") -> None:
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise EngineError(f"MEETBOT_WHISPER_MODEL_DIR {model_dir} is not a directory")
        if not (model_dir / "model.bin").is_file():
            raise EngineError(f"MEETBOT_WHISPER_MODEL_DIR {model_dir} holds no CTranslate2 model "
                              "(model.bin); convert one with ct2-transformers-converter")
        self.model_dir, self.compute_type = model_dir, compute_type
        self.name = f"faster-whisper:{model_dir.name}"
        self._model: Any = None

    def _load(self) -> Any:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineError("faster-whisper is not installed (pip install faster-whisper)") from exc
        if self._model is None:
            self._model = WhisperModel(str(self.model_dir), device="cpu", compute_type=self.compute_type,
                                       local_files_only=True)
        return self._model

    def _words(self, audio: Path, offset: float) -> list[Word]:
        segments, _info = self._load().transcribe(str(audio), word_timestamps=True, vad_filter=True)
        out: list[Word] = []
        for seg in segments:
            for w in seg.words or []:
                out.append(Word(text=w.word.strip(), start=round(offset + w.start, 3),
                                end=round(offset + w.end, 3), confidence=round(w.probability, 3)))
        return out

    async def transcribe(self, audio: Path, *, offset: float = 0.0) -> list[Word]:
        return await asyncio.to_thread(self._words, audio, offset)
