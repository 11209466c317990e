"""Properties, on generated input: the URL normalisers and the job model never crash, refuse only
with the documented error, and what they accept is canonical (parsing it again changes nothing)."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import platforms
from core.errors import JobError, JoinError
from core.job import Job
from core.outcomes import Outcome

pytestmark = pytest.mark.unit

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

letters = st.text(string.ascii_lowercase, min_size=1, max_size=12)
hosts = st.sampled_from(["meet.google.com", "MEET.google.com", "zoom.us", "us02web.zoom.us",
                         "acme.zoom.us", "teams.microsoft.com", "teams.live.com", "example.com",
                         "zoom.us.evil.com", "meet.google.com.evil.com", "localhost", ""])
paths = st.lists(st.one_of(letters, st.from_regex(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", fullmatch=True),
                           st.from_regex(r"[0-9]{9,11}", fullmatch=True),
                           st.sampled_from(["j", "wc", "join", "l", "meetup-join", "meet", "v2", "s"])),
                 max_size=4)
urlish = st.builds(
    lambda scheme, host, parts, query, junk: f"{scheme}{host}/{'/'.join(parts)}{query}{junk}",
    st.sampled_from(["https://", "http://", "ftp://", "", "javascript:", "HTTPS://"]), hosts, paths,
    st.sampled_from(["", "?pwd=abc123", "?p=Pa55&context=%7B%7D", "?hl=en", "#frag", "?%%%"]),
    st.sampled_from(["", " ", "\n", "\u202e", " https://meet.google.com/abc-defg-hij"]))


def parse_or_refuse(url: str) -> platforms.MeetingRef | None:
    try:
        return platforms.resolve(url)[1]
    except JoinError as exc:
        assert exc.code is Outcome.INVALID_MEETING_URL, exc
        assert exc.message, "a refusal says why"
        return None


@FAST
@given(st.one_of(urlish, st.text(max_size=200)))
def test_a_meeting_url_is_accepted_canonically_or_refused_with_the_documented_code(url: str) -> None:
    ref = parse_or_refuse(url)
    if ref is None:
        return
    assert ref.url.startswith("https://") and " " not in ref.url and "\n" not in ref.url
    again = parse_or_refuse(ref.url)
    assert again is not None and (again.platform, again.meeting_id) == (ref.platform, ref.meeting_id)
    if ref.passcode is None:
        assert again.url == ref.url


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)
job_fields = st.fixed_dictionaries({}, optional={
    "meeting_url": st.one_of(urlish, json_values),
    "bot_name": st.one_of(st.text(max_size=300), json_values),
    "callback_url": st.one_of(st.sampled_from(["https://example.com/hook", "http://169.254.169.254/x",
                                               "http://127.0.0.1:1/x", "not a url", ""]), json_values),
    "callback_data": json_values,
    "meeting_title": st.one_of(st.text(max_size=300), json_values),
    "max_duration": json_values,
    "time_zone": st.one_of(st.sampled_from(["UTC", "Europe/Paris", "Mars/Olympus"]), json_values),
})


@FAST
@given(job_fields)
def test_a_job_is_valid_and_round_trips_or_is_refused_as_invalid_job(raw: dict[str, object]) -> None:
    try:
        job = Job.parse(raw)
    except JobError as exc:
        assert exc.code is Outcome.INVALID_JOB and exc.message.startswith(("invalid job", "job ")), exc
        return
    assume(job is not None)
    # What was accepted survives the trip through JSON (the form it travels in to a bot).
    again = Job.parse(job.model_dump_json())
    assert again == job


@FAST
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_a_job_are_a_job_or_invalid_job(raw: bytes) -> None:
    try:
        Job.parse(raw)
    except JobError as exc:
        assert exc.code is Outcome.INVALID_JOB
    except UnicodeDecodeError:
        pytest.fail("undecodable bytes must be invalid_job")


def test_a_json_list_is_not_a_job() -> None:
    with pytest.raises(JobError, match="JSON object"):
        Job.parse(json.dumps([1, 2]))
