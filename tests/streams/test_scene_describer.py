"""The scene describer on real frames: tesseract reads the caption; a vision model behind an
OpenAI-compatible endpoint (a local HTTP server standing in for one) is asked with the frame and
the prompt, and its failure leaves the OCR text as the record, with a warning."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.http import EmbeddedServer
from core.settings import Settings
from indexes.scenes import Describer, grab_frame
from tests.support.media import CAPTION_FONT

pytestmark = pytest.mark.media


def captioned_clip(path: Path, caption: str) -> Path:
    graph = (f"testsrc=size=640x360:rate=15,drawbox=x=0:y=135:w=iw:h=90:color=white:t=fill,"
             f"drawtext=fontfile={CAPTION_FONT}:text='{caption}':fontsize=45:fontcolor=black"
             f":x=(w-text_w)/2:y=(h-text_h)/2")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", graph, "-t", "2",
                    "-c:v", "libx264", "-f", "mpegts", str(path)], check=True, timeout=60)
    return path


class FakeVision:
    """Answers chat completions like an OpenAI-compatible server; remembers what it was asked."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.asked: list[dict[str, Any]] = []
        self.server = EmbeddedServer(Starlette(routes=[
            Route("/v1/chat/completions", self.answer, methods=["POST"])]), name="fake-vision")

    async def answer(self, request: Request) -> Response:
        self.asked.append({"body": json.loads(await request.body()),
                           "auth": request.headers.get("authorization")})
        if self.status != 200:
            return Response("overloaded", status_code=self.status)
        return JSONResponse({"choices": [{"message": {"role": "assistant",
                                                      "content": "A slide titled with revenue."}}]})


async def test_ocr_reads_the_caption_and_the_vision_model_is_asked(tmp_path: Path) -> None:
    clip = captioned_clip(tmp_path / "clip.ts", "QUARTERLY REVENUE")
    png = await grab_frame(clip, 1.0, tmp_path / "f.png")
    plain = Describer(Settings())
    desc = await plain.describe(png, "What is on the slide?")
    assert desc.on_screen == "QUARTERLY REVENUE" and desc.model is None
    assert desc.text == "Text on screen: QUARTERLY REVENUE"

    vision = FakeVision()
    await vision.server.start()
    try:
        described = Describer(Settings(vision_url=f"{vision.server.url}/v1", vision_model="llava",
                                       vision_api_key="sk-test"))
        desc = await described.describe(png, "What is on the slide?")
        await described.aclose()
    finally:
        await vision.server.aclose()
    assert desc.text == "A slide titled with revenue. Text on screen: QUARTERLY REVENUE"
    [asked] = vision.asked
    assert asked["auth"] == "Bearer sk-test" and asked["body"]["model"] == "llava"
    content = asked["body"]["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is on the slide?"}
    image = content[1]["image_url"]["url"]
    assert image.startswith("data:image/png;base64,")
    assert base64.b64decode(image.split(",", 1)[1]) == png.read_bytes()


async def test_a_failing_vision_model_leaves_the_text_on_screen(tmp_path: Path) -> None:
    clip = captioned_clip(tmp_path / "clip.ts", "NEXT YEAR BUDGET")
    png = await grab_frame(clip, 0.5, tmp_path / "f.png")
    vision = FakeVision(status=503)
    await vision.server.start()
    try:
        described = Describer(Settings(vision_url=f"{vision.server.url}/v1"))
        desc = await described.describe(png, None)
        await described.aclose()
    finally:
        await vision.server.aclose()
    assert desc.text == "Text on screen: NEXT YEAR BUDGET" and desc.model is None
    assert desc.warning is not None and "503" in desc.warning
    assert vision.asked[0]["body"]["messages"][0]["content"][0]["text"] == "Describe the scene"
