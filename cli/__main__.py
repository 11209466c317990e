"""``python -m cli``: the ``meetbot`` command."""

from cli.main import main

main()
