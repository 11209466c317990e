"""Real test infrastructure for RTStreams: live media sources, an S3-compatible server, the npm SDK.

- ``procs``: child processes that always go away (process groups, teardown, an atexit safety net).
- ``media``: what a publisher sends (codecs, size, rate) and the ffmpeg command lines that send it.
- ``rtsp_relay``: the RTSP server the RTSP sources publish to and clients play from (TCP and UDP).
- ``sources``: RTSP, RTMP and HLS sources with start / stop / restart, and the servers behind them.
- ``s3``: moto's standalone S3 server as a subprocess, with a bucket.
- ``npm_sdk``: drives the official npm ``videodb`` SDK (pinned at 0.2.0) against a base URL.
- ``fixtures``: the pytest fixtures over all of these; a conftest imports the ones it needs.
"""
