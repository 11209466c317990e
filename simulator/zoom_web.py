"""Zoom web client pages (reference section 2): launcher, React and classic clients, their variants.

Paths (any ``*.zoom.us`` host; the meeting is the numeric ID, or the personal-link name):

- ``/j/<id>?pwd=`` and ``/my/<vanity>``: the launcher, or a (scripted) redirect to the client
  when ``zoom.launcher`` is false.
- ``/wc/<id>/join?pwd=``: the React client (redirects to classic when ``zoom.client == "classic"``).
  Redirects are scripted ``location.replace`` on the same host, see ``soft_redirect``.
- ``/wc/join/<id>?pwd=``: the classic client.
- Either client is served as an outer page holding ``iframe#webclient`` when ``zoom.iframe``; the
  frame loads the same URL plus ``_frame=1``.
- ``/signin``, ``/client/latest/ZoomInstaller.exe`` and other paths on a Zoom host: stand-ins.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from simulator.registry import Meeting, Registry

PAGES_DIR = Path(__file__).parent / "pages"
_NO_STORE = {"cache-control": "no-store"}
_ID_RE = re.compile(r"[0-9]{9,11}")


def soft_redirect(target: str) -> HTMLResponse:
    """Navigate from the page's script instead of an HTTP 3xx.

    Playwright does not run route handlers for the request that follows a fulfilled 3xx, so with
    host routing a server redirect would go to the real host; a scripted navigation is routed.
    ``target`` is root-relative, so the public host is kept.
    """
    url = json.dumps(target).replace("</", "<\\/")
    return HTMLResponse(
        '<!doctype html><html><head><meta charset="utf-8"><title>Zoom</title>'
        f'<script>location.replace({url});</script></head><body></body></html>', headers=_NO_STORE)


def _query_without(request: Request, *drop: str) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in drop]
    return ("?" + urlencode(items)) if items else ""


class ZoomPages:
    def __init__(self, registry: Registry,
                 page_config: Callable[[str, Meeting | None], dict[str, Any]]) -> None:
        self.registry = registry
        self.page_config = page_config
        self.template = (PAGES_DIR / "zoom" / "index.html").read_text(encoding="utf-8")

    def routes(self) -> list[Route]:
        return [
            Route("/j/{mid}", self.launcher),
            Route("/my/{vanity}", self.personal),
            Route("/wc/join/{mid}", self.classic),
            Route("/wc/{mid}/join", self.react),
            Route("/client/latest/ZoomInstaller.exe", self.installer),
            Route("/recaptcha/api2/anchor", self.recaptcha),
        ]

    def render(self, view: str, title: str, code: str, meeting: Meeting | None,
               **extra: Any) -> HTMLResponse:
        cfg = self.page_config(code, meeting)
        cfg.update(view=view, **extra)
        body = (self.template.replace("__SIM_TITLE__", html.escape(title))
                .replace("__SIM_CONFIG__", json.dumps(cfg).replace("</", "<\\/")))
        return HTMLResponse(body, headers=_NO_STORE)

    def meeting(self, key: str) -> Meeting | None:
        m = self.registry.find("zoom", key)
        return m if m is not None and not m.scenario.not_found else None

    def invalid(self, code: str) -> HTMLResponse:
        return self.render("invalid", "Error - Zoom", code, self.registry.find("zoom", code))

    async def launcher(self, request: Request) -> Response:
        mid = request.path_params["mid"]
        m = self.meeting(mid)
        if m is None:
            return self.invalid(mid)
        return self._launch(request, m)

    async def personal(self, request: Request) -> Response:
        vanity = request.path_params["vanity"]
        m = self.meeting(vanity)
        if m is None:
            return self.invalid(vanity)
        return self._launch(request, m)

    def _launch(self, request: Request, m: Meeting) -> Response:
        zoom = m.scenario.zoom
        assert zoom is not None
        mid = m.scenario.meeting_code
        path = f"/wc/join/{mid}" if zoom.client == "classic" else f"/wc/{mid}/join"
        target = path + _query_without(request, "_frame")
        if not zoom.launcher:
            return soft_redirect(target)
        return self.render("launcher", "Launch Meeting - Zoom", mid, m, client_url=target)

    async def react(self, request: Request) -> Response:
        mid = request.path_params["mid"]
        m = self.meeting(mid)
        if m is None:
            return self.invalid(mid)
        assert m.scenario.zoom is not None
        if m.scenario.zoom.client == "classic":  # Zoom sends some guests to the classic client
            return soft_redirect(f"/wc/join/{mid}" + _query_without(request))
        return self._client(request, m, "react")

    async def classic(self, request: Request) -> Response:
        mid = request.path_params["mid"]
        m = self.meeting(mid)
        if m is None:
            return self.invalid(mid)
        return self._client(request, m, "classic")

    def _client(self, request: Request, m: Meeting, client: str) -> Response:
        zoom = m.scenario.zoom
        assert zoom is not None
        framed = request.query_params.get("_frame") == "1"
        if zoom.iframe and not framed:
            sep = "&" if request.url.query else "?"
            src = html.escape(request.url.path + (f"?{request.url.query}" if request.url.query else "")
                              + f"{sep}_frame=1")
            return HTMLResponse(
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Zoom</title>'
                '<link rel="icon" href="data:,"><link rel="stylesheet" href="/_sim/static/zoom/zoom.css">'
                '</head><body class="zm-shell"><iframe id="webclient" name="webclient"'
                f' title="Zoom web client" src="{src}"'
                ' allow="microphone; camera; autoplay; display-capture"></iframe></body></html>',
                headers=_NO_STORE)
        return self.render(client, "Zoom", m.scenario.meeting_code, m, client=client,
                           url_pwd=request.query_params.get("pwd"), in_iframe=framed)

    async def installer(self, request: Request) -> Response:
        return Response(b"MZ simulated installer\n", media_type="application/octet-stream",
                        headers={"content-disposition": 'attachment; filename="ZoomInstaller.exe"'})

    async def recaptcha(self, request: Request) -> Response:
        """The checkbox the bot wall embeds; it never passes."""
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><title>reCAPTCHA</title></head>'
            '<body style="margin:0;font:14px Arial;background:#f9f9f9"><div style="border:1px solid #d3d3d3;'
            'height:74px;display:flex;align-items:center;gap:12px;padding:0 12px">'
            '<span id="recaptcha-anchor" role="checkbox" aria-checked="false" tabindex="0" style="width:24px;'
            'height:24px;border:2px solid #c1c1c1;border-radius:2px;background:#fff"></span>'
            "<label for=\"recaptcha-anchor\">I'm not a robot</label></div></body></html>", headers=_NO_STORE)

    async def other(self, request: Request) -> Response:
        """Any other path on a Zoom host: the sign-in stand-in or Zoom's home."""
        path = request.url.path
        if path.startswith(("/signin", "/login")):
            return self.render("signin_page", "Sign In | Zoom", "", None)
        return self.render("home", "One platform to connect | Zoom", "", None)
