"""Launching bots: one interface, three ways (embedded processes, a Redis queue, Kubernetes Jobs)."""

from server.launchers.base import (
    BotLauncher,
    bot_command,
    bot_env,
    job_of,
    reap_leftovers,
    record_of,
    run_bot_process,
)
from server.launchers.recovery import (
    fail_meeting,
    reap_lost,
    recover_meetings,
    send_failure_callback,
    settle_lost,
)

__all__ = ["BotLauncher", "bot_command", "bot_env", "fail_meeting", "job_of", "reap_leftovers", "reap_lost",
           "record_of", "recover_meetings", "run_bot_process", "send_failure_callback", "settle_lost"]
