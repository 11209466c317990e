"""The job contract, the speaker timeline arithmetic and the callback body's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reporting import JobResult
from bot.runner import numeric_timings
from bot.timeline import SpeakerTimeline, SpeakingChange
from core.errors import JobError
from core.job import Job
from core.lifecycle import IllegalTransition, JobStateMachine, Phase, Status
from core.outcomes import MESSAGES, Outcome
from core.payloads import FailurePayload, RecordingData, SuccessPayload, to_wire

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("raw", "needle"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ({"bot_name": "x"}, "meeting_url"),
    ({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_image_url": "nope"}, "bot_image_url"),
    ({"meeting_url": "https://meet.google.com/abc-defg-hij", "max_duration": -1}, "max_duration"),
    ({"meeting_url": "https://meet.google.com/abc-defg-hij", "surprise": 1}, "surprise"),
    ({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "   "}, "bot_name"),
])
def test_malformed_jobs_are_refused_with_the_field_named(raw: object, needle: str) -> None:
    with pytest.raises(JobError) as err:
        Job.parse(raw)  # type: ignore[arg-type]
    assert err.value.code is Outcome.INVALID_JOB
    assert needle in err.value.message


def test_job_defaults_and_ids() -> None:
    job = Job.parse('{"meeting_url": "https://meet.google.com/abc-defg-hij", "callback_data": null}')
    assert job.bot_name == "Meeting Recorder"
    assert job.callback_data == {}
    assert job.meeting_id.startswith("mt-") and job.video_id.startswith("m-")
    assert Job.parse({"meeting_url": "x"}).meeting_id != job.meeting_id


def test_timeline_relative_to_origin_with_overlap_merge_and_clip() -> None:
    tl = SpeakerTimeline(merge_gap=0.3)
    for name, speaking, at in [
        ("Alice", True, 99.0), ("Alice", False, 102.0),   # starts before t=0: clipped to 0
        ("Bob", True, 101.5), ("Bob", False, 103.0),      # overlaps Alice
        ("Bob", True, 103.2), ("Bob", False, 104.0),      # 0.2 s flicker: merged
        ("Carol", True, 108.0),                           # still speaking at the end
    ]:
        tl.add(SpeakingChange(name, speaking, at))
    segs = [(s.speaker_name, s.start_time_seconds, s.end_time_seconds)
            for s in tl.segments(origin=100.0, end=109.5)]
    assert segs == [("Alice", 0.0, 2.0), ("Bob", 1.5, 4.0), ("Carol", 8.0, 9.5)]


def test_phases_map_to_the_four_statuses_and_refuse_illegal_moves() -> None:
    sm = JobStateMachine()
    seen: list[str] = []
    sm.on_change(lambda old, new, at: seen.append(new.status.value))
    for p in (Phase.STARTING, Phase.JOINING, Phase.IN_WAITING_ROOM, Phase.IN_CALL_RECORDING,
              Phase.LEAVING, Phase.UPLOADING, Phase.DONE):
        sm.move(p)
    assert seen == ["initializing"] * 3 + ["processing"] * 3 + ["done"]
    with pytest.raises(IllegalTransition, match="already ended"):
        sm.move(Phase.FAILED)
    assert JobStateMachine().phase.status is Status.INITIALIZING
    with pytest.raises(IllegalTransition, match="cannot move from created to in_call_recording"):
        JobStateMachine().move(Phase.IN_CALL_RECORDING)


def test_every_outcome_has_a_message_and_a_side() -> None:
    assert set(MESSAGES) == set(Outcome)
    assert {o for o in Outcome if o.is_success} == {
        Outcome.MEETING_ENDED, Outcome.REMOVED_BY_HOST, Outcome.EVERYONE_LEFT,
        Outcome.SILENCE_TIMEOUT, Outcome.MAX_DURATION_REACHED, Outcome.STOPPED,
        Outcome.RECORDING_INTERRUPTED}


def test_callback_bodies_keep_videodb_keys_first_and_exact() -> None:
    common = dict(meeting_id="mt-1", callback_data={"k": 1}, reason="meeting_ended",
                  meeting_url="https://meet.google.com/abc-defg-hij", bot_name="B")
    ok = to_wire(SuccessPayload(status="done", data=RecordingData(
        video_id="m-1", speaker_timeline=[], stream_url="file:///x.m3u8"), **common))
    assert list(ok)[:3] == ["success", "message", "data"]
    assert ok["success"] is True and ok["message"] == "Meeting recording completed."
    assert set(ok["data"]) == {"video_id", "speaker_timeline", "stream_url", "player_url"}
    assert ok["callback_data"] == {"k": 1}
    bad = to_wire(FailurePayload(status="failed", error_code="denied_admission", error="no", **common))
    assert list(bad)[:2] == ["success", "message"] and "data" not in bad
    assert bad["success"] is False and bad["error_code"] == "denied_admission"


def test_active_speaker_turns_end_when_the_audio_goes_quiet() -> None:
    tl = SpeakerTimeline(merge_gap=0.3)
    # Zoom-like: the frame shows Alice from the start and holds each speaker until the next.
    for name, at in [("Alice", 100.0), ("Bob", 106.0)]:
        if at > 100.0:
            tl.add(SpeakingChange("Alice", False, at))
        tl.add(SpeakingChange(name, True, at))
    sound = [(102.0, 104.5), (104.7, 105.0), (106.0, 108.0), (109.0, None)]
    segs = [(s.speaker_name, s.start_time_seconds, s.end_time_seconds)
            for s in tl.segments(origin=100.0, end=110.0, sound=sound, gate=True)]
    assert segs == [("Alice", 2.0, 5.0), ("Bob", 6.0, 8.0), ("Bob", 9.0, 10.0)]


def test_sound_just_before_the_frame_changes_hands_belongs_to_the_next_speaker() -> None:
    tl = SpeakerTimeline(merge_gap=0.3)
    tl.add(SpeakingChange("Carol", True, 100.0))
    # Alice's sound starts at 104.0; the frame shows her 120 ms later.
    tl.add(SpeakingChange("Carol", False, 104.12))
    tl.add(SpeakingChange("Alice", True, 104.12))
    sound = [(100.5, 102.0), (104.0, 106.0)]
    segs = [(s.speaker_name, s.start_time_seconds, s.end_time_seconds)
            for s in tl.segments(origin=100.0, end=107.0, sound=sound, gate=True)]
    assert segs == [("Carol", 0.5, 2.0), ("Alice", 4.0, 6.0)]


def test_a_signal_stuck_on_over_silence_is_cut_where_the_sound_stopped() -> None:
    tl = SpeakerTimeline(merge_gap=0.3)
    tl.add(SpeakingChange("Alice", True, 101.0))  # never switched off
    tl.add(SpeakingChange("Bob", True, 102.0))
    tl.add(SpeakingChange("Bob", False, 103.5))   # a short pause inside Bob's turn is not stuck
    sound = [(101.0, 102.6), (102.9, 103.5), (108.0, None)]
    segs = [(s.speaker_name, s.start_time_seconds, s.end_time_seconds)
            for s in tl.segments(origin=100.0, end=110.0, sound=sound, stuck_after=3.0)]
    assert segs == [("Alice", 1.0, 3.5), ("Bob", 2.0, 3.5)]
    assert [(r.name, r.at_seconds, r.silence) for r in tl.stuck] == [("Alice", 3.5, 4.5)]
    assert "stuck" in tl.stuck[0].describe()
    # Without the audio cross-check the page's signal is taken as it was shown.
    plain = tl.segments(origin=100.0, end=110.0)
    assert (plain[0].speaker_name, plain[0].end_time_seconds) == ("Alice", 10.0) and tl.stuck == []


def test_turns_start_and_end_where_the_sound_does_when_the_page_lags_the_voice() -> None:
    tl = SpeakerTimeline(merge_gap=0.3)
    # Alice's voice 101.0-103.0 with a pause inside; the page shows her 250 ms late and holds her
    # 600 ms. Bob's signal comes on 50 ms before his voice reaches the sink. From 106.0 the room is
    # noisy: Carol's turn has no edge in the sound near it, and keeps the page's times.
    for name, on, off in [("Alice", 101.25, 103.6), ("Bob", 103.95, 105.9), ("Carol", 107.0, 108.0)]:
        tl.add(SpeakingChange(name, True, on))
        tl.add(SpeakingChange(name, False, off))
    sound = [(101.0, 101.8), (102.4, 103.0), (104.0, 105.5), (106.0, None)]
    segs = [(s.speaker_name, s.start_time_seconds, s.end_time_seconds)
            for s in tl.segments(origin=100.0, end=110.0, sound=sound, stuck_after=3.0)]
    assert segs == [("Alice", 1.0, 3.0), ("Bob", 4.0, 5.5), ("Carol", 7.0, 8.0)]


def test_who_was_shown_speaking_during_a_range_counts_open_and_closed_turns() -> None:
    tl = SpeakerTimeline()
    tl.add(SpeakingChange("Alice", True, 100.0))
    tl.add(SpeakingChange("Alice", False, 103.0))
    tl.add(SpeakingChange("Bob", True, 102.5))
    assert tl.speaking_during(100.5, 101.5) == (("Alice", 0.0, 1.0),)
    assert tl.speaking_during(102.0, 104.0) == (("Alice", 0.0, 1.0), ("Bob", 0.5, 2.0))  # overlap
    assert tl.speaking_during(103.5, 110.0) == (("Bob", 0.0, 6.5),)   # still open
    assert tl.speaking_during(95.0, 99.0) == ()


def test_sound_on_the_sink_from_silencedetects_edges() -> None:
    """Where the bot hears sound, from the frames ffmpeg marks (their exact pts, however late ffmpeg
    prints them): a quiet start is placed (the first words start where they did, not at ffmpeg's
    start), pauses between words do not split a turn, blips are dropped."""
    from bot.recorder import AUDIO_RATE, PAUSE_S, SILENCE_DETECT_S, Recorder

    # The sound reached the sink 0.3 s after the page played it and is placed back on the page's
    # clock: a sample's pts is its page time.
    delay = 0.0
    rec = Recorder(display=":1", width=2, height=2, fps=1, audio_env={}, monitor="m", work_dir=Path("."),
                   preset="veryfast", audio_bitrate="64k", segment_seconds=1, stop_timeout=1,
                   sound_late=0.3, on_segment=lambda p: None)  # type: ignore[arg-type,return-value]
    t0 = 1_795_971_172.0
    rec.started_at = t0
    rec.sound = [(t0, None)]

    def edge(kind: str, at: float) -> None:
        """ffmpeg's two lines for a frame that ``kind`` begins in (silence: d after it began)."""
        late = at + (SILENCE_DETECT_S if kind == "silence" else 0.0)
        pts = round((late + delay) * AUDIO_RATE)
        rec._on_line(f"[ametadata@{kind} @ 0x55d0c0ffee00] frame:{int(late * 50)}   pts:{pts} "
                     f"pts_time:{late:.6g}")
        rec._on_line(f"[ametadata@{kind} @ 0x55d0c0ffee00] lavfi.silence_"
                     f"{'start' if kind == 'silence' else 'end'}={late:.6g}")

    for kind, at in [
        ("silence", t0 + 0.3),   # ffmpeg's first samples, 0.3 s in, were silent
        ("sound", t0 + 0.6),     # the first words, 0.6 s in
        ("silence", t0 + 1.5),   # a pause between words...
        ("sound", t0 + 1.5 + PAUSE_S - 0.1),  # ...shorter than PAUSE_S
        ("silence", t0 + 3.0),   # end of the turn
        ("sound", t0 + 4.0),     # a click
        ("silence", t0 + 4.1),
        ("sound", t0 + 5.0),     # the next turn, still on
    ]:
        edge(kind, at)
    assert [(round(s - t0, 2), e if e is None else round(e - t0, 2)) for s, e in rec.sound] == [
        (0.6, 3.0), (5.0, None)]
    assert rec.silent_since is None and not rec._stderr_tail and not rec.progress
    edge("silence", t0 + 6.0)
    assert rec.silent_since == pytest.approx(t0 + 6.0, abs=1e-4)


def test_a_figure_that_is_not_a_number_is_left_out_of_stats_not_the_result() -> None:
    kept = numeric_timings({"a_s": 1.5, "count": 3, "missing_ms": None, "flag": True, "name": "x"})
    assert kept == {"a_s": 1.5, "count": 3.0}
    JobResult(meeting_id="mt-1", video_id="m-1", status="done", outcome=Outcome.MEETING_ENDED, timings=kept)


def test_who_spoke_while_the_call_goes_on_can_be_kept_to_the_sound() -> None:
    # Zoom holds the last speaker: live, only the sounding part of each turn is theirs, as the
    # recording's timeline will have it (the sound still open at the range's end runs to it).
    tl = SpeakerTimeline(merge_gap=0.3)
    tl.add(SpeakingChange("Alice", True, 100.0))
    tl.add(SpeakingChange("Alice", False, 104.0))
    tl.add(SpeakingChange("Bob", True, 104.0))
    sound = [(100.5, 102.0), (104.0, None)]
    assert tl.speaking_during(100.0, 105.0) == (("Alice", 0.0, 4.0), ("Bob", 4.0, 5.0))
    assert tl.speaking_during(100.0, 105.0, sound=sound) == (("Alice", 0.5, 2.0), ("Bob", 4.0, 5.0))
