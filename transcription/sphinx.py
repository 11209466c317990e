"""PocketSphinx 5 with the US-English acoustic model, dictionary and language model its wheel
ships: no download, no GPU. Speech regions are found by its voice-activity segmenter and decoded
one by one (in a thread: the decoder is CPU-bound C)."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from transcription.audio import RATE, pcm16k
from transcription.engine import Word

_FILLER = re.compile(r"^(<s>|</s>|<sil>|\[[A-Z]+\]|\+\+.*\+\+)$")
_ALTERNATE = re.compile(r"\(\d+\)$")


class SphinxEngine:
    name = "pocketsphinx-en-us"

    def __init__(self) -> None:
        self._decoder = None

    def _words(self, pcm: bytes, offset: float) -> list[Word]:
        from pocketsphinx import Decoder, Segmenter

        if self._decoder is None:
            self._decoder = Decoder(samprate=RATE, loglevel="FATAL")
        decoder = self._decoder
        frate = int(decoder.config["frate"])
        out: list[Word] = []
        for speech in Segmenter(sample_rate=RATE).segment(io.BytesIO(pcm)):
            decoder.start_utt()
            decoder.process_raw(speech.pcm, full_utt=True)
            decoder.end_utt()
            logmath = decoder.get_logmath()
            for seg in decoder.seg():
                text = _ALTERNATE.sub("", seg.word)
                if _FILLER.match(text):
                    continue
                base = offset + speech.start_time
                out.append(Word(text=text, start=round(base + seg.start_frame / frate, 3),
                                end=round(base + (seg.end_frame + 1) / frate, 3),
                                confidence=round(min(1.0, logmath.exp(seg.prob)), 3)))
        return out

    async def transcribe(self, audio: Path, *, offset: float = 0.0) -> list[Word]:
        pcm = await pcm16k(audio)
        return await asyncio.to_thread(self._words, pcm, offset)
