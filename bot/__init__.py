"""meetbot: bot."""
