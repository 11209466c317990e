"""A recorder-like HLS run made by ffmpeg from test sources: a black picture that flashes white
while a beep sounds, x264 15 fps + AAC 48 kHz in 2 s TS segments, as the bot's recorder writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from media.hls import playlist_segments

PERIOD = 2.0  # a flash and a beep together every PERIOD seconds, from 0.4 s (on a frame)
SIZE = (160, 120)
LAG = 0.07  # the beep is heard this long after its flash


def make_segments(out: Path, seconds: float, *, offset: float) -> list[Path]:
    """The segments of one run, timestamps from ``offset``."""
    out.mkdir(parents=True)
    w, h = SIZE
    on = f"lt(mod(t+{PERIOD}-0.4,{PERIOD}),0.3)"
    beep = "0.5*sin(2*PI*1000*t)*" + on.replace(",", "\\,")
    subprocess.run([
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=black:s={w}x{h}:r=15:d={seconds}",
        # Like the recorder's: the sound's packets run a little behind the picture's, so a
        # segment's sound goes on past its last frame.
        # aevalsrc: a beep exact to the sample (a filter's enable= switches whole frames).
        "-itsoffset", str(LAG), "-f", "lavfi", "-i", f"aevalsrc={beep}:s=48000:d={seconds}",
        # The picture's t is k/15 in floating point: a hair of margin keeps 14.4 s on its frame.
        "-vf", f"drawbox=c=white:t=fill:enable='{on.replace('(t+', '(t+0.001+')}'",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
        "-keyint_min", "30", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac",
        # As the recorder muxes: each sound frame on its own, so a segment's sound ends with the
        # frame that straddles its cut, up to 21 ms past its last picture.
        "-muxdelay", "0", "-muxpreload", "0",
        "-output_ts_offset", str(offset), "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
        "-hls_segment_filename", str(out / "seg_%05d.ts"), str(out / "playlist.m3u8"),
    ], check=True, timeout=120)
    return [out / name for name in playlist_segments(out / "playlist.m3u8")]
