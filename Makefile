# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make run   - engine + dashboard on the embedded PostgreSQL, with demo data
#   make test  - lint, type check and the whole test suite
#   make test-fast - the unit tests only (tests/unit: no PostgreSQL, engine, subprocess or browser)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint typecheck pytest install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	BIN=$(BIN) scripts/run.sh

lint: $(STAMP)
	$(BIN)/ruff check engine core dashboard tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

test-fast: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks.latency

clean:
	rm -rf $(VENV) .frontdesk .pytest_cache .mypy_cache .ruff_cache
