"""HTTP server for simulated meeting pages, their audio, control and ground truth."""

from __future__ import annotations

import asyncio
import html
import json
import mimetypes
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.http import EmbeddedServer
from simulator.registry import Meeting, Registry, host_kind, page_config
from simulator.scenario import Scenario
from simulator.speech import SpeechSynthesizer
from simulator.teams_web import TeamsPages
from simulator.zoom_web import ZoomPages

__all__ = ["MEET_ORIGIN", "SimulatorServer", "build_app"]

MEET_ORIGIN = "https://meet.google.com"
PAGES_DIR = Path(__file__).parent / "pages"
_CODE_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_KEY_RE = re.compile(r"[0-9a-f]{8,64}")
_CONTROL_ACTIONS = {"admit", "deny", "no_response", "end", "remove", "everyone_leave"}
_NO_STORE = {"cache-control": "no-store"}


def build_app(registry: Registry) -> Starlette:
    template = (PAGES_DIR / "meet" / "index.html").read_text(encoding="utf-8")
    zoom_page = ZoomPages(registry, page_config)
    teams_page = TeamsPages(registry, page_config)

    def meeting_or_404(code: str) -> Meeting | JSONResponse:
        m = registry.meetings.get(code)
        return m if m else JSONResponse({"error": "unknown meeting"}, 404)

    async def home(request: Request) -> Response:
        kind = host_kind(request)
        if kind == "zoom":
            return await zoom_page.other(request)
        if kind in ("teams", "login"):
            return await teams_page.dispatch(request)
        links = "".join(
            f'<li><a href="/{html.escape(c)}">{html.escape(c)}</a> {html.escape(m.scenario.title)}</li>'
            for c, m in registry.meetings.items() if m.scenario.platform == "meet")
        return HTMLResponse(
            '<!doctype html><html><head><meta charset="utf-8"><title>Google Meet</title>'
            '<link rel="stylesheet" href="/_sim/static/meet/meet.css"></head><body><div class="home">'
            f"<h1>Video calls and meetings for everyone</h1><ul>{links}</ul></div></body></html>",
            headers=_NO_STORE)

    async def meeting_page(request: Request) -> Response:
        code = request.path_params["path"]
        kind = host_kind(request)
        if kind == "zoom":
            return await zoom_page.other(request)
        if kind in ("teams", "login"):
            return await teams_page.dispatch(request)
        if not _CODE_RE.fullmatch(code):
            return Response("Not Found", 404)
        m = registry.meetings.get(code)
        cfg = json.dumps(page_config(code, m if m and m.scenario.platform == "meet" else None))
        cfg = cfg.replace("</", "<\\/")
        body = template.replace("__SIM_TITLE__", html.escape(f"Meet - {code}")).replace("__SIM_CONFIG__", cfg)
        return HTMLResponse(body, headers=_NO_STORE)

    # Files are small and read inline: Starlette's FileResponse/StaticFiles would start a worker
    # thread that outlives the server.
    async def audio(request: Request) -> Response:
        key = request.path_params["key"]
        if not _KEY_RE.fullmatch(key):
            return Response("Not Found", 404)
        try:
            data = registry.synth.path_for(key).read_bytes()
        except FileNotFoundError:
            return Response("Not Found", 404)
        return Response(data, media_type="audio/wav", headers={"cache-control": "max-age=3600"})

    async def static(request: Request) -> Response:
        path = (PAGES_DIR / request.path_params["path"]).resolve()
        if not path.is_relative_to(PAGES_DIR.resolve()) or not path.is_file():
            return Response("Not Found", 404)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Response(path.read_bytes(), media_type=media_type, headers=_NO_STORE)

    async def meetings(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"meetings": sorted(registry.meetings)})
        try:
            scenario = await registry.add(await request.json())
        except (ValidationError, ValueError) as exc:
            detail: Any = str(exc)
            if isinstance(exc, ValidationError):
                detail = exc.errors(include_url=False, include_context=False)
            return JSONResponse({"error": "invalid scenario", "detail": detail}, 422)
        return JSONResponse({"meeting_code": scenario.meeting_code}, 201)

    async def config(request: Request) -> JSONResponse:
        # The Teams page reads its meeting from the URL fragment, so it fetches its config.
        platform = request.query_params.get("platform", "teams")
        m = registry.find(platform, request.path_params["code"])
        return JSONResponse(page_config(m.scenario.meeting_code if m else request.path_params["code"], m),
                            headers=_NO_STORE)

    async def scenario(request: Request) -> JSONResponse:
        m = meeting_or_404(request.path_params["code"])
        return m if isinstance(m, JSONResponse) else JSONResponse(m.scenario.model_dump())

    async def truth(request: Request) -> JSONResponse:
        m = meeting_or_404(request.path_params["code"])
        return m if isinstance(m, JSONResponse) else JSONResponse(m.truth.as_dict(), headers=_NO_STORE)

    async def events(request: Request) -> JSONResponse:
        m = meeting_or_404(request.path_params["code"])
        if isinstance(m, JSONResponse):
            return m
        event = await request.json()
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return JSONResponse({"error": "event needs a type"}, 400)
        m.truth.apply(event)
        async with m.changed:
            m.changed.notify_all()
        return JSONResponse({"ok": True})

    async def control(request: Request) -> JSONResponse:
        m = meeting_or_404(request.path_params["code"])
        if isinstance(m, JSONResponse):
            return m
        if request.method == "GET":
            # Handing actions out once keeps a reloaded page from replaying an old "end".
            actions, m.control[:] = list(m.control), []
            return JSONResponse({"actions": actions}, headers=_NO_STORE)
        body = await request.json()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in _CONTROL_ACTIONS:
            return JSONResponse({"error": f"action must be one of {sorted(_CONTROL_ACTIONS)}"}, 400)
        m.control.append(action)
        return JSONResponse({"queued": action}, 202)

    return Starlette(routes=[
        Route("/", home),
        Route("/_sim/static/{path:path}", static),
        Route("/_sim/audio/{key}.wav", audio),
        Route("/_sim/api/meetings", meetings, methods=["GET", "POST"]),
        Route("/_sim/api/meetings/{code}", scenario),
        Route("/_sim/api/meetings/{code}/config", config),
        Route("/_sim/api/meetings/{code}/truth", truth),
        Route("/_sim/api/meetings/{code}/events", events, methods=["POST"]),
        Route("/_sim/api/meetings/{code}/control", control, methods=["GET", "POST"]),
        *zoom_page.routes(),
        *teams_page.routes(),
        Route("/{path:path}", meeting_page),
    ])


class SimulatorServer:
    """The simulator on 127.0.0.1, run by uvicorn inside the current event loop.

    ``async with SimulatorServer(scenarios=[...]) as sim:`` then open ``sim.meeting_url(code)``
    (or ``https://meet.google.com/<code>`` routed to ``sim.url``) and read ``sim.truth(code)``.
    Zoom and Teams pages are reached on their public URLs (``Scenario.public_url()``) with the Zoom,
    Teams and login.microsoftonline.com hosts routed to ``sim.url``; the path, and the
    X-Forwarded-Host header where the path is ambiguous, tell the platforms apart.
    """

    def __init__(
        self,
        scenarios: Iterable[Scenario | str | Path | dict[str, Any]] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cache_dir: Path | None = None,
        log_level: str = "warning",
    ) -> None:
        self._initial = list(scenarios)
        self.registry = Registry(SpeechSynthesizer(cache_dir))
        self._http = EmbeddedServer(build_app(self.registry), host=host, port=port,
                                    log_level=log_level, name="simulator-http")

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        return self._http.url

    def meeting_url(self, code: str) -> str:
        return f"{self.url}/{code}"

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        for source in self._initial:
            await self.add_scenario(source)
        await self._http.start()

    async def aclose(self) -> None:
        """Stop serving; idempotent."""
        await self._http.aclose()

    async def add_scenario(self, scenario: Scenario | str | Path | dict[str, Any]) -> Scenario:
        """Register (or reset) a meeting; synthesizes its speech first."""
        return await self.registry.add(scenario)

    def truth(self, code: str) -> dict[str, Any]:
        """Ground truth so far for the meeting's current run (a copy; plain call, no await)."""
        return self.registry.get(code).truth.as_dict()

    def control(self, code: str, action: str) -> None:
        """Queue a manual action ("admit", "deny", "end", "remove", ...) for the page's next poll."""
        if action not in _CONTROL_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        self.registry.get(code).control.append(action)

    async def wait_for_event(self, code: str, kind: str, *, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the page reports an event of this type in the current run; return it."""
        meeting = self.registry.get(code)

        def found() -> dict[str, Any] | None:
            return next((e for e in meeting.truth.events if e.get("type") == kind), None)

        async with asyncio.timeout(timeout), meeting.changed:
            await meeting.changed.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return dict(event)
