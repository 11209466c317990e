"""The long-lived transcription process live indexes use: answers request after request with the
model loaded once, says what went wrong with a bad request and goes on, and comes back after
being killed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from transcription.process import TranscriptionError, TranscriptionWorker

pytestmark = pytest.mark.media

SENTENCE = "We need to talk about the budget for next year."


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "s.wav"
    subprocess.run(["flite", "-voice", "rms", "-t", SENTENCE, "-o", str(path)], check=True)
    return path


async def test_the_worker_transcribes_survives_bad_requests_and_restarts(tmp_path: Path, wav: Path) -> None:
    worker = TranscriptionWorker(nice=10)
    try:
        words, engine = await worker.transcribe(wav)
        # The default engine: Whisper tiny.en, installed from PyPI by the set-up.
        assert engine == "faster-whisper:whisper-tiny.en", engine
        heard = [w.text.strip(".,?!").lower() for w in words]
        said = SENTENCE.strip(".").lower().split()
        wrong = sum(a != b for a, b in zip(heard, said, strict=False)) + abs(len(heard) - len(said))
        assert wrong <= 2, heard
        assert 0 <= words[0].start < words[-1].end <= 4.0 and all(w.start <= w.end for w in words)
        first = worker._proc
        with pytest.raises(TranscriptionError, match="No such file"):
            await worker.transcribe(tmp_path / "missing.wav")
        again, _ = await worker.transcribe(wav)
        assert [w.text for w in again] == [w.text for w in words] and worker._proc is first
        assert first is not None
        first.kill()
        await first.wait()
        after, _ = await worker.transcribe(wav)  # a fresh process
        assert "budget" in [w.text.strip(".,") for w in after] and worker._proc is not first
    finally:
        await worker.aclose()
    assert worker._proc is None
