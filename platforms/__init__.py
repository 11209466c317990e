"""meetbot: platforms."""
