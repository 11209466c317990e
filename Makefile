.PHONY: setup demo test lint
setup:
	scripts/setup.sh

demo: setup
	.venv/bin/meetbot demo

test: setup
	.venv/bin/pytest -q --durations=25

lint: setup
	.venv/bin/ruff check .
