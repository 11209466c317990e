"""Microsoft Teams pages (reference section 3) and the login.microsoftonline.com stand-in.

Teams is one single-page app: every entry path below serves the same document and its script finds
the meeting in ``location`` (path, query and fragment), because the v2 and launcher forms carry the
meeting in the fragment, which never reaches a server. It then fetches
``/_sim/api/meetings/<code>/config``. Entry paths (teams.microsoft.com and teams.live.com):

- ``/l/meetup-join/19%3ameeting_<code>%40thread.v2/<ts>?context=...``
- ``/v2/?meetingjoin=true#/l/meetup-join/...`` (or ``#/meet/<code>?p=...``)
- ``/dl/launcher/launcher.html?url=/_#/l/meetup-join/...`` (``url`` encoded or not)
- ``/meet/<code>?p=<passcode>``
- ``/v2/postmeeting#<deep link>``: where the app goes when the host ends the meeting with
  ``teams.end_screen: post_meeting_url``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from simulator.registry import Meeting, Registry, host_kind

PAGES_DIR = Path(__file__).parent / "pages"
_NO_STORE = {"cache-control": "no-store"}


class TeamsPages:
    def __init__(self, registry: Registry,
                 page_config: Callable[[str, Meeting | None], dict[str, Any]]) -> None:
        self.registry = registry
        self.page_config = page_config
        self.template = (PAGES_DIR / "teams" / "index.html").read_text(encoding="utf-8")

    def routes(self) -> list[Route]:
        return [
            Route("/l/meetup-join/{rest:path}", self.app),
            Route("/v2/", self.app),
            Route("/v2/postmeeting", self.app),
            Route("/dl/launcher/launcher.html", self.app),
            Route("/meet/{code}", self.app),
            Route("/light-meetings/launch", self.app),
            Route("/{tenant}/oauth2/{rest:path}", self.login),
        ]

    def render(self, view: str, title: str) -> HTMLResponse:
        cfg = json.dumps({"view": view}).replace("</", "<\\/")
        body = self.template.replace("__SIM_TITLE__", html.escape(title)).replace("__SIM_CONFIG__", cfg)
        return HTMLResponse(body, headers=_NO_STORE)

    async def app(self, request: Request) -> Response:
        return self.render("app", "Microsoft Teams")

    async def login(self, request: Request) -> Response:
        return self.render("login", "Sign in to your account")

    async def dispatch(self, request: Request) -> Response:
        """Other paths on a Teams or login host."""
        if host_kind(request) == "login":
            return await self.login(request)
        return await self.app(request)
