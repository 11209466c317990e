"""The npm SDK runner: the official ``videodb`` 0.2.0 calls a stand-in server and reports each step."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.http import EmbeddedServer
from tests.support.npm_sdk import SDK_DIR, run_sdk, run_sdk_async

pytestmark = pytest.mark.media


class StandIn:
    """Answers what VideoDB answers for a few calls, and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.app = Starlette(routes=[
            Route("/collection/{cid}", self.collection),
            Route("/rtstream", self.connect, methods=["POST"]),
            Route("/rtstream/{rid}/status", self.status, methods=["PATCH"]),
        ])

    async def _log(self, request: Request) -> Any:
        body = await request.body()
        payload = json.loads(body) if body else None
        self.calls.append({"method": request.method, "path": request.url.path,
                           "key": request.headers.get("x-access-token"), "json": payload})
        return payload

    async def collection(self, request: Request) -> JSONResponse:
        await self._log(request)
        if request.path_params["cid"] != "default":
            return JSONResponse({"success": False, "message": "Collection not found"}, status_code=404)
        return JSONResponse({"success": True, "data": {"id": "c-default", "name": "Default",
                                                       "description": None, "is_public": False}})

    async def connect(self, request: Request) -> JSONResponse:
        body = await self._log(request)
        return JSONResponse({"success": True, "data": {
            "id": "rts-1", "name": body["name"], "collection_id": body["collection_id"],
            "created_at": "2026-01-01T00:00:00Z", "sample_rate": body.get("sample_rate", 30),
            "status": "connected", "media_types": body["media_types"], "channel_id": None}})

    async def status(self, request: Request) -> JSONResponse:
        await self._log(request)
        return JSONResponse({"success": True, "data": {}})


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandIn, str]]:
    fake = StandIn()
    server = EmbeddedServer(fake.app, name="videodb-stand-in")
    await server.start()
    try:
        yield fake, server.url
    finally:
        await server.aclose()


def test_the_sdk_is_the_pinned_release() -> None:
    package = json.loads((SDK_DIR / "node_modules" / "videodb" / "package.json").read_text())
    lock = json.loads((SDK_DIR / "package-lock.json").read_text())
    assert package["version"] == lock["packages"]["node_modules/videodb"]["version"] == "0.2.0"


async def test_get_collection_reaches_the_server_and_comes_back_camel_cased(
        stand_in: tuple[StandIn, str]) -> None:
    fake, url = stand_in
    results = await run_sdk_async(url, "sdk-key", [
        {"call": "getCollection", "args": ["default"], "as": "coll"},
        {"get": "id", "on": "coll"},
        {"call": "getCollection", "args": ["nope"]},
    ])
    assert fake.calls[0] == {"method": "GET", "path": "/collection/default", "key": "sdk-key", "json": None}
    first = results[0]
    assert first["ok"] and first["type"] == "Collection"
    assert first["result"] == {"id": "c-default", "name": "Default", "description": None, "isPublic": False}
    assert results[1] == {"step": 1, "get": "id", "ok": True, "type": "string", "result": "c-default"}
    error = results[2]["error"]
    assert not results[2]["ok"] and error["status"] == 404
    assert error["body"]["message"] == "Collection not found"


async def test_an_rtstream_round_trip_with_references(stand_in: tuple[StandIn, str]) -> None:
    fake, url = stand_in
    results = await run_sdk_async(url, "k", [
        {"call": "getCollection", "as": "coll"},
        {"call": "connectRTStream", "on": "coll",
         "args": ["rtsp://127.0.0.1:8554/cam1", "Lobby", ["video", "audio"], 2, True], "as": "rt"},
        {"call": "stop", "on": "rt"},
        {"get": "status", "on": "rt"},
    ])
    assert [r["ok"] for r in results] == [True, True, True, True], results
    assert fake.calls[1]["json"] == {"collection_id": "c-default", "url": "rtsp://127.0.0.1:8554/cam1",
                                     "name": "Lobby", "media_types": ["video", "audio"],
                                     "sample_rate": 2, "store": True}
    rt = results[1]["result"]
    assert results[1]["type"] == "RTStream"
    assert (rt["id"], rt["collectionId"], rt["mediaTypes"], rt["sampleRate"]) == \
        ("rts-1", "c-default", ["video", "audio"], 2)
    assert fake.calls[2]["method"] == "PATCH" and fake.calls[2]["path"] == "/rtstream/rts-1/status"
    assert fake.calls[2]["json"] == {"action": "stop"}
    assert results[2]["object"]["status"] == "stopped" and results[3]["result"] == "stopped"


def test_the_blocking_runner_reports_an_unreachable_server() -> None:
    results = run_sdk("http://127.0.0.1:9", "k", [{"call": "getCollection", "args": ["default"]}])
    assert results[0]["ok"] is False and "ECONNREFUSED" in results[0]["error"]["cause"]
