"""Benchmark: transcription, speaker attribution, indexing cost, live index lag and search recall.

    .venv/bin/python benchmarks/indexes.py [--parts wer,meeting,live] [--json out.json]

- ``wer``: the meeting sentences below, spoken by each simulator voice (flite's four, espeak's
  formant voice for contrast), transcribed by each engine (``--engines``; default PocketSphinx,
  every pinned Whisper model of transcription/models.py and ``MEETBOT_WHISPER_MODEL``): word
  error rate, CPU seconds per minute of audio (net of the engine's start, also printed), wall
  seconds, peak memory and search recall (each sentence's two rarest words as a query: is a
  passage inside that sentence among the first three hits?).
- ``meeting``: a simulated Google Meet meeting, three speakers with flite voices, recorded by
  ``meetbot run --transcribe``: WER through the whole call path (WebAudio -> PulseAudio -> AAC),
  speaker attribution (a word inside a scripted sentence is right when it carries that sentence's
  speaker) and meeting end -> callback with the transcript.
- ``contention``: the same meeting while transcriptions run back to back beside the bot, niced as
  the server runs them: the recording's frames, speaker-start error and A/V offset against the
  unloaded run (indexing must never cost a recording).
- ``live``: ``meetbot serve`` and an RTSP camera showing a caption and saying a sentence in a
  loop: scene (every 2 s) and transcript (4 s windows) indexes; lag = record first seen through
  the API minus the record's end (Unix time); share of frames whose caption OCR read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import Settings
from indexes.fts import Piece, SearchIndex
from indexes.transcripts import pieces_of
from simulator.speech import SpeechSynthesizer
from transcription import SPHINX
from transcription.attribution import SpokenWord
from transcription.engine import Word
from transcription.models import MODELS, fetch
from transcription.process import transcribe_in_process
from transcription.wer import wer, words_of

SENTENCES = [
    "Let us review the new design today.",
    "I like the colors a lot.",
    "The buttons are too small on phones.",
    "Good point, we will fix that next week.",
    "What about the budget for the launch?",
    "Marketing needs two more people in March.",
    "Can you send the slides after the call?",
    "The customer asked for a yearly plan.",
    "We should test the app on older laptops.",
    "Sales numbers look better than last quarter.",
    "Please write down the action items.",
    "Thanks everyone, see you on Monday.",
]
VOICES = ["flite:slt", "flite:rms", "flite:awb", "flite:kal", "en+f3"]
def engines() -> list[str]:
    """PocketSphinx, every pinned Whisper model, and the one MEETBOT_WHISPER_MODEL names."""
    names = [SPHINX, *MODELS]
    if (user := os.environ.get("MEETBOT_WHISPER_MODEL")) and user not in names:
        names.append(user)
    return names


def transcribe_measured(audio: Path, out: Path,
                        env: dict[str, str]) -> tuple[list[Word], float, float, float]:
    """``python -m transcription`` as the product runs it (un-niced here): its words, wall
    seconds, CPU seconds (user + system) and peak RSS in GB, from the kernel's account of it."""
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "transcription", str(audio), str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.time() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode()[-800:] if proc.stderr else ""
        raise RuntimeError(f"transcription failed: {err}")
    body = json.loads(out.read_text())
    return ([Word(**w) for w in body["words"]], took, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss * 1024 / 1e9)


async def spoken_script(voice: str, work: Path) -> tuple[Path, list[tuple[float, float, str]]]:
    """The sentences in one voice, 0.8 s apart, as one WAV; each sentence's span in it."""
    synth = SpeechSynthesizer(work / "tts")
    spans, parts, t = [], [], 0.0
    for text in SENTENCES:
        clip = await synth.synthesize(voice, 165, text)
        parts.append(clip.path)
        spans.append((t, t + clip.duration, text))
        t += clip.duration + 0.8
    stem = voice.replace(":", "_").replace("+", "_")
    return await asyncio.to_thread(_concat, parts, work, stem), spans


def _concat(parts: list[Path], work: Path, stem: str) -> Path:
    silence = work / "silence.wav"
    if not silence.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                        "-t", "0.8", str(silence)], check=True)
    normalised = []
    for i, p in enumerate(parts):
        q = work / f"{stem}_{i}.wav"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(p), "-ar", "16000", "-ac", "1", str(q)],
                       check=True)
        normalised += [q, silence]
    listing = work / f"{stem}.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in normalised))
    out = work / f"{stem}.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(out)], check=True)
    return out


async def part_wer(work: Path, names: list[str]) -> dict[str, Any]:
    """Each engine on each voice: WER, CPU seconds per audio minute (net of the engine's start,
    measured on a second of silence), its start's CPU, peak memory, and search recall."""
    report: dict[str, Any] = {}
    ref_all = [w for s in SENTENCES for w in words_of(s)]
    df = Counter(w for s in SENTENCES for w in set(words_of(s)))
    settings = Settings()
    silence = work / "one-second.wav"
    await asyncio.to_thread(subprocess.run, ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                                             "anullsrc=r=16000:cl=mono", "-t", "1", str(silence)], check=True)
    scripts = {voice: await spoken_script(voice, work) for voice in VOICES}
    for engine in names:
        if engine in MODELS:
            fetch(engine, settings.models_dir)
        env = {k: v for k, v in os.environ.items() if k != "MEETBOT_WHISPER_MODEL_DIR"}
        env["MEETBOT_WHISPER_MODEL"] = engine
        _, _, start_cpu, _ = await asyncio.to_thread(transcribe_measured, silence, work / "w.json", env)
        for voice, (audio, spans) in scripts.items():
            length = spans[-1][1]
            words, took, cpu, rss = await asyncio.to_thread(transcribe_measured, audio, work / "w.json", env)
            hyp = [w for x in words for w in words_of(x.text)]
            db = work / f"search-{engine.replace('/', '_')}-{voice}.db"
            recall = await search_recall(db, words, spans, df)
            row = {"wer": round(wer(ref_all, hyp), 3), "audio_s": round(length, 1),
                   "wall_s_per_audio_min": round(took / length * 60, 1),
                   "cpu_s_per_audio_min": round(max(0.0, cpu - start_cpu) / length * 60, 1),
                   "start_cpu_s": round(start_cpu, 2), "peak_rss_gb": round(rss, 3),
                   "search_recall_top3": recall}
            report[f"{engine} {voice}"] = row
            print(f"{engine:16} {voice:10} WER {row['wer']:6.1%}  "
                  f"CPU {row['cpu_s_per_audio_min']:5.1f} s per audio minute (+{start_cpu:.1f} s to start)  "
                  f"wall {row['wall_s_per_audio_min']:5.1f}  "
                  f"peak RSS {rss:.2f} GB  search recall {recall:.0%}", flush=True)
    return report


async def search_recall(db: Path, words: list[Any], spans: list[tuple[float, float, str]],
                        df: Counter[str]) -> float:
    index = SearchIndex(db)
    spoken = [SpokenWord(text=w.text, start=w.start, end=w.end) for w in words]
    await index.replace("bench", "spoken_word", [
        Piece(asset_id="bench", index_id="spoken_word", kind="spoken_word", start=e.start, end=e.end,
              text=e.text) for e in pieces_of(spoken)])
    found = 0
    for start, end, text in spans:
        rare = sorted(set(words_of(text)), key=lambda w: (df[w], -len(w)))[:2]
        hits = await index.search(" ".join(rare), asset_ids=["bench"], limit=3)
        found += any(h.start < end + 0.5 and h.end > start - 0.5 for h in hits)
    return round(found / len(spans), 3)


async def index_load(work: Path, done: list[int]) -> None:
    """What an index puts on the machine: transcriptions of a 3-minute recording back to back,
    niced as the server runs them (MEETBOT_INDEX_NICE 10), until cancelled; ``done`` counts them."""
    long = work / "long.wav"
    if not long.exists():
        audio, _ = await spoken_script("flite:rms", work)
        await asyncio.to_thread(subprocess.run, ["ffmpeg", "-v", "error", "-y", "-stream_loop", "5", "-i",
                                                 str(audio), "-c", "copy", str(long)], check=True)
    while True:
        await transcribe_in_process(long, nice=10)
        done[0] += 1


def video_frames(mp4: Path) -> tuple[int, float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=nb_read_packets:format=duration", "-of", "json", str(mp4)],
                         capture_output=True, check=True, timeout=120)
    info = json.loads(out.stdout)
    return int(info["streams"][0]["nb_read_packets"]), float(info["format"]["duration"])


async def part_meeting(work: Path, *, under_load: bool = False, sentences: int = 6) -> dict[str, Any]:
    from callbacks.receiver import CallbackReceiver
    from simulator.server import SimulatorServer
    from simulator.urls import ROUTED_HOSTS

    people = [("Alice", "flite:slt"), ("Bob", "flite:rms"), ("Carol", "flite:awb")]
    speech, at = [], 1.5
    for i, text in enumerate((SENTENCES * 10)[:sentences]):
        speech.append({"speaker": people[i % 3][0], "at": at, "text": text})
        at += 3.6
    code = "ben-chmk-idx"
    scenario = {"platform": "meet", "meeting_code": code, "title": "Index bench",
                "participants": [{"name": n, "voice": v} for n, v in people],
                "lobby": {"mode": "open"}, "speech": speech, "end": {"kind": "host_ended", "at": at + 2}}
    out = work / ("meeting-loaded" if under_load else "meeting")
    finished = [0]
    load = asyncio.create_task(index_load(work, finished)) if under_load else None
    if under_load:
        await asyncio.sleep(3)  # the transcription is running before the bot starts
    async with SimulatorServer() as sim, CallbackReceiver() as rx:
        await sim.add_scenario(scenario)
        env = dict(os.environ, MEETBOT_ALLOW_PRIVATE_URLS="127.0.0.1/32",
                   MEETBOT_HOST_OVERRIDES=",".join(f"{h}={sim.url}" for h in ROUTED_HOSTS))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "run", "--meeting-url", f"https://meet.google.com/{code}",
            "--bot-name", "Bench Notes", "--callback-url", rx.url, "--output-dir", str(out), "--transcribe",
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await proc.wait()
        await rx.wait_for(1, timeout=60)
        truth = sim.truth(code)
        received = rx.received[-1].at
    if load is not None:
        load.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await load
    transcriptions = finished[0]
    body = json.loads((out / "result.json").read_text())
    transcript = json.loads((out / "transcript.json").read_text())
    origin = body["recording_started_at"]
    ref = [w for s in truth["speech"] for w in words_of(s["text"])]
    hyp = [w for x in transcript["words"] for w in words_of(x["text"])]
    inside = right = 0
    for w in transcript["words"]:
        mid = origin + (w["start"] + w["end"]) / 2
        said = [s for s in truth["speech"] if s["start"] - 0.2 <= mid <= s["end"] + 0.2]
        if len(said) == 1:
            inside += 1
            right += w.get("speaker") == said[0]["speaker"]
    from simulator.measure import av_offsets, timeline_errors

    frames, length = video_frames(out / "recording.mp4")
    starts, _ = timeline_errors(body["data"]["speaker_timeline"], truth, origin)
    offsets = [o.offset for o in av_offsets(out / "recording.mp4", truth, origin)]
    row = {"wer": round(wer(ref, hyp), 3), "attribution": round(right / max(1, inside), 3),
           "words_inside_sentences": inside, "end_to_callback_s": round(received - truth["ended_at"], 2),
           "video_frames": f"{frames}/{round(length * 15)}",
           "speaker_start_err_median_ms": round(statistics.median(abs(e) for e in starts) * 1000)
           if starts else None,
           "av_offset_ms": [round(o * 1000) for o in offsets],
           "index_transcriptions_meanwhile": transcriptions}
    print(f"meeting{' under index load' if under_load else ''}: WER {row['wer']:.1%} through the call; "
          f"attribution {row['attribution']:.1%} of {inside} words; end -> callback with transcript "
          f"{row['end_to_callback_s']} s; frames {row['video_frames']}; speaker start error "
          f"{row['speaker_start_err_median_ms']} ms; A/V {row['av_offset_ms']} ms; "
          f"{transcriptions} background transcriptions", flush=True)
    return row


def part_live(work: Path, seconds: float) -> dict[str, Any]:
    import videodb

    from tests.streams.serve import KEY, serve
    from tests.support.media import H264_AAC
    from tests.support.sources import RtspServer, RtspSource

    speech = work / "loop.wav"
    subprocess.run(["flite", "-voice", "rms", "-t", "We need to talk about the budget for next year.",
                    "-o", str(work / "raw.wav")], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(work / "raw.wav"), "-af", "apad=pad_dur=1.5",
                    "-ar", "48000", str(speech)], check=True)
    rtsp = RtspServer(work / "rtsp").start()
    source = RtspSource(rtsp, H264_AAC.but(caption="QUARTERLY REVENUE", speech=str(speech)), name="bench",
                        workdir=work / "src")
    source.start()
    seen: dict[tuple[str, float], float] = {}
    try:
        with serve(work / "serve", MEETBOT_INDEX_POLL_INTERVAL="0.5") as server:
            coll = videodb.connect(api_key=KEY, base_url=server.url).get_collection()
            rts = coll.connect_rtstream(url=source.url, name="bench", media_types=["video", "audio"])
            scene = rts.index_scenes(extraction_config={"time": 2})
            words = rts.index_spoken_words(segmenter="time", length=4)
            t_end = time.time() + seconds
            records: dict[str, list[dict[str, Any]]] = {}
            while time.time() < t_end:
                for name, index in (("scene", scene), ("transcript", words)):
                    got = index.get_scenes(page_size=1000)["scenes"]
                    now = time.time()
                    records[name] = got
                    for r in got:
                        seen.setdefault((name, r["start"]), now - r["end"])
                time.sleep(0.2)
            rts.stop()
    finally:
        source.close()
        rtsp.close()
    out: dict[str, Any] = {}
    for name in ("scene", "transcript"):
        lags = [v for (n, _), v in seen.items() if n == name]
        out[name] = {"records": len(lags), "lag_median_s": round(statistics.median(lags), 2),
                     "lag_max_s": round(max(lags), 2)}
    read = sum("quarterly revenue" in r["description"].lower() for r in records["scene"])
    out["scene"]["caption_read"] = f"{read}/{len(records['scene'])}"
    heard = sum("budget" in r["text"].lower() for r in records["transcript"])
    out["transcript"]["windows_with_budget"] = f"{heard}/{len(records['transcript'])}"
    print(f"live: {json.dumps(out)}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="wer,meeting,contention,live")
    ap.add_argument("--live-seconds", type=float, default=60)
    ap.add_argument("--engines", help="comma-separated (default: pocketsphinx, the pinned Whisper models "
                    "and MEETBOT_WHISPER_MODEL)")
    ap.add_argument("--json")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    names = args.engines.split(",") if args.engines else engines()
    report: dict[str, Any] = {"engines": names, "live_engine": Settings().whisper_model}
    with tempfile.TemporaryDirectory(prefix="meetbot-bench-indexes-") as tmp:
        work = Path(tmp)
        if "wer" in parts:
            report["wer"] = asyncio.run(part_wer(work, names))
        if "meeting" in parts:
            report["meeting"] = asyncio.run(part_meeting(work))
        if "contention" in parts:
            report["meeting_under_index_load"] = asyncio.run(part_meeting(work, under_load=True))
        if "live" in parts:
            report["live"] = part_live(work, args.live_seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
