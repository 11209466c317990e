"""Meeting URLs: every adapter's declared cases, and the worker's choice of adapter."""

from __future__ import annotations

import pytest

import platforms
from core.errors import JoinError
from core.outcomes import Outcome

pytestmark = pytest.mark.unit

CASES = [(a, url, want) for a in platforms.ADAPTERS for url, want in a.URL_TESTS]


@pytest.mark.parametrize(("adapter", "url", "want"), CASES,
                         ids=[f"{a.name}:{u.strip()[:60]}" for a, u, _ in CASES])
def test_adapter_url_table(adapter: type[platforms.PlatformAdapter], url: str, want: str | None) -> None:
    if want is None:
        with pytest.raises(JoinError) as err:
            platforms.resolve(url)
        assert err.value.code is Outcome.INVALID_MEETING_URL
        assert err.value.message
    else:
        chosen, ref = platforms.resolve(url)
        assert chosen is adapter
        assert ref.url == want


@pytest.mark.parametrize("url", [
    "https://example.com/abc-defg-hij",
    "https://meet.google.co/abc-defg-hij",
    "https://evil.com/?u=https://meet.google.com.evil.com/abc-defg-hij",
    "not a url",
    "",
])
def test_unsupported_urls_get_a_clear_error(url: str) -> None:
    with pytest.raises(JoinError) as err:
        platforms.resolve(url)
    assert err.value.code is Outcome.INVALID_MEETING_URL
    assert "Google Meet, Zoom or Microsoft Teams" in err.value.message


def test_every_adapter_declares_url_cases() -> None:
    for adapter in platforms.ADAPTERS:
        assert any(w for _, w in adapter.URL_TESTS) and any(w is None for _, w in adapter.URL_TESTS)


def test_host_overrides_parse_and_match_wildcards() -> None:
    from bot.routing import rewrite
    from core.settings import parse_host_overrides

    o = parse_host_overrides("meet.google.com=http://127.0.0.1:9001, *.zoom.us=http://127.0.0.1:9002/")
    assert o == {"meet.google.com": "http://127.0.0.1:9001", "*.zoom.us": "http://127.0.0.1:9002"}
    assert rewrite("https://meet.google.com/abc-defg-hij?hl=en", o) == \
        "http://127.0.0.1:9001/abc-defg-hij?hl=en"
    assert rewrite("https://us05web.zoom.us/j/123?pwd=x", o) == "http://127.0.0.1:9002/j/123?pwd=x"
    assert rewrite("https://zoom.us/j/1", o) is None  # the wildcard names subdomains only
    assert rewrite("https://example.com/", o) is None
    with pytest.raises(ValueError, match="host=origin"):
        parse_host_overrides("meet.google.com")
    with pytest.raises(ValueError, match="http"):
        parse_host_overrides("meet.google.com=127.0.0.1:9001")
