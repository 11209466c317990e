"""Indexes on live RTStreams: records as segments land, paused and resumed on their own, alerts.

Each connected index has a task that looks for newly stored segments every
``MEETBOT_INDEX_POLL_INTERVAL`` and takes them a window at a time (whole segments, at least the
index's window long): a transcript window is transcribed in a niced process of its own and cut by
the index's segmenter; a scene window has one frame described per ``time`` seconds. Records go
into the search index (asset: the stream; index: this index; times in Unix seconds), where
``get_scenes`` and ``rtstream.search`` read them, and each new record is matched against the
index's enabled alerts. An alert fires when a match begins (the record before did not match):
a caption that stays on screen for a minute is one alert, not thirty.

``stop`` cancels the task (an unfinished window is dropped); ``start`` resumes from that moment:
what the stream ingested meanwhile stays unindexed. When the stream itself stops, what is left
of the last window is indexed, short as it is. An index that falls behind a live-only stream's
window skips what was already dropped and says so in its ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from bot.leases import leased_tempdir
from callbacks.delivery import Deliverer
from core.errors import MeetbotError
from core.payloads import AlertEvent
from core.settings import Settings
from core.urls import media_url, player_url
from indexes.events import match
from indexes.fts import Piece, SearchIndex
from indexes.scenes import Describer, grab_frame
from indexes.transcripts import segment
from media.hls import Segment
from server.errors import ApiError
from server.streams.manager import StreamManager
from status import StatusStore
from status.stream_indexes import (
    AlertRecord,
    StreamIndexRecord,
    get_event,
    get_index,
    list_alerts,
    list_indexes,
    put_index,
    update_alert,
    update_index,
)
from status.streams import StreamRecord
from storage import local_file
from transcription.attribution import SpokenWord
from transcription.process import TranscriptionWorker

log = logging.getLogger("meetbot.stream_indexes")

SEGMENTERS = ("word", "sentence", "time")
WORD_HOLD_S = 0.3
"""A word ending this close to a transcript window's end may be cut: the next window gives it."""
STOP_WAIT_S = 5.0
"""How long a ``stop`` waits for the window being indexed to be dropped."""


class StreamIndexer:
    def __init__(self, store: StatusStore, settings: Settings, streams: StreamManager,
                 search: SearchIndex, deliverer: Deliverer | None = None) -> None:
        self.store, self.settings, self.streams, self.search = store, settings, streams, search
        self.deliverer = deliverer
        self.describer = Describer(settings)
        # One transcription process that stays up for every live window (no process start and
        # model load per window); at most one window is transcribed at a time.
        self.transcriber = TranscriptionWorker(nice=settings.index_nice)
        self._slots = asyncio.Semaphore(settings.index_concurrency)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- the API's side -----------------------------------------------------------------------
    async def create(self, rtstream_id: str, *, extraction_type: str | None,
                     extraction_config: dict[str, Any] | None, prompt: str | None, name: str | None,
                     model_name: str | None, model_config: dict[str, Any] | None) -> StreamIndexRecord:
        stream = await self.streams.get(rtstream_id)
        etype = extraction_type or "time"
        config = dict(extraction_config or {})
        if etype == "transcript":
            kind = "transcript"
            config.setdefault("segmenter", "word")
            config.setdefault("segmentation_value", 10)
            if config["segmenter"] not in SEGMENTERS:
                raise ApiError(400, f"extraction_config.segmenter must be one of {', '.join(SEGMENTERS)}.",
                               "invalid_index")
            if "audio" not in stream.media_types:
                raise ApiError(400, f"RTStream {rtstream_id} has no audio to transcribe.", "invalid_index")
        elif etype in ("time", "time_based"):
            kind = "scene"
            config.setdefault("time", 2)
            config.setdefault("frame_count", 1)
            if "video" not in stream.media_types:
                raise ApiError(400, f"RTStream {rtstream_id} has no video to describe.", "invalid_index")
        else:
            raise ApiError(400, f"extraction_type {etype!r} is not supported on a stream: use "
                           "\"time\" (scenes every few seconds) or \"transcript\".", "invalid_index")
        try:
            number = float(config.get("time") if kind == "scene" else config["segmentation_value"])
        except (TypeError, ValueError):
            number = 0.0
        if not 0 < number <= 3600:
            raise ApiError(400, "The index's time or segmentation_value must be a positive number "
                           "(at most 3600).", "invalid_index")
        record = StreamIndexRecord(rtstream_id=rtstream_id, kind=kind, extraction_type=etype,  # type: ignore[arg-type]
                                   extraction_config=config, prompt=prompt, name=name,
                                   model_name=model_name, model_config=model_config or {})
        await put_index(self.store, record)
        self._run(record.id)
        log.info("stream index created", extra={"rtstream": rtstream_id, "index": record.id,
                                                "kind": kind, "window": record.window})
        return record

    async def get(self, rtstream_id: str, index_id: str) -> StreamIndexRecord:
        record = await get_index(self.store, index_id)
        if record is None or record.rtstream_id != rtstream_id:
            raise ApiError(404, f"Index {index_id} of RTStream {rtstream_id} not found.", "index_not_found")
        return record

    async def list(self, rtstream_id: str) -> list[StreamIndexRecord]:
        await self.streams.get(rtstream_id)
        return await list_indexes(self.store, rtstream_id)

    async def set_status(self, rtstream_id: str, index_id: str, action: str) -> StreamIndexRecord:
        if action not in ("start", "stop"):
            raise ApiError(400, f"action must be start or stop, not {action!r}.", "invalid_action")
        async with self._lock(index_id):
            record = await self.get(rtstream_id, index_id)
            if action == "stop":
                task = self._tasks.pop(index_id, None)
                if task is not None:
                    task.cancel()
                    # Bounded: the answer must not wait on a window's tools under load (CI saw a
                    # stop time out at 60 s); a task still ending sees the status and returns.
                    done, _ = await asyncio.wait({task}, timeout=STOP_WAIT_S)
                    if not done:
                        log.warning("stream index still ending after stop",
                                    extra={"index": index_id, "waited_s": STOP_WAIT_S})
                change = {"status": "stopped"}
            else:
                # Resume from now: what was ingested while stopped stays unindexed (documented).
                change = {"status": "connected", "indexed_until": max(record.indexed_until, time.time())}
            record = await update_index(self.store, index_id, lambda r: r.model_copy(update=change)) or record
            if action == "start":
                self._run(index_id)
            log.info("stream index %s", "stopped" if action == "stop" else "resumed",
                     extra={"rtstream": rtstream_id, "index": index_id})
            return record

    async def update_prompt(self, rtstream_id: str, index_id: str, prompt: str) -> StreamIndexRecord:
        await self.get(rtstream_id, index_id)
        out = await update_index(self.store, index_id, lambda r: r.model_copy(update={"prompt": prompt}))
        assert out is not None
        return out

    async def records(self, rtstream_id: str, index_id: str, *, start: float | None, end: float | None,
                      page: int, page_size: int) -> tuple[list[dict[str, Any]], bool]:
        record = await self.get(rtstream_id, index_id)
        pieces = await self.search.pieces(rtstream_id, index_id=index_id, start=start, end=end)
        chunk = pieces[(page - 1) * page_size: page * page_size]
        return [record_data(record, p) for p in chunk], len(pieces) > page * page_size

    # -- the work -----------------------------------------------------------------------------
    def _lock(self, index_id: str) -> asyncio.Lock:
        return self._locks.setdefault(index_id, asyncio.Lock())

    def _run(self, index_id: str) -> None:
        old = self._tasks.get(index_id)
        if old is None or old.done():
            self._tasks[index_id] = asyncio.create_task(self._loop(index_id), name=f"stream-index-{index_id}")

    async def _loop(self, index_id: str) -> None:
        while True:
            try:
                record = await get_index(self.store, index_id)
                if record is None or record.status != "connected":
                    return
                stream = await self.streams.get(record.rtstream_id)
                if not await self._step(record, stream):
                    await asyncio.sleep(self.settings.index_poll_interval)
            except asyncio.CancelledError:
                raise
            except ApiError:
                return  # the stream is gone
            except Exception as exc:
                log.warning("stream index step failed", extra={"index": index_id, "error": str(exc)},
                            exc_info=True)
                error = str(exc)
                with contextlib.suppress(Exception):
                    await update_index(self.store, index_id,
                                       lambda r, e=error: r.model_copy(update={"error": e}))
                await asyncio.sleep(self.settings.index_poll_interval)

    async def _step(self, record: StreamIndexRecord, stream: StreamRecord) -> bool:
        """Index one window if one is ready; False when there is nothing to do yet."""
        stored = await self.streams.segments(stream)  # a meeting's: read from its playlist, once
        segments = [s for s in stored if s.end > record.indexed_until + 0.01]
        if not segments:
            return False
        live = stream.want == "connected" and stream.status != "stopped"
        window: list[Segment] = []
        for seg in segments:
            if window and seg.run != window[-1].run:
                break  # a discontinuity closes the window: one continuous run per transcription
            window.append(seg)
            if window[-1].end - window[0].start >= record.window - 0.05:
                break
        full = window[-1].end - window[0].start >= record.window - 0.05
        if not full and (live and window[-1] is segments[-1]):
            return False  # wait for the rest of the window
        # A transcript window is heard with the segment before it (same run), so a word cut by the
        # window's start is heard whole; a word touching the window's end waits for the next one.
        lead = [s for s in stored if s.run == window[0].run
                and abs(s.end - window[0].start) < 0.05][-1:] if record.kind == "transcript" else []
        # The last window of a run: no later window will hear the end of it again.
        following = segments[len(window)] if len(window) < len(segments) else None
        last = (following.run != window[-1].run) if following is not None else not live
        started = time.time()
        async with self._slots:
            try:
                pieces, warning = await self._index_window(record, stream, lead + window, last=last)
            except (MeetbotError, OSError) as exc:
                # This window is lost, not the index: it goes on with the next one.
                pieces, warning = [], f"a window was not indexed: {exc}"
                log.warning("stream window not indexed", extra={"index": record.id, "error": str(exc)})
        until = window[-1].end
        heard = max((p.end for p in pieces), default=record.heard_until)
        await self.search.add(pieces)
        await update_index(self.store, record.id, lambda r: r.model_copy(update={
            "indexed_until": max(r.indexed_until, until), "records": r.records + len(pieces),
            "heard_until": max(r.heard_until, heard), "error": warning}))
        log.info("stream window indexed", extra={
            "index": record.id, "records": len(pieces), "seconds": round(time.time() - started, 2),
            "lag_s": round(time.time() - until, 2)})
        for piece in pieces:
            await self._alerts(record, stream, piece)
        return True

    async def _index_window(self, record: StreamIndexRecord, stream: StreamRecord,
                            window: list[Segment], *, last: bool) -> tuple[list[Piece], str | None]:
        storage = self.streams.storage(stream)
        with leased_tempdir(self.settings.runtime_dir / "leases", f"{record.id}-") as work:
            files: list[Path] = []
            origin: float | None = None
            for seg in window:
                with contextlib.suppress(MeetbotError):  # gone from a live-only window meanwhile
                    files.append(await local_file(storage, f"hls/{seg.name}", work))
                    origin = seg.start if origin is None else origin
            if origin is None:
                return [], "segments were gone before they could be indexed (live-only window)"
            # MPEG-TS segments of one run concatenate byte for byte into one playable file.
            media = work / "window.ts"
            with media.open("wb") as out:
                for f in files:
                    out.write(f.read_bytes())
            if record.kind == "transcript":
                return await self._transcript_pieces(record, media, origin, window, last=last), None
            return await self._scene_pieces(record, media, origin, window, work)

    async def _transcript_pieces(self, record: StreamIndexRecord, media: Path, origin: float,
                                 window: list[Segment], *, last: bool) -> list[Piece]:
        words, _engine = await self.transcriber.transcribe(media)
        end = window[-1].end
        spoken = [SpokenWord(text=w.text, start=origin + w.start, end=origin + w.end,
                             speaker=_only(_speaking_at(window, origin + (w.start + w.end) / 2)))
                  for w in words]
        # Words already given by the window before are not given again; words that reach the
        # window's end are left to the next window (which hears them whole), unless none follows.
        spoken = [w for w in spoken if w.start >= record.heard_until - 0.05
                  and (last or w.end <= end - WORD_HOLD_S)]
        cfg = record.extraction_config
        entries = segment(spoken, str(cfg.get("segmenter", "word")), float(cfg.get("segmentation_value", 10)))
        return [Piece(asset_id=record.rtstream_id, index_id=record.id, kind="transcript",
                      start=round(e.start, 3), end=round(e.end, 3), text=e.text, speaker=e.speaker)
                for e in entries]

    async def _scene_pieces(self, record: StreamIndexRecord, media: Path, origin: float,
                            window: list[Segment], work: Path) -> tuple[list[Piece], str | None]:
        step = float(record.extraction_config.get("time") or 2)
        length = window[-1].end - origin
        pieces, warning = [], None
        at = 0.0
        while at < length - 0.05:
            mid = min(at + step / 2, length - 0.1)
            png = await grab_frame(media, mid, work / f"f{int(at * 1000)}.png", nice=self.settings.index_nice)
            desc = await self.describer.describe(png, record.prompt)
            warning = desc.warning or warning
            # A meeting's segments say who the page showed speaking: part of what the scene shows
            # (anyone shown speaking during the scene's interval, not only at its one frame).
            speaking = _speaking_during(window, origin + at, origin + min(at + step, length))
            text = f"{desc.text} Speaking: {', '.join(speaking)}." if speaking else desc.text
            pieces.append(Piece(asset_id=record.rtstream_id, index_id=record.id, kind="scene",
                                start=round(origin + at, 3), end=round(origin + min(at + step, length), 3),
                                text=text, speaker=", ".join(speaking) or None))
            at += step
        return pieces, warning

    async def _alerts(self, record: StreamIndexRecord, stream: StreamRecord, piece: Piece) -> None:
        for alert in await list_alerts(self.store, record.id):
            if alert.status != "enabled":
                continue
            event = await get_event(self.store, alert.event_id)
            if event is None:
                continue
            found = match(event.event_prompt, piece.text)
            if (found is not None) != alert.matching:
                await update_alert(self.store, alert.id,
                                   lambda a, on=found is not None: a.model_copy(update={"matching": on}))
            if found is not None and not alert.matching:
                await self._fire(alert, event.label, event.event_prompt, record, stream, piece, found)

    async def _fire(self, alert: AlertRecord, label: str, prompt: str, record: StreamIndexRecord,
                    stream: StreamRecord, piece: Piece, found: str) -> None:
        base = self.streams.public_url or ""
        body = AlertEvent(
            alert_id=alert.id, event_id=alert.event_id, label=label, rtstream_id=stream.id,
            rtstream_name=stream.name, scene_index_id=record.id, scene_index_name=record.name,
            start=piece.start, end=piece.end, text=piece.text, matched=found,
            explanation=f"{found!r} matched the event prompt {prompt!r}",
            stream_url=media_url(base, stream.id, self.streams.playlist_key(stream)) if base else None,
            player_url=(f"{player_url(base, stream.id)}&start={int(piece.start)}&end={int(piece.end) + 1}"
                        if base and "video" in stream.media_types else None),
            timestamp=time.time())
        await update_alert(self.store, alert.id, lambda a: a.model_copy(update={"fired": a.fired + 1}))
        log.info("alert fired", extra={"alert": alert.id, "index": record.id, "matched": found})
        if self.deliverer is None:
            return
        # Durable and in the background: a slow receiver never holds the index back; what is not
        # delivered within a few seconds stays in the outbox for the server's watcher to retry.
        delivery = await self.deliverer.enqueue(alert.callback_url, body.model_dump(mode="json"),
                                                event="alert", meeting_id=stream.id)
        key = f"deliver:{delivery.id}"
        task = asyncio.create_task(self.deliverer.deliver(delivery, give_up_at=time.time() + 10),
                                   name=f"alert-{alert.id}")
        self._tasks[key] = task
        task.add_done_callback(lambda _t: self._tasks.pop(key, None))

    # -- the server's life --------------------------------------------------------------------
    async def start(self) -> None:
        """Resume the indexes that were running when the server stopped (from where they were)."""
        for record in await list_indexes(self.store):
            if record.status == "connected":
                self._run(record.id)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.describer.aclose()
        await self.transcriber.aclose()


def _speaking_at(window: list[Segment], t: float) -> tuple[str, ...]:
    for seg in window:
        if seg.start <= t < seg.end:
            return seg.speakers_at(t)
    return ()


def _speaking_during(window: list[Segment], start: float, end: float) -> tuple[str, ...]:
    return tuple(sorted({name for seg in window for name, a, b in seg.speaking
                         if seg.start + a < end and seg.start + b > start}))


def _only(names: tuple[str, ...]) -> str | None:
    return names[0] if len(names) == 1 else None


def index_data(r: StreamIndexRecord) -> dict[str, Any]:
    return {"rtstream_index_id": r.id, "rtstream_id": r.rtstream_id, "extraction_type": r.extraction_type,
            "extraction_config": r.extraction_config, "prompt": r.prompt, "name": r.name,
            "status": r.status, "sandbox_id": None,
            # our extras
            "index_type": "spoken_word" if r.kind == "transcript" else "scene",
            "indexed_until": r.indexed_until, "records": r.records, "error": r.error}


def record_data(index: StreamIndexRecord, p: Piece) -> dict[str, Any]:
    return {"start": p.start, "end": p.end, "description": p.text, "text": p.text,
            "scene_index_id": index.id, "scene_index_name": index.name,
            "metadata": {"speaker": p.speaker} if p.speaker else {}}
