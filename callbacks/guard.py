"""SSRF guard for URLs a job hands us (``callback_url``, ``bot_image_url``).

Two checks, both needed:

* ``check_url`` before a request: scheme, host, and every address the host resolves to. It gives
  the clear error (host and why) and refuses a host if ANY of its addresses is non-public.
* ``peer_check`` (an httpx ``trace`` hook) right after each TCP connect, before a byte is sent:
  it checks the address actually connected to. This closes DNS rebinding between the check and
  the connect (a host that resolved public for the check and private for the connect) and covers
  redirects. Behind an HTTP proxy the peer is the proxy, so a private proxy must be allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = ipaddress.ip_address("169.254.169.254")


class UnsafeUrlError(ValueError):
    """A URL we refuse to call. ``retryable`` only when the host did not resolve (DNS may recover)."""

    def __init__(self, host: str, reason: str, *, retryable: bool = False) -> None:
        super().__init__(f"refusing to call {host!r}: {reason}")
        self.host, self.reason, self.retryable = host, reason, retryable


@dataclass(frozen=True)
class UrlPolicy:
    """Which non-public addresses may be called. The default allows none."""

    allow_private: bool = False
    """Every address allowed (a lab, a single-tenant install calling its own services)."""
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Just these networks allowed, e.g. an internal receiver at 10.1.0.0/16."""

    @classmethod
    def from_env_value(cls, value: str | None) -> UrlPolicy:
        """``""``/``0``: strict; ``1``/``true``/``all``: allow all; else comma-separated CIDRs."""
        v = (value or "").strip()
        if v.lower() in ("", "0", "false", "no", "off"):
            return cls()
        if v.lower() in ("1", "true", "yes", "on", "all"):
            return cls(allow_private=True)
        nets: list[IPNetwork] = []
        for part in filter(None, (p.strip() for p in v.split(","))):
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"MEETBOT_ALLOW_PRIVATE_URLS: {part!r} is not a CIDR ({exc})") from exc
        return cls(allowed_networks=tuple(nets))

    def permits(self, ip: IPAddress) -> bool:
        if self.allow_private:
            return True
        plain = _embedded_v4(ip) or ip
        return any(ip in net or plain in net for net in self.allowed_networks)


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4), which is what gets reached."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def non_public_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or None if it is."""
    inner = _embedded_v4(ip)
    if inner is not None:
        why = non_public_reason(inner)
        return f"{ip} embeds {inner}, {why}" if why else None
    checks: list[tuple[bool, str]] = [
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip == _METADATA, "the cloud metadata address (link-local)"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a carrier-grade NAT address (100.64/10)"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),  # before private: Python counts 240/4 as private too
        (ip.is_private, "a private address"),
        (not ip.is_global, "not globally routable"),
    ]
    return next((f"{ip} is {why}" for hit, why in checks if hit), None)


def check_address(host: str, ip: IPAddress, policy: UrlPolicy) -> None:
    why = non_public_reason(ip)
    if why and not policy.permits(ip):
        raise UnsafeUrlError(host, why + " (allow it with MEETBOT_ALLOW_PRIVATE_URLS)")


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]  # a literal needs no DNS
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrlError(host, f"does not resolve ({exc})", retryable=True) from exc
    # Drop an IPv6 zone id ("fe80::1%eth0"): the address is what gets classified.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


HTTP_PORTS = {"http": 80, "https": 443}


async def check_url(url: str, policy: UrlPolicy, *,
                    schemes: dict[str, int] = HTTP_PORTS) -> list[IPAddress]:
    """Raise UnsafeUrlError unless ``url``'s scheme is one of ``schemes`` (scheme -> default port;
    http and https unless told) and every address of its host is allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port or schemes.get(parts.scheme, 0)
    except ValueError as exc:
        raise UnsafeUrlError(url, f"not a valid URL ({exc})") from exc
    host = parts.hostname or ""
    if parts.scheme not in schemes:
        raise UnsafeUrlError(host or url, f"scheme {parts.scheme!r} is not one of {', '.join(schemes)}")
    if not host:
        raise UnsafeUrlError(url, "the URL has no host")
    addresses = await resolve(host, port)
    for ip in addresses:
        check_address(host, ip, policy)
    return addresses


TraceHook = Callable[[str, dict[str, Any]], Awaitable[None]]


def peer_check(policy: UrlPolicy, host: str, inner: TraceHook | None = None) -> TraceHook:
    """An httpx ``trace`` extension refusing a connection whose peer address is not allowed."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            stream = info["return_value"]
            peer = stream.get_extra_info("server_addr")
            try:
                if peer is None:
                    raise UnsafeUrlError(host, "the connected peer address is unknown")
                check_address(host, ipaddress.ip_address(str(peer[0]).split("%")[0]), policy)
            except UnsafeUrlError:
                await stream.aclose()  # httpcore never got the stream back, so it cannot close it
                raise
        if inner is not None:
            await inner(event, info)

    return trace


class GuardedTransport(httpx.AsyncBaseTransport):
    """A transport that applies both checks to every request, redirects included.

    ``httpx.AsyncClient(transport=GuardedTransport(policy), follow_redirects=True)`` for fetching
    a user-supplied URL such as ``bot_image_url``.
    """

    def __init__(self, policy: UrlPolicy, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await check_url(str(request.url), self._policy)
        request.extensions["trace"] = peer_check(self._policy, request.url.host,
                                                 request.extensions.get("trace"))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
