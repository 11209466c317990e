"""RTStreams: live sources ingested, paused, resumed and exported; a meeting's capture is one too."""
