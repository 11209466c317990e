"""The public URLs of a recording, from the server's base URL (``Settings.public_url``)."""

from __future__ import annotations

PLAYLIST_KEY = "hls/playlist.m3u8"


def media_url(base: str, video_id: str, key: str) -> str:
    return f"{base.rstrip('/')}/media/{video_id}/{key}"


def stream_url(base: str, video_id: str) -> str:
    return media_url(base, video_id, PLAYLIST_KEY)


def player_url(base: str, video_id: str) -> str:
    """VideoDB's shape: the SDK's ``get_embed_code`` rewrites ``/watch?v=`` to ``/embed?v=``."""
    return f"{base.rstrip('/')}/watch?v={video_id}"
