"""Media tools every part shares: ffmpeg command lines, probing, HLS playlists and remuxing."""
