"""The engine interface and its word type (a leaf of the package: the engines import it)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel


class Word(BaseModel):
    text: str
    start: float
    end: float
    confidence: float | None = None


class Engine(Protocol):
    name: str
    """What the transcripts say produced them (e.g. ``pocketsphinx-en-us``)."""

    async def transcribe(self, audio: Path, *, offset: float = 0.0) -> list[Word]:
        """Words of ``audio`` (any file ffmpeg reads), ``offset`` added to every time."""
        ...
