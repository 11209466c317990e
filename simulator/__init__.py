"""meetbot: simulator."""
