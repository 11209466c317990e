"""Run a transcription in a process of its own, at a lower priority: a long transcription never
takes a recording's CPU or memory, and a crash in the engine costs only the transcript."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from core.aio import bounded
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
        return _read_words(out)


def _read_words(out: Path) -> tuple[list[Word], str]:
    body = json.loads(out.read_text())
    return [Word(**w) for w in body["words"]], str(body["engine"])


class TranscriptionWorker:
    """A transcription process that stays up (``python -m transcription --serve``, niced): for many
    short transcriptions in a row, e.g. a live index's windows, without a process start and a model
    load each time. One request at a time; a worker that died is started again on the next one."""

    def __init__(self, *, nice: int = 10, timeout: float = 600.0) -> None:
        self.nice, self.timeout = nice, timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> asyncio.subprocess.Process:
        if self._proc is None or self._proc.returncode is not None:
            nice = self.nice
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "transcription", "--serve", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                preexec_fn=lambda: os.nice(nice))
        return self._proc

    async def transcribe(self, media: Path) -> tuple[list[Word], str]:
        async with self._lock:
            proc = await self._started()
            assert proc.stdin is not None and proc.stdout is not None
            with tempfile.TemporaryDirectory(prefix="meetbot-transcribe-") as tmp:
                out = Path(tmp) / "words.json"
                try:
                    proc.stdin.write((json.dumps({"media": str(media), "out": str(out)}) + "\n").encode())
                    await proc.stdin.drain()
                    line = await bounded(proc.stdout.readline(), self.timeout)
                except (OSError, TimeoutError, asyncio.CancelledError):
                    await self.aclose()  # its state is unknown: the next request starts a fresh one
                    raise
                if not line:
                    await self.aclose()
                    raise TranscriptionError("transcription worker exited")
                answer = json.loads(line)
                if not answer.get("ok"):
                    raise TranscriptionError(f"transcription failed: {answer.get('error')}")
                return _read_words(out)

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await bounded(proc.wait(), 2.0)
        except TimeoutError:
            proc.kill()
            await proc.wait()
