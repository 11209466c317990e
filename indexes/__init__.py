"""Transcripts, spoken-word and scene indexes, and search, for videos and live streams."""
