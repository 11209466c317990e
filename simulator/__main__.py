"""python -m simulator --port 9001 --scenario PATH [--scenario PATH ...]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from simulator.server import MEET_ORIGIN, SimulatorServer

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo-meet.yaml"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulator", description="Serve simulated meetings.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9001, help="0 picks a free port")
    p.add_argument("--scenario", action="append", type=Path, metavar="PATH",
                   help="scenario YAML; repeatable (default: the bundled demo)")
    p.add_argument("--cache-dir", type=Path, default=None, help="where synthesized speech is kept")
    return p.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    scenarios = args.scenario or [DEMO_SCENARIO]
    async with SimulatorServer(scenarios, host=args.host, port=args.port,
                               cache_dir=args.cache_dir) as sim:
        print(f"simulator listening on {sim.url}", flush=True)
        for code, meeting in sim.registry.meetings.items():
            sc = meeting.scenario
            if sc.platform == "meet":
                print(f"  {sim.meeting_url(code)}   (as {MEET_ORIGIN}/{code} when routed)", flush=True)
            else:
                print(f"  {sc.platform}: {sc.public_url()}   (route its hosts to {sim.url})", flush=True)
        print("Ctrl-C to stop", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parse(argv)))


if __name__ == "__main__":
    main()
