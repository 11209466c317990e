"""PulseAudio: the shared daemon, and one null sink per bot whose monitor ffmpeg records."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import statistics
from pathlib import Path
from types import TracebackType

import pulsectl

from bot.audio_threads import to_realtime
from bot.leases import Lease, process_alive
from core.aio import cleanup_step, die_with_parent
from core.errors import RecordingError

log = logging.getLogger("meetbot.audio")

KEEPALIVE = "meetbot-keepalive"
"""The client name of the sink's keep-alive stream (pacat playing zeros)."""
PULSE_RT_PRIORITY = 6
"""Above its sink threads (5, its default): they consume what the main thread takes in."""


def pulse_server(runtime_path: Path) -> str:
    return f"unix:{runtime_path}/native"


def _can_connect(server: str) -> bool:
    try:
        with pulsectl.Pulse("meetbot-probe", server=server, connect=True):
            return True
    except pulsectl.PulseError:
        return False


async def ensure_pulse_daemon(runtime_path: Path, *, timeout: float = 10.0, realtime: bool = False) -> str:
    """Return the server address of a running PulseAudio daemon, starting one if none answers.

    The daemon is shared by every bot on the machine (like the X server would be on a desktop);
    each bot only ever touches its own sink. ``realtime``: its main thread, which takes in what
    every stream writes, on SCHED_RR like its sink threads (bot/audio_threads.py).
    """
    server = pulse_server(runtime_path)
    if await asyncio.to_thread(_can_connect, server):
        if realtime:
            _main_thread_realtime(runtime_path)
        return server
    if shutil.which("pulseaudio") is None:
        raise RecordingError("pulseaudio is not installed (run scripts/setup.sh)")
    runtime_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _remove_stale_pid_file(runtime_path)
    env = dict(os.environ, PULSE_RUNTIME_PATH=str(runtime_path))
    proc = await asyncio.create_subprocess_exec(
        "pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "--disallow-exit",
        "--use-pid-file=yes", f"--log-target=file:{runtime_path}/pulse.log",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(_can_connect, server):
            log.info("pulseaudio daemon started", extra={"server": server})
            if realtime:
                _main_thread_realtime(runtime_path)
            return server
        await asyncio.sleep(0.1)
    raise RecordingError(f"PulseAudio did not start: {err.decode(errors='replace').strip()[-300:]}")


def _main_thread_realtime(runtime_path: Path) -> None:
    try:
        pid = int((runtime_path / "pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        if to_realtime(pid, PULSE_RT_PRIORITY):
            log.info("pulseaudio's main thread on SCHED_RR",
                     extra={"pid": pid, "priority": PULSE_RT_PRIORITY})
    except PermissionError as exc:
        log.warning("pulseaudio's main thread stays on the normal scheduler (real-time needs "
                    "CAP_SYS_NICE): a loaded machine may cut holes in the sound", extra={"error": str(exc)})


def _remove_stale_pid_file(runtime_path: Path) -> None:
    """A daemon that died (killed, crashed) leaves its pid file, and a new one refuses to start
    while that pid exists ("Daemon already running"): as a zombie it does, forever where PID 1
    does not reap. Dead or a zombie, it is no daemon."""
    pid_file = runtime_path / "pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if not process_alive(pid):
        pid_file.unlink(missing_ok=True)
        log.warning("stale pulseaudio pid file removed", extra={"pid": pid})


class AudioSink:
    """A null sink for one bot. Chromium plays into it (PULSE_SINK); ffmpeg records its monitor.

    A silent client is kept playing into the sink: an idle sink's monitor delivers its first
    samples late (seen up to 1.8 s), which would start the recording's audio late.
    """

    def __init__(self, *, runtime_path: Path, lease_dir: Path, name: str | None = None,
                 realtime: bool = False) -> None:
        self.runtime_path = runtime_path
        self._realtime = realtime
        self.lease_dir = lease_dir
        self.name = name or f"meetbot_{secrets.token_hex(4)}"
        self.server = pulse_server(runtime_path)
        self._module: int | None = None
        self._keeper: asyncio.subprocess.Process | None = None
        self._lease: Lease | None = None

    @property
    def monitor(self) -> str:
        return f"{self.name}.monitor"

    def client_env(self, *, latency_ms: int = 0) -> dict[str, str]:
        """Environment that sends a PulseAudio client's playback to this sink; ``latency_ms``:
        the latency its streams ask for instead of their own (0: their own)."""
        env = {"PULSE_SERVER": self.server, "PULSE_SINK": self.name,
               "PULSE_RUNTIME_PATH": str(self.runtime_path)}
        if latency_ms:
            env["PULSE_LATENCY_MSEC"] = str(latency_ms)
        return env

    async def __aenter__(self) -> AudioSink:
        self.server = await ensure_pulse_daemon(self.runtime_path, realtime=self._realtime)
        args = (f"sink_name={self.name} rate=48000 channels=2 "
                f"sink_properties=device.description={self.name}")
        try:
            self._module = await asyncio.to_thread(self._load, args)
        except pulsectl.PulseError as exc:
            raise RecordingError(f"could not create the bot's audio sink: {exc}") from exc
        self._lease = Lease(self.lease_dir, "sink", name=self.name)
        try:
            await self._keep_alive()
        except BaseException:
            await self.aclose()
            raise
        log.info("audio sink created", extra={"sink": self.name, "module_index": self._module})
        return self

    async def _keep_alive(self) -> None:
        zeros = os.open("/dev/zero", os.O_RDONLY)
        try:
            self._keeper = await asyncio.create_subprocess_exec(
                "pacat", "--playback", f"--device={self.name}", "--raw", "--format=s16le",
                "--rate=48000", "--channels=2", f"--client-name={KEEPALIVE}",
                stdin=zeros, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, env=dict(os.environ, **self.client_env()),
                preexec_fn=die_with_parent,
            )
        finally:
            os.close(zeros)

    async def restore(self) -> bool:
        """After PulseAudio died under the bot (killed, crashed, restarted by someone): the daemon
        running again and this sink in it, under the same name (Chromium's PULSE_SINK, ffmpeg's
        monitor). True when it had to be created again; False when it was still there."""
        self.server = await ensure_pulse_daemon(self.runtime_path, realtime=self._realtime)
        try:
            if await asyncio.to_thread(self._exists):
                if self.lost:
                    await self._keep_alive()
                return False
            args = (f"sink_name={self.name} rate=48000 channels=2 "
                    f"sink_properties=device.description={self.name}")
            self._module = await asyncio.to_thread(self._load, args)
        except pulsectl.PulseError as exc:
            raise RecordingError(f"could not create the bot's audio sink again: {exc}") from exc
        keeper = self._keeper
        if keeper is not None and keeper.returncode is None:
            keeper.kill()  # it played into the sink that is gone
            await keeper.wait()
        await self._keep_alive()
        log.warning("audio sink created again (PulseAudio restarted)",
                    extra={"sink": self.name, "module_index": self._module})
        return True

    @property
    def lost(self) -> bool:
        """The keep-alive client has exited: PulseAudio went away (it never exits by itself)."""
        return self._keeper is not None and self._keeper.returncode is not None

    def _exists(self) -> bool:
        with pulsectl.Pulse("meetbot", server=self.server) as pulse:
            return any(s.name == self.name for s in pulse.sink_list())

    def _load(self, args: str) -> int:
        with pulsectl.Pulse("meetbot", server=self.server) as pulse:
            return int(pulse.module_load("module-null-sink", args))

    def _unload(self, module: int) -> None:
        # By index: "pactl unload-module module-null-sink" would remove every bot's sink.
        with pulsectl.Pulse("meetbot", server=self.server) as pulse:
            pulse.module_unload(module)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper.returncode is None:
            keeper.send_signal(signal.SIGTERM)
            await cleanup_step("stop pacat", keeper.wait(), 5)
        module, self._module = self._module, None
        if module is not None:
            await cleanup_step("unload sink", asyncio.to_thread(self._unload, module), 5)
            if self._lease is not None:
                self._lease.release()
            log.info("audio sink removed", extra={"sink": self.name})

    async def sink_inputs(self) -> list[dict[str, str]]:
        """Streams currently playing into this sink (for checking Chromium's routing)."""

        def _list() -> list[dict[str, str]]:
            with pulsectl.Pulse("meetbot", server=self.server) as pulse:
                sinks = {s.index: s.name for s in pulse.sink_list()}
                return [dict(si.proplist) for si in pulse.sink_input_list()
                        if sinks.get(si.sink) == self.name]

        return await asyncio.to_thread(_list)

    async def input_latency(self) -> float | None:
        """What PulseAudio says the sound played into this sink waits before the sink has it
        (seconds: the median over its streams of their buffered time plus the sink's own; our
        keep-alive's second of zeros left out); None with no stream playing. It grows when a
        client underruns under load, and shrinks again."""

        def _read() -> float | None:
            with pulsectl.Pulse("meetbot", server=self.server) as pulse:
                ours = {s.index for s in pulse.sink_list() if s.name == self.name}
                waits = [(si.buffer_usec + si.sink_usec) / 1e6 for si in pulse.sink_input_list()
                         if si.sink in ours and not si.corked
                         and si.proplist.get("application.name") != KEEPALIVE]
            return statistics.median(waits) if waits else None

        try:
            return await asyncio.to_thread(_read)
        except pulsectl.PulseError:
            return None
