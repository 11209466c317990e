"""Launching bots: one interface, three ways (embedded processes, a Redis queue, Kubernetes Jobs)."""

from server.launchers.base import (
    BotLauncher,
    bot_command,
    bot_env,
    fail_meeting,
    job_of,
    reap_leftovers,
    reap_lost,
    record_of,
    run_bot_process,
    send_failure_callback,
)

__all__ = ["BotLauncher", "bot_command", "bot_env", "fail_meeting", "job_of", "reap_leftovers", "reap_lost",
           "record_of", "run_bot_process", "send_failure_callback"]
