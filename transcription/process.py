"""Run a transcription in a process of its own, at a lower priority: a long transcription never
takes a recording's CPU or memory, and a crash in the engine costs only the transcript."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from core.errors import MeetbotError, RecordingError
from core.outcomes import Outcome
from media.ffmpeg import run
from transcription.engine import Word


class TranscriptionError(MeetbotError):
    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INTERNAL_ERROR, message)


async def transcribe_in_process(media: Path, *, nice: int = 10) -> tuple[list[Word], str]:
    """Words of ``media`` (seconds from its start) and the engine's name; ``python -m transcription``
    at niceness ``nice``, with the engine the environment's settings choose."""
    with tempfile.TemporaryDirectory(prefix="meetbot-transcribe-") as tmp:
        out = Path(tmp) / "words.json"
        try:
            await run([sys.executable, "-m", "transcription", str(media), str(out)], timeout=None, nice=nice)
        except RecordingError as exc:
            raise TranscriptionError(f"transcription failed: {exc.message}") from exc
        body = json.loads(out.read_text())
    return [Word(**w) for w in body["words"]], str(body["engine"])
