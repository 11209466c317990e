"""``meetbot serve``: the VideoDB-compatible HTTP API, the bots it runs and the player pages."""
