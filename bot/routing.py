"""Host routing: serve a browser's requests for chosen hosts from another origin.

Used by the tests, the demo and rehearsals (``MEETBOT_HOST_OVERRIDES``): the page keeps its real
``https://meet.google.com/...`` URL while the simulator answers. Production never sets it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Route

log = logging.getLogger("meetbot.routing")


def origin_for(host: str, overrides: dict[str, str]) -> str | None:
    """Exact host first, then the closest ``*.domain`` wildcard (``*.zoom.us`` covers ``us05web.zoom.us``)."""
    host = host.lower()
    if host in overrides:
        return overrides[host]
    labels = host.split(".")
    for i in range(1, len(labels) - 1):
        wildcard = "*." + ".".join(labels[i:])
        if wildcard in overrides:
            return overrides[wildcard]
    return None


def rewrite(url: str, overrides: dict[str, str]) -> str | None:
    """The URL to fetch instead of ``url``, or None when its host is not overridden."""
    parts = urlsplit(url)
    origin = origin_for(parts.hostname or "", overrides)
    if origin is None:
        return None
    path = parts.path or "/"
    return f"{origin}{path}" + (f"?{parts.query}" if parts.query else "")


async def install_host_overrides(context: BrowserContext, overrides: dict[str, str]) -> None:
    if not overrides:
        return

    async def handle(route: Route) -> None:
        request = route.request
        target = rewrite(request.url, overrides)
        if target is None:
            await route.fallback()
            return
        try:
            # X-Forwarded-Host tells the origin which public host was asked for. A redirect is
            # followed here, by the fetch: a fulfilled 3xx would be followed by the browser
            # without passing through this handler again, off to the real host.
            headers = {**request.headers, "x-forwarded-host": urlsplit(request.url).netloc}
            response = await route.fetch(url=target, headers=headers)
        except Exception as exc:
            log.warning("override origin unreachable", extra={"url": target, "error": str(exc)})
            await route.abort("connectionrefused")
            return
        await route.fulfill(response=response)

    await context.route("**/*", handle)
    log.info("host overrides installed", extra={"hosts": sorted(overrides)})
