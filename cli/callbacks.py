"""``meetbot callbacks ...``: look at the outbox, send what is due, redeliver dead letters.

Also runs alone: ``python -m cli.callbacks deliver --outbox DIR``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from callbacks.delivery import Deliverer, DeliveryReport
from callbacks.factory import build_deliverer
from callbacks.factory import outbox as webhook_outbox
from callbacks.outbox import Delivery, Outbox, State
from callbacks.signing import SecretError
from core import log as botlog
from core.settings import get_settings

T = TypeVar("T")
app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Webhook callbacks: the outbox of deliveries not yet delivered.")

OutboxOpt = Annotated[Path | None, typer.Option(
    "--outbox", help="Outbox directory [default: $MEETBOT_DATA_DIR/outbox]")]
WindowOpt = Annotated[float | None, typer.Option(
    "--window", min=0.001, help="Seconds a redelivery may retry [default: the configured window]")]


def _outbox(path: Path | None) -> Outbox:
    return Outbox(path) if path else webhook_outbox(get_settings())


def _deliverer(window: float | None = None) -> Deliverer:
    try:
        return build_deliverer(get_settings(), window=window)
    except (SecretError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc


def _run(main: Awaitable[T]) -> T:
    async def runner() -> T:
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Stop at once: an interrupted attempt is simply not recorded, the delivery stays pending.
            asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
        return await main

    botlog.configure(get_settings().log_level)
    try:
        return asyncio.run(runner())
    except asyncio.CancelledError:
        raise typer.Exit(130) from None


def _line(d: Delivery | DeliveryReport) -> str:
    attempts = d.attempts
    last = attempts[-1] if attempts else None
    seen = "-" if last is None else (str(last.status_code) if last.status_code else (last.error or "?")[:40])
    state = d.state.value if d.state else "?"
    when = ""
    if d.state is State.PENDING and d.next_attempt_at is not None:
        when = f"next in {max(0.0, d.next_attempt_at - time.time()):.0f}s"
    elif d.reason is not None:
        when = f"{d.reason.value}: {d.detail or ''}"
    return f"{d.id}  {state:<9} {d.event:<13} attempts={len(attempts):<3} last={seen:<8} {when}"


@app.command("list")
def list_(outbox: OutboxOpt = None,
          delivered: Annotated[bool, typer.Option(help="Also list delivered ones")] = False) -> None:
    """Pending deliveries and dead letters."""
    box = _outbox(outbox)
    states = [State.PENDING, State.DEAD] + ([State.DELIVERED] if delivered else [])
    rows = [d for s in states for d in box.entries(s)]
    for d in rows:
        typer.echo(f"{_line(d)}  {d.meeting_id}")
    typer.echo(f"{len(rows)} deliveries in {box.root}", err=True)


@app.command()
def deliver(outbox: OutboxOpt = None,
            watch: Annotated[bool, typer.Option(help="Keep running and deliver as things fall due")] = False,
            poll: Annotated[float, typer.Option(help="Seconds between outbox scans with --watch")] = 1.0,
            ) -> None:
    """Send what is due (one pass), or keep sending with --watch."""
    box = _outbox(outbox)

    async def main() -> list[DeliveryReport]:
        async with _deliverer() as dl:
            return await dl.run_pending(box, once=not watch, poll_interval=poll)

    for r in _run(main()):
        typer.echo(_line(r))


@app.command()
def redeliver(ids: Annotated[list[str] | None, typer.Argument(show_default=False)] = None,
              all_dead: Annotated[bool, typer.Option("--all-dead")] = False,
              outbox: OutboxOpt = None, window: WindowOpt = None) -> None:
    """Move dead letters back to pending (fresh window, same webhook-id) and deliver them now."""
    box = _outbox(outbox)
    chosen = [d.id for d in box.entries(State.DEAD)] if all_dead else list(ids or [])
    if not chosen:
        raise typer.BadParameter("name delivery ids or pass --all-dead")
    for i in chosen:
        found = box.get(i)
        if found is None or found.state is State.DELIVERED:
            raise typer.BadParameter(f"{i}: {'no such delivery' if found is None else 'already delivered'}")

    async def main() -> list[DeliveryReport]:
        async with _deliverer(window) as dl:
            return await dl.redeliver(chosen, box)

    reports = _run(main())
    for r in reports:
        typer.echo(_line(r))
    if not all(r.delivered for r in reports):
        raise typer.Exit(1)


@app.command()
def prune(outbox: OutboxOpt = None,
          older_than: Annotated[float, typer.Option(help="Hours since delivery")] = 24 * 7) -> None:
    """Remove delivered entries older than --older-than hours."""
    typer.echo(f"removed {_outbox(outbox).prune_delivered(older_than * 3600)}")


if __name__ == "__main__":
    app()
