"""``python -m bot``: run the job in MEETBOT_JOB (how launchers start a bot process)."""

import sys

from bot.main import main

sys.exit(main())
