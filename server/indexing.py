"""Spoken-word indexing of videos: transcription as a long job, transcripts, keyword search.

``index_spoken_words()`` starts a job and answers ``processing`` with an absolute ``output_url``
the SDKs poll (``GET async-response/{job_id}``). A job transcribes the video's MP4 in a process of
its own at a lower priority (``python -m transcription``, ``MEETBOT_INDEX_NICE``), at most
``MEETBOT_INDEX_CONCURRENCY`` at once; for a meeting's video each word is given to the speaker its
timeline shows. The transcript is kept in the status store; its utterances go into the
full-text index (``<data_dir>/search.db``) that search reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.leases import leased_tempdir
from core.errors import MeetbotError
from core.payloads import SpeakerSegment
from core.settings import Settings
from indexes.fts import Piece, SearchIndex
from indexes.transcripts import Transcript, load_transcript, pieces_of, save_transcript
from server.errors import ApiError
from server.media import asset_location
from status import StatusStore
from storage import local_file, open_storage
from transcription.attribution import SpokenWord, attribute
from transcription.engine import Word
from transcription.process import transcribe_in_process

log = logging.getLogger("meetbot.indexing")

SPOKEN_INDEX = "spoken_word"


class IndexJob(BaseModel):
    id: str = Field(default_factory=lambda: f"job-{secrets.token_hex(8)}")
    asset_id: str
    status: Literal["processing", "done", "failed"] = "processing"
    error: str | None = None
    created_at: float = Field(default_factory=time.time)
    finished_at: float | None = None


class Indexer:
    def __init__(self, store: StatusStore, settings: Settings, search: SearchIndex) -> None:
        self.store, self.settings, self.search = store, settings, search
        self._slots = asyncio.Semaphore(settings.index_concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        """Asset id -> its job's task: one transcription per asset at a time."""

    async def job(self, job_id: str) -> IndexJob | None:
        raw = await self.store.get_doc("index_job", job_id)
        return IndexJob.model_validate_json(raw) if raw else None

    async def _save(self, job: IndexJob) -> None:
        await self.store.put_doc("index_job", job.id, job.model_dump_json(), job.created_at)

    async def start(self, asset_id: str, timeline: list[SpeakerSegment]) -> IndexJob:
        """A job for ``asset_id`` (the running one if there is one)."""
        for job_id, task in self._running.items():
            if not task.done() and job_id.split(":", 1)[0] == asset_id:
                existing = await self.job(job_id.split(":", 1)[1])
                if existing is not None:
                    return existing
        job = IndexJob(asset_id=asset_id)
        await self._save(job)
        self._running[f"{asset_id}:{job.id}"] = asyncio.create_task(self._run(job, timeline),
                                                                    name=f"index-{job.id}")
        return job

    async def _run(self, job: IndexJob, timeline: list[SpeakerSegment]) -> None:
        started = time.time()
        try:
            async with self._slots:
                words, engine = await self._transcribe(job.asset_id)
            spoken = attribute(words, timeline) if timeline else [SpokenWord(**w.model_dump()) for w in words]
            transcript = Transcript(asset_id=job.asset_id, engine=engine, words=spoken)
            await save_transcript(self.store, transcript)
            await self.search.replace(job.asset_id, SPOKEN_INDEX, [
                Piece(asset_id=job.asset_id, index_id=SPOKEN_INDEX, kind=SPOKEN_INDEX, start=e.start,
                      end=e.end, text=e.text, speaker=e.speaker) for e in pieces_of(spoken)])
            job.status = "done"
            log.info("video indexed", extra={"asset": job.asset_id, "words": len(spoken), "engine": engine,
                                             "seconds": round(time.time() - started, 2)})
        except Exception as exc:
            job.status, job.error = "failed", getattr(exc, "message", None) or str(exc)
            log.warning("indexing failed", extra={"asset": job.asset_id, "error": job.error})
        job.finished_at = time.time()
        try:
            await self._save(job)
        except Exception:
            log.exception("index job not saved", extra={"job": job.id})

    async def _transcribe(self, asset_id: str) -> tuple[list[Word], str]:
        where = await asset_location(self.store, asset_id)
        if where is None:
            raise MeetbotError(f"video {asset_id} has no stored media")
        storage = open_storage(where[0], self.settings)
        with contextlib.suppress(MeetbotError):  # the bot transcribed it already (job.transcribe)
            done = json.loads(await storage.get_bytes("transcript.json"))
            return [Word(**w) for w in done["words"]], str(done["engine"])
        with leased_tempdir(self.settings.runtime_dir / "leases", f"index-{asset_id}-") as tmp:
            media = await local_file(storage, "recording.mp4", tmp)
            return await transcribe_in_process(media, nice=self.settings.index_nice)

    async def aclose(self) -> None:
        for task in self._running.values():
            task.cancel()
        for task in self._running.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def transcript_or_409(store: StatusStore, asset_id: str) -> Transcript:
    t = await load_transcript(store, asset_id)
    if t is None:
        raise ApiError(409, f"Video {asset_id} has no spoken-word index yet: call index_spoken_words() "
                       "first.", "not_indexed")
    return t


def as_doc(hit_start: float, hit_end: float, text: str, score: float, speaker: str | None,
           **urls: Any) -> dict[str, Any]:
    return {"start": round(hit_start, 3), "end": round(hit_end, 3), "text": text, "score": score,
            "speaker": speaker, "scene_index_id": None, "scene_index_name": None, "metadata": {}, **urls}
