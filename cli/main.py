"""The ``meetbot`` command."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.main import run_job, summary
from cli.callbacks import app as callbacks_app
from core import log as botlog
from core.errors import JobError
from core.job import Job
from core.lifecycle import Status
from core.outcomes import Outcome
from core.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Self-hosted meeting bot.")
VERSION = "0.1.0"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"meetbot {VERSION}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    """meetbot: join a meeting as a branded guest, record it, build a speaker timeline, call back."""


def _load_json_object(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobError(Outcome.INVALID_JOB, f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise JobError(Outcome.INVALID_JOB, f"{source} must be a JSON object")
    return data


def _job_from_cli(job_file: Path | None, fields: dict[str, Any]) -> Job:
    """The job from --job or MEETBOT_JOB, with command-line fields taking precedence."""
    raw: dict[str, Any] = {}
    if job_file is not None:
        try:
            text = job_file.read_text()
        except OSError as exc:
            raise JobError(Outcome.INVALID_JOB, f"cannot read job file {job_file}: {exc}") from exc
        raw = _load_json_object(text, str(job_file))
    elif os.environ.get("MEETBOT_JOB"):
        raw = _load_json_object(os.environ["MEETBOT_JOB"], "MEETBOT_JOB")
    return Job.parse({**raw, **fields})


@app.command()
def run(
    meeting_url: Annotated[str | None, typer.Option(help="Google Meet link.")] = None,
    bot_name: Annotated[str | None, typer.Option(help="Name the bot joins with.")] = None,
    bot_image_url: Annotated[str | None, typer.Option(help="PNG or JPEG shown as the bot's camera.")] = None,
    meeting_title: Annotated[str | None, typer.Option()] = None,
    callback_url: Annotated[str | None, typer.Option(help="Receives the result as JSON.")] = None,
    callback_data: Annotated[str | None, typer.Option(help="JSON object echoed in the callback.")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Local store for this recording.")] = None,
    max_duration: Annotated[float | None, typer.Option(help="Seconds of recording at most.")] = None,
    waiting_room_timeout: Annotated[float | None, typer.Option(help="Seconds in the lobby at most.")] = None,
    everyone_left_timeout: Annotated[float | None, typer.Option(help="Seconds alone before leaving.")] = None,
    noone_joined_timeout: Annotated[float | None, typer.Option(help="Seconds for anyone to join.")] = None,
    silence_timeout: Annotated[float | None, typer.Option(help="Seconds of silence before leaving.")] = None,
    status_events: Annotated[bool, typer.Option(
        "--status-events", help="Also POST a status_change event at every phase change.")] = False,
    transcribe: Annotated[bool, typer.Option(
        "--transcribe", help="Transcribe after the meeting, each word given to its speaker.")] = False,
    live_transcript: Annotated[bool, typer.Option(
        "--live-transcript", help="Transcribe while the meeting is on: transcript.data events.")] = False,
    transcript_events: Annotated[bool, typer.Option(
        "--transcript-events", help="POST each transcript.data event to the callback URL.")] = False,
    read_chat: Annotated[bool, typer.Option(
        "--read-chat", help="Read the meeting's chat: chat_messages, chat.message events.")] = False,
    chat_on_join: Annotated[str | None, typer.Option(
        help="A message to post in the chat once admitted (a recording notice).")] = None,
    transcript_source: Annotated[str | None, typer.Option(
        help="Where the transcript comes from: local, captions (the platform's own) or both.")] = None,
    captions_language: Annotated[str | None, typer.Option(
        help="The captions' language (BCP 47), where the platform lets a guest choose.")] = None,
    audio_only: Annotated[bool, typer.Option(
        "--audio-only", help="Record the sound only: no screen capture or video encode.")] = False,
    video_size: Annotated[str | None, typer.Option(help="Capture size WxH (default 1280x720).")] = None,
    fps: Annotated[int | None, typer.Option(help="Capture frame rate (default 15).")] = None,
    join_at: Annotated[str | None, typer.Option(
        help="When to be in the meeting: Unix seconds or ISO 8601 with a zone.")] = None,
    job: Annotated[Path | None, typer.Option("--job", help="A JSON job file (or env MEETBOT_JOB).")] = None,
) -> None:
    """Record one meeting to completion in this process. Exit 0 when done, 1 when failed."""
    settings = get_settings()
    botlog.configure(settings.log_level, settings.log_json)
    fields: dict[str, Any] = {
        k: v for k, v in dict(
            meeting_url=meeting_url, bot_name=bot_name, bot_image_url=bot_image_url,
            meeting_title=meeting_title, callback_url=callback_url, output_dir=output_dir,
            max_duration=max_duration, waiting_room_timeout=waiting_room_timeout,
            everyone_left_timeout=everyone_left_timeout, noone_joined_timeout=noone_joined_timeout,
            silence_timeout=silence_timeout, status_events=status_events or None,
            transcribe=transcribe or None, live_transcript=live_transcript or None,
            transcript_events=transcript_events or None, transcript_source=transcript_source,
            read_chat=read_chat or None, chat_on_join=chat_on_join,
            captions_language=captions_language, audio_only=audio_only or None, video_fps=fps,
            join_at=join_at,
        ).items() if v is not None
    }
    try:
        if video_size is not None:
            try:
                w, h = (int(x) for x in video_size.lower().split("x"))
            except ValueError as exc:
                raise JobError(Outcome.INVALID_JOB, f"--video-size is not WxH: {video_size}") from exc
            fields.update(video_width=w, video_height=h)
        if callback_data is not None:
            try:
                fields["callback_data"] = json.loads(callback_data)
            except json.JSONDecodeError as exc:
                raise JobError(Outcome.INVALID_JOB, f"--callback-data is not JSON: {exc}") from exc
        the_job = _job_from_cli(job, fields)
        if the_job.join_at is not None and the_job.join_at - time.time() > settings.join_at_horizon:
            raise JobError(Outcome.INVALID_JOB, f"join_at is more than "
                           f"{settings.join_at_horizon / 86400:g} days ahead (MEETBOT_JOIN_AT_HORIZON)")
    except JobError as exc:
        typer.echo(f"meetbot: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    result = asyncio.run(run_job(the_job, settings))
    typer.echo(summary(result, the_job, settings))
    raise typer.Exit(0 if result.status is Status.DONE else 1)


@app.command()
def worker() -> None:
    """Consume recording jobs from Redis (MEETBOT_REDIS_URL): each meeting in its own bot process."""
    from server.launchers.queue import build_worker

    settings = get_settings()
    botlog.configure(settings.log_level, settings.log_json)
    try:
        build_worker(settings).run()
    except ValueError as exc:
        typer.echo(f"meetbot: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def recover(
    output_dir: Annotated[Path, typer.Argument(help="The output directory of a killed job.")],
) -> None:
    """Turn the segments a killed job had stored into recording.mp4 (at most one segment is lost)."""
    from media.ffmpeg import probe
    from media.hls import close_playlist, remux_to_mp4

    playlist = output_dir / "hls" / "playlist.m3u8"
    if not playlist.exists():
        typer.echo(f"meetbot: no stored segments under {output_dir}", err=True)
        raise typer.Exit(2)
    close_playlist(playlist)
    mp4 = output_dir / "recording.mp4"
    asyncio.run(remux_to_mp4(playlist, mp4))
    info = asyncio.run(probe(mp4))
    typer.echo(json.dumps({"recording": str(mp4), "duration": float(info["format"]["duration"])}))


@app.command()
def demo(
    output_dir: Annotated[Path, typer.Option(help="Where the recording goes.")] = Path("recordings/demo"),
    platform: Annotated[str, typer.Option(help="meet, zoom or teams: which bundled meeting.")] = "meet",
) -> None:
    """Record a bundled ~30 s three-speaker simulated meeting (Google Meet by default), end to end."""
    from cli.demo import SCENARIOS
    from cli.demo import main as demo_main

    if platform not in SCENARIOS:
        typer.echo(f"meetbot: --platform must be one of {', '.join(SCENARIOS)}", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    botlog.configure(settings.log_level, settings.log_json)
    sys.exit(asyncio.run(demo_main(output_dir, SCENARIOS[platform])))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """The VideoDB-compatible HTTP API; without MEETBOT_REDIS_URL it runs the bots itself."""
    from server.main import serve as serve_main

    settings = get_settings()
    botlog.configure(settings.log_level, settings.log_json)
    sys.exit(asyncio.run(serve_main(settings, host=host, port=port)))


app.add_typer(callbacks_app, name="callbacks")


def main() -> None:
    app()
