"""The SSRF guard: what is refused (with a message naming the host and why), what a policy allows."""

from __future__ import annotations

import ipaddress
import re

import httpx
import pytest

from callbacks.guard import GuardedTransport, UnsafeUrlError, UrlPolicy, check_url, peer_check
from callbacks.receiver import CallbackReceiver

pytestmark = pytest.mark.unit

STRICT = UrlPolicy()


@pytest.mark.parametrize(("url", "host", "why"), [
    ("http://127.0.0.1/cb", "127.0.0.1", "loopback"),
    ("http://127.8.9.10:8080/cb", "127.8.9.10", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "cloud metadata"),
    ("http://169.254.10.1/", "169.254.10.1", "link-local"),
    ("http://10.0.0.5/", "10.0.0.5", "private"),
    ("http://172.16.3.4/", "172.16.3.4", "private"),
    ("https://192.168.1.1/", "192.168.1.1", "private"),
    ("http://100.64.1.1/", "100.64.1.1", "carrier-grade NAT"),
    ("http://224.0.0.1/", "224.0.0.1", "multicast"),
    ("http://240.0.0.1/", "240.0.0.1", "reserved"),
    ("http://0.0.0.0/", "0.0.0.0", "unspecified"),
    ("http://localhost:9000/cb", "localhost", "loopback"),
    ("http://[::1]/cb", "::1", "loopback"),
    ("http://[fe80::1]/", "fe80::1", "link-local"),
    ("http://[fd00::1]/", "fd00::1", "private"),
    ("http://[ff02::1]/", "ff02::1", "multicast"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", "embeds 127.0.0.1, 127.0.0.1 is a loopback"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254", "cloud metadata"),
    ("http://[::ffff:10.1.2.3]/", "::ffff:10.1.2.3", "private"),
    ("http://[64:ff9b::a01:203]/", "64:ff9b::a01:203", "embeds 10.1.2.3"),
])
async def test_non_public_addresses_are_refused(url: str, host: str, why: str) -> None:
    with pytest.raises(UnsafeUrlError) as err:
        await check_url(url, STRICT)
    assert err.value.host == host
    assert why in str(err.value) and repr(host) in str(err.value)
    assert "MEETBOT_ALLOW_PRIVATE_URLS" in str(err.value)
    assert not err.value.retryable


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://example.com/file", "scheme 'ftp' is not one of http, https"),
    ("file:///etc/passwd", "scheme 'file' is not one of http, https"),
    ("gopher://127.0.0.1:70/", "scheme 'gopher'"),
    ("http:///nohost", "no host"),
    ("http://[::1/", "not a valid URL"),
])
async def test_bad_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrlError, match=why):
        await check_url(url, STRICT)


async def test_unresolvable_host_is_retryable() -> None:
    with pytest.raises(UnsafeUrlError, match="does not resolve") as err:
        await check_url("https://no-such-host.invalid/cb", STRICT)
    assert err.value.retryable


@pytest.mark.parametrize("url", ["https://8.8.8.8/hook", "http://1.1.1.1:8080/x",
                                 "https://[2606:4700:4700::1111]/hook"])
async def test_public_literals_are_allowed_without_dns(url: str) -> None:
    [ip] = await check_url(url, STRICT)
    assert ip.is_global


async def test_allow_all() -> None:
    policy = UrlPolicy.from_env_value("1")
    for url in ("http://127.0.0.1/", "http://169.254.169.254/", "http://localhost/", "http://[::1]/"):
        await check_url(url, policy)
    with pytest.raises(UnsafeUrlError, match="scheme"):  # the scheme rule stays
        await check_url("ftp://127.0.0.1/", policy)


async def test_cidr_allows_just_those() -> None:
    policy = UrlPolicy.from_env_value("10.1.0.0/16, 127.0.0.1/32")
    await check_url("http://10.1.200.3/cb", policy)
    await check_url("http://127.0.0.1:8000/cb", policy)
    await check_url("http://[::ffff:10.1.0.9]/cb", policy)  # the same address in IPv6 form
    for url in ("http://10.2.0.1/", "http://127.0.0.2/", "http://169.254.169.254/", "http://[::1]/"):
        with pytest.raises(UnsafeUrlError):
            await check_url(url, policy)


@pytest.mark.parametrize(("value", "expected"), [
    ("", UrlPolicy()), ("0", UrlPolicy()), ("false", UrlPolicy()),
    ("1", UrlPolicy(allow_private=True)), ("true", UrlPolicy(allow_private=True)),
    ("10.0.0.0/8", UrlPolicy(allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),))),
])
def test_policy_from_env_value(value: str, expected: UrlPolicy) -> None:
    assert UrlPolicy.from_env_value(value) == expected


def test_policy_rejects_garbage() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not a CIDR")):
        UrlPolicy.from_env_value("10.0.0.0/8,10.0.0.0/33")


async def test_connect_time_check_stops_before_a_byte_is_sent() -> None:
    """What closes DNS rebinding: the address actually connected to is checked, before sending."""
    async with CallbackReceiver() as rx, httpx.AsyncClient() as client:
        with pytest.raises(UnsafeUrlError, match="loopback"):
            await client.post(rx.url, content=b"{}",
                              extensions={"trace": peer_check(STRICT, "rebound.example")})
        assert rx.received == []
        allowed = UrlPolicy.from_env_value("127.0.0.1/32")
        resp = await client.post(rx.url, content=b"{}", extensions={"trace": peer_check(allowed, "x")})
        assert resp.status_code == 200 and len(rx.received) == 1


async def test_guarded_transport_checks_every_request() -> None:
    async with CallbackReceiver() as rx:
        async with httpx.AsyncClient(transport=GuardedTransport(STRICT)) as client:
            with pytest.raises(UnsafeUrlError, match="loopback"):
                await client.post(rx.url)
        policy = UrlPolicy.from_env_value("127.0.0.1/32")
        async with httpx.AsyncClient(transport=GuardedTransport(policy)) as client:
            assert (await client.post(rx.url)).status_code == 200
        assert len(rx.received) == 1
