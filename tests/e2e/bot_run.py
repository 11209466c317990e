"""Running the real `meetbot run` against the simulator, and checking its outputs against truth."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

import psutil
import standardwebhooks

from callbacks.receiver import CallbackReceiver
from core.aio import bounded
from simulator.measure import audio_samples, av_offsets, heard_errors
from simulator.urls import ROUTED_HOSTS
from tests.conftest import meetbot_cmd, meetbot_env
from tests.helpers import AudioTrack, ffprobe, stream

BOT = "Acme Notetaker"
NO_SELFTEST = {"MEETBOT_AV_SELFTEST": "false"}
"""For the cases that check how a job ends, not how its sound and picture line up: the A/V
self-test (5 s of each run) comes before joining and decides nothing of the outcome; its stop and
deadline paths are tested in test_meet_recording, its figures wherever a recording is measured."""

AV_BOUND_S, AV_MARKER_BOUND_S = 0.045, 0.075
"""How far apart a recording's sound and picture may be, read from the decoded MP4 against the
simulator's sync marker: the median of its voice onsets within the 45 ms a viewer notices (ITU-R
BT.1359), each onset within 75 ms (an element's start is dated from its ``currentTime``, which
moves in steps: one run's onsets spread 40 ms). Measured on an idle machine, 3 runs of each path
on Meet: -32..+20 ms per run; it had been 120 ms while the picture's time was rounded to the
encoder's 1/fps grid and an ``<audio>`` playing a MediaStream was corrected as a context."""
HEARD_MEDIAN_S, HEARD_MAX_S, HEARD_END_MAX_S = 0.03, 0.1, 0.2
"""How far a turn's start (end, where the page shows ends) may be from its voice's onset (release)
in the decoded recording: issue 18's median and, for a recording's few turns, about its p95. An
end may be further: a voice's tail between the bot's silence threshold (-50 dB) and the measure's
(-42 dB) lasts up to ~160 ms after Opus (measured: 163 ms once in 13 recordings, under 41 ms in
the others)."""

BUSY_AV_BOUND_S, BUSY_AV_MARKER_BOUND_S, BUSY_HEARD_END_MAX_S = 0.1, 0.2, 0.35
"""The bounds where the host had no headroom while the bot ran (``busy``): the figures above
are the product's on a machine that keeps up (and issue 18's benchmark measures them there); on
the CI host, which steals CPU, a run's offsets came to -38..-87 ms by median and -158 ms for one
onset, an end 215 ms early. These still catch the defects seen so far (a 1/fps rounding: 120 ms; a
4096-frame output buffer: 270-360 ms; a missing correction on an element path: 51-74 ms each)."""
CALM_STOLEN_CORES, CALM_IDLE_CORES = 0.05, 0.8
"""A run had headroom if the hypervisor took under 5 % of a core and at least 0.8 of the 2 cores
stayed idle (one bot uses 0.8-1.0; measured here: 0-0.05 stolen, 0.98-1.21 idle)."""


def meeting_code(platform: str) -> str:
    """A fresh meeting code of the platform's shape: each case a meeting of its own."""
    pick = lambda n: "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))  # noqa: E731
    return {"meet": f"{pick(3)}-{pick(4)}-{pick(3)}",
            "teams": str(9_300_000_000_000 + secrets.randbelow(99_999_999_999)),
            "zoom": str(81_000_000_000 + secrets.randbelow(999_999_999))}[platform]


async def run_signed(sim: Any, sc: Any, out: Path, *extra: str, secret: str,
                     env: dict[str, str] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """``run_bot`` on ``sc`` with its webhooks signed by ``secret``: the result's body, the live
    events verified and in arrival order (each with ``_at``, when it arrived), when the result came."""
    await sim.add_scenario(sc)
    async with CallbackReceiver() as rx:
        rc, log = await run_bot(sim, rx, sc.public_url(), out, *extra,
                                env={**(env or {}), "MEETBOT_WEBHOOK_SECRET": secret})
        assert rc == 0, log[-3000:]
        await rx.wait_for(1, timeout=10)
        received = rx.events()
    [result] = [r for r in received if "success" in r.json()]
    events = [standardwebhooks.Webhook(secret).verify(r.body, r.headers) | {"_at": r.at}
              for r in received if "success" not in r.json()]
    return result.json(), events, result.at


def host_of(out: Path) -> dict[str, float]:
    """What the kernel said of the machine while run_bot ran the bot ({}: run otherwise)."""
    try:
        return json.loads((out.parent / f"{out.name}.host.json").read_text())
    except (OSError, ValueError):
        return {}


def busy(host: dict[str, float]) -> bool:
    """Whether the host had no headroom while the bot ran."""
    return bool(host) and not (host["cores_stolen"] < CALM_STOLEN_CORES
                               and host["cores_idle"] >= CALM_IDLE_CORES)


def overrides(sim: Any) -> str:
    return ",".join(f"{host}={sim.url}" for host in ROUTED_HOSTS)


async def run_bot(sim: Any, rx: CallbackReceiver, url: str, out: Path, *extra: str,
                  image: str | None = None, on_start: Any = None,
                  env: dict[str, str] | None = None, timeout: float = 180) -> tuple[int, str]:
    cmd = [*meetbot_cmd(), "run", "--meeting-url", url,
           "--bot-name", BOT, "--meeting-title", "Design review", "--callback-url", rx.url,
           "--callback-data", json.dumps({"crm_id": 42}), "--output-dir", str(out), *extra]
    if image:
        cmd += ["--bot-image-url", image]
    host_before = psutil.cpu_times(), time.monotonic()
    full_env = meetbot_env(MEETBOT_HOST_OVERRIDES=overrides(sim), MEETBOT_LOG_LEVEL="INFO", **(env or {}))
    proc = await asyncio.create_subprocess_exec(*cmd, env=full_env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    lines: list[bytes] = []

    async def pump() -> None:
        assert proc.stdout
        async for line in proc.stdout:
            lines.append(line)

    reader = asyncio.create_task(pump())
    if on_start is not None:
        await on_start(proc)
    try:
        await bounded(proc.wait(), timeout)
        hung = False
    except TimeoutError:
        # Asked to leave as an operator would, so the log says where it was stuck.
        hung = True
        proc.terminate()
        try:
            await bounded(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    await reader
    text = b"".join(lines).decode(errors="replace")
    (out.parent / f"{out.name}.log").write_text(text)
    (out.parent / f"{out.name}.host.json").write_text(json.dumps(host_load(*host_before)))
    if hung:
        raise AssertionError(f"the bot was still running after {timeout} s:\n"
                             + "\n".join(text.splitlines()[-80:]))
    return proc.returncode or 0, text


def host_load(before: Any, since: float) -> dict[str, float]:
    """What the machine did while the bot ran, from the kernel's counters (a path the bot does not
    share): the cores the hypervisor took (steal) and the cores left idle."""
    now, span = psutil.cpu_times(), max(time.monotonic() - since, 1e-3)
    return {"cores_stolen": round((getattr(now, "steal", 0.0) - getattr(before, "steal", 0.0)) / span, 3),
            "cores_idle": round((now.idle - before.idle) / span, 3), "seconds": round(span, 1)}


def av_context(out: Path, truth: dict[str, Any], av: list[int], late: list[tuple[int, int]],
               host: dict[str, float]) -> str:
    """The offsets with what the bot measured and what the page said of its path: a CI failure
    has no files to look at afterwards."""
    try:
        timings = json.loads((out / "stats.json").read_text())["timings"]
    except (OSError, ValueError, KeyError):
        timings = {}
    figures = {k: v for k, v in timings.items()
               if k.startswith(("av_", "page_audio_", "sink_latency", "capture_sound"))}
    transit = [s.get("transit_ms") for s in truth.get("speech", [])]
    return (f"A/V offsets {av} ms (sound, picture after the page's flip: {late}); bot {figures}; "
            f"page transit {transit}; host {host}")


def check_recording(out: Path, body: dict[str, Any], truth: dict[str, Any], *,
                    ends_observable: bool = True, stuck: set[str] = frozenset()) -> list[float]:
    """The MP4, the timeline and the audio against ground truth; returns the start errors (s).

    ``ends_observable``: whether the platform shows when someone stops speaking (Zoom only shows
    who spoke last, so its intervals run to the next speaker). ``stuck``: speakers whose signal
    the page never switched off; their turns must end where their audio did (the bot's check of the
    page against the audio), within the silence detector's resolution.
    """
    mp4 = out / "recording.mp4"
    info = ffprobe(mp4)
    v, a = stream(info, "video"), stream(info, "audio")
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", 1280, 720)
    assert (a["codec_name"], int(a["sample_rate"])) == ("aac", 48000)
    in_call = truth["ended_at"] - truth["admitted_at"]
    duration = float(info["format"]["duration"])
    assert abs(duration - in_call) < 1.0, (duration, in_call)
    assert "#EXT-X-ENDLIST" in (out / "hls" / "playlist.m3u8").read_text()

    origin = body["recording_started_at"]
    timeline = body["data"]["speaker_timeline"]
    speech = truth["speech"]
    assert [s["speaker_name"] for s in timeline] == [s["speaker"] for s in speech], (timeline, speech)
    starts = [seg["start_time_seconds"] - (said["start"] - origin)
              for seg, said in zip(timeline, speech, strict=True)]
    assert max(abs(e) for e in starts) < 0.4, starts
    if ends_observable:
        ends = [seg["end_time_seconds"] - (said["end"] - origin)
                for seg, said in zip(timeline, speech, strict=True)]
        limits = [0.8 if said["speaker"] in stuck else 0.4 for said in speech]
        assert all(abs(e) < lim for e, lim in zip(ends, limits, strict=True)), ends

    # Sound and picture together, measured on the file alone: each voice onset against the marker
    # the page lit when its own clock said the voice starts.
    sound = audio_samples(mp4)
    offsets = av_offsets(mp4, truth, origin, sound=sound)
    heard = [said for said in speech if said.get("audible", True)]
    assert len(offsets) >= len(heard) - 1 >= 1, (offsets, truth.get("sync_flips"))
    av = [round(o.offset * 1000) for o in offsets]
    host = host_of(out)
    av_bound, marker_bound, end_bound = ((BUSY_AV_BOUND_S, BUSY_AV_MARKER_BOUND_S, BUSY_HEARD_END_MAX_S)
                                         if busy(host) else (AV_BOUND_S, AV_MARKER_BOUND_S, HEARD_END_MAX_S))
    if busy(host):
        print(f"the host had no headroom ({host}): A/V within {av_bound * 1000:.0f} ms by median, "
              f"{marker_bound * 1000:.0f} ms each; ends within {end_bound * 1000:.0f} ms")
    why = av_context(out, truth, av, [(round(o.audio_late * 1000), round(o.video_late * 1000))
                                      for o in offsets], host)
    print(why)
    assert abs(statistics.median(o.offset for o in offsets)) < av_bound, why
    assert max(abs(o.offset) for o in offsets) < marker_bound, why

    # The timeline as heard: each turn against the voice the recording has (decoded alone).
    h_starts, h_ends = heard_errors(mp4, timeline, truth, origin, sound=sound)
    print(f"heard: starts {[round(e * 1000) for e in h_starts]} ms, "
          f"ends {[round(e * 1000) for e in h_ends]} ms")
    assert len(h_starts) >= len(heard) - 1, (h_starts, speech)
    assert statistics.median(abs(e) for e in h_starts) <= HEARD_MEDIAN_S, h_starts
    assert max(abs(e) for e in h_starts) <= HEARD_MAX_S, h_starts
    if ends_observable and not stuck and h_ends:
        assert statistics.median(abs(e) for e in h_ends) <= HEARD_MEDIAN_S, h_ends
        assert max(abs(e) for e in h_ends) <= end_bound, h_ends

    track = AudioTrack(mp4)
    for said in speech:
        s, e = said["start"] - origin, said["end"] - origin
        assert track.rms_db(s + 0.1, e - 0.1) > -40, (said, track.rms_db(s, e))
    for prev, nxt in itertools.pairwise(speech):
        gap = (prev["end"] - origin + 0.3, nxt["start"] - origin - 0.3)
        if gap[1] - gap[0] > 0.3:
            assert track.rms_db(*gap) < -55, (gap, track.rms_db(*gap))
    return starts
