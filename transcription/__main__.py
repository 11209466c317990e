"""``python -m transcription MEDIA OUT.json``: transcribe in a process of its own.
``python -m transcription --serve``: stay up and transcribe one request per stdin line.

How bots and the server run transcription: a separate process (started at a lower priority),
so a long transcription never takes a recording's CPU or memory, and a crash in the engine costs
only the transcript. The serving form keeps the engine's model loaded between requests (live
indexes send a window every few seconds; starting a process and loading the model costs 1.2 s).
Each request is a JSON line ``{"media": ..., "out": ...}``; each answer a JSON line
``{"ok": true}`` or ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from core.settings import get_settings
from transcription import open_engine
from transcription.engine import Engine


async def transcribe_to(engine: Engine, media: Path, out: Path) -> None:
    words = await engine.transcribe(media)
    out.write_text(json.dumps({"engine": engine.name, "words": [w.model_dump() for w in words]}))


async def main(media: Path, out: Path) -> int:
    await transcribe_to(open_engine(get_settings()), media, out)
    return 0


async def serve() -> int:
    engine = open_engine(get_settings())
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        try:
            request = json.loads(line)
            await transcribe_to(engine, Path(request["media"]), Path(request["out"]))
            answer: dict[str, object] = {"ok": True}
        except Exception as exc:  # one bad request must not take the worker down
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(asyncio.run(serve()))
    if len(sys.argv) != 3:
        print("usage: python -m transcription MEDIA OUT.json | --serve", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]))))
