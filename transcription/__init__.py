"""Speech to text behind one small interface, with word timestamps.

``open_engine(settings)`` picks the engine: faster-whisper when the settings name a local
CTranslate2 model directory (never downloaded), else PocketSphinx with the US-English model its
wheel ships (works offline on a fresh machine). Times are seconds from the start of the audio
given; callers put them on their own clock.
"""

from __future__ import annotations

from core.settings import TranscriptionSettings
from transcription.engine import Engine, Word


def open_engine(settings: TranscriptionSettings) -> Engine:
    if settings.whisper_model_dir is not None:
        from transcription.whisper import WhisperEngine

        return WhisperEngine(settings.whisper_model_dir, compute_type=settings.whisper_compute_type)
    from transcription.sphinx import SphinxEngine

    return SphinxEngine()


__all__ = ["Engine", "Word", "open_engine"]
