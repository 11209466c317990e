"""``python -m transcription MEDIA OUT.json``: transcribe in a process of its own.

How bots and the server run transcription: a separate process (started at a lower priority),
so a long transcription never takes a recording's CPU or memory, and a crash in the engine costs
only the transcript.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from core.settings import get_settings
from transcription import open_engine


async def main(media: Path, out: Path) -> int:
    engine = open_engine(get_settings())
    words = await engine.transcribe(media)
    out.write_text(json.dumps({"engine": engine.name, "words": [w.model_dump() for w in words]}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m transcription MEDIA OUT.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]))))
