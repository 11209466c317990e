"""Settings: the only place that reads the environment (prefix ``MEETBOT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def parse_host_overrides(raw: str | dict[str, str] | None) -> dict[str, str]:
    """``"meet.google.com=http://127.0.0.1:9001,x.y=http://h:2"`` -> ``{host: origin}``."""
    if not raw:
        return {}
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        items = []
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            host, sep, origin = part.partition("=")
            if not sep or not host.strip() or not origin.strip():
                raise ValueError(f"host override {part!r} is not of the form host=origin")
            items.append((host, origin))
    out: dict[str, str] = {}
    for host, origin in items:
        origin = origin.strip().rstrip("/")
        if not origin.startswith(("http://", "https://")):
            raise ValueError(f"host override origin {origin!r} must start with http:// or https://")
        out[host.strip().lower()] = origin
    return out


class Settings(BaseSettings):
    """Worker configuration. Every field can be set as ``MEETBOT_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="MEETBOT_", extra="ignore")

    chromium_path: Path = Path("/usr/bin/chromium")
    """Chromium binary; Debian's package, since Playwright cannot download its own build here."""

    host_overrides: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Serve every browser request for a listed host from another origin (tests, demo, rehearsals).
    Production leaves it empty."""

    output_dir: Path = Path("recordings")
    """Root of the local store when a job names no output directory (one sub-folder per meeting)."""

    video_width: int = Field(1280, ge=320, le=3840)
    video_height: int = Field(720, ge=240, le=2160)
    video_fps: int = Field(15, ge=1, le=60)
    x264_preset: str = "veryfast"
    """veryfast keeps 2 bots per 2 cores at 720p15; ultrafast fits 3 (see docs/media notes)."""
    audio_bitrate: str = "128k"
    audio_delay_ms: float = Field(25.0, ge=0, le=500)
    """The recording's sound is delayed this much to match the picture: Chromium draws a page change
    on the virtual display about a compositor frame or two after the sound leaves it. Measured by
    benchmarks/variants.py (the A/V offset of its sync marker); 0 keeps the raw capture times."""
    segment_seconds: int = Field(2, ge=1, le=10)
    """HLS segment length: at most this much media is lost if the worker is killed."""

    runtime_dir: Path = Path("/tmp/meetbot")
    """Leases on the display and sink of each running bot, so a killed bot's leftovers get reaped."""
    pulse_runtime_path: Path = Path("/tmp/meetbot-pulse")
    """Where the PulseAudio daemon's socket lives; started by the bot if none answers there."""

    join_timeout: float = 120.0
    """Seconds from page load until the bot is in the call or in the waiting room."""
    leave_timeout: float = 10.0
    ffmpeg_stop_timeout: float = 15.0
    data_dir: Path = Path("data")
    """Durable state: the callback outbox (``data_dir/outbox``). Must survive restarts."""

    webhook_secret: SecretStr | None = None
    """``whsec_...``: sign callbacks by the Standard Webhooks spec. Unsigned when unset."""
    allow_private_urls: str = ""
    """SSRF guard for callback_url and bot_image_url: ``1`` allows any address, or a comma list of
    CIDRs allowed although private (loopback, link-local, private and multicast are refused)."""
    callback_timeout: float = Field(10.0, gt=0)
    """Seconds for one delivery attempt."""
    callback_retry_base_delay: float = Field(5.0, gt=0)
    callback_retry_max_delay: float = Field(1800.0, gt=0)
    callback_retry_window: float = Field(86400.0, gt=0)
    """No attempt starts after this many seconds; then the delivery is a dead letter."""
    callback_retry_jitter: float = Field(0.5, ge=0, le=1)
    callback_grace: float = Field(30.0, ge=0)
    """How long a finished job keeps trying its callback before leaving it to the outbox
    (``meetbot callbacks deliver``): the worker never waits hours on a receiver."""
    callback_status_grace: float = Field(10.0, ge=0)

    speaker_merge_gap: float = 0.3
    stuck_signal_silence: float = Field(3.0, gt=0)
    """A speaker shown speaking while the bot's own audio has been silent this long is a stuck
    signal: logged, cut where the sound stopped, and reported in the callback's warnings."""
    """Speaking flickers of one speaker shorter than this are merged into one interval."""

    log_level: str = "INFO"
    log_json: bool = False

    # -- the API server (``meetbot serve``) ---------------------------------------------------
    api_keys: str = ""
    """Comma-separated keys accepted in ``x-access-token``; without any, every API call is 401."""
    max_bots: int = Field(1, ge=1, le=64)
    """Bots one embedded server runs at once; further requests queue (status ``initializing``)."""
    redis_url: str | None = None
    """When set, ``serve`` hands jobs to ``meetbot worker`` consumers instead of running bots."""
    public_url: str | None = None
    """Base URL the server is reached at (player and stream URLs); default ``http://host:port``.
    The server passes it to its bots, which then put http URLs in their callbacks."""
    status_db: Path | None = None
    """SQLite status store a bot reports its phases and result to; set by ``serve`` for its bots,
    default ``<data_dir>/meetbot.db`` for the server itself."""

    launcher: Literal["auto", "kubernetes"] = "auto"
    """``auto``: bots run in-process (embedded) or by ``meetbot worker`` (with MEETBOT_REDIS_URL).
    ``kubernetes``: ``serve`` submits one Job per meeting (needs MEETBOT_REDIS_URL for the store)."""
    kube_namespace: str = "default"
    kube_image: str = "meetbot:latest"

    # -- queue consumers (``meetbot worker``) -------------------------------------------------
    bots_per_worker: int = Field(1, ge=1, le=16)
    """Meetings one worker records at once, each in its own bot process."""
    heartbeat_interval: float = Field(10.0, gt=0)
    heartbeat_ttl: float = Field(30.0, gt=0)
    """A meeting whose worker has not renewed its heartbeat this long is failed as worker_lost."""
    reap_interval: float = Field(15.0, gt=0)
    bot_command: list[str] | None = None
    """The bot process command (default ``python -m bot run``); tests swap in a stand-in."""

    @field_validator("host_overrides", mode="before")
    @classmethod
    def _parse_overrides(cls, v: object) -> dict[str, str]:
        if v is None or isinstance(v, str | dict):
            return parse_host_overrides(v)
        raise ValueError("host_overrides must be a string or a mapping")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
