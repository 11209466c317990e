"""meetbot: callbacks."""
