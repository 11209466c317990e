"""Run a transcription in a process of its own, at a lower priority: a long transcription never
takes a recording's CPU or memory, and a crash in the engine costs only the transcript."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from core.errors import MeetbotError
from core.outcomes import Outcome
from transcription.engine import Word


class TranscriptionError(MeetbotError):
    def __init__(self, message: str) -> None:
        super().__init__(Outcome.INTERNAL_ERROR, message)


async def transcribe_in_process(media: Path, *, nice: int = 10) -> tuple[list[Word], str]:
    """Words of ``media`` (seconds from its start) and the engine's name; ``python -m transcription``
    at niceness ``nice``, with the engine the environment's settings choose."""
    with tempfile.TemporaryDirectory(prefix="meetbot-transcribe-") as tmp:
        out = Path(tmp) / "words.json"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "transcription", str(media), str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            preexec_fn=lambda: os.nice(nice))
        try:
            _, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            raise TranscriptionError(f"transcription failed: {err.decode(errors='replace').strip()[-300:]}")
        body = json.loads(out.read_text())
    return [Word(**w) for w in body["words"]], str(body["engine"])
