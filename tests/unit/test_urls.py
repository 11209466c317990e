"""Meeting URLs: every adapter's declared cases, and the worker's choice of adapter."""

from __future__ import annotations

import pytest

import platforms
from bot.errors import JoinError
from bot.outcomes import Outcome

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
    assert "Google Meet" in err.value.message


def test_every_adapter_declares_url_cases() -> None:
    for adapter in platforms.ADAPTERS:
        assert any(w for _, w in adapter.URL_TESTS) and any(w is None for _, w in adapter.URL_TESTS)
