# Earnest's front door. `make run` and `make test` set up everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run simulate test lint typecheck unit bench screenshots clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/earnest demo

simulate: install
	$(BIN)/earnest simulate examples/ticket_resolved.yaml examples/ticket_resolved.jsonl
	$(BIN)/earnest simulate examples/code_shipped.yaml examples/code_shipped.jsonl
	$(BIN)/earnest simulate examples/incident_resolved.yaml examples/incident_resolved.jsonl

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: install
	$(BIN)/mypy

# The browser tests run in a process of their own: Playwright's sync API leaves an event loop
# running in the thread that drove it, and a later asyncio.run() there would refuse to start.
unit: install
	$(BIN)/pytest -q --ignore=tests/web/browser
	$(BIN)/pytest -q tests/web/browser

test: lint typecheck unit

bench: install
	$(BIN)/python benchmarks/run.py

screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
