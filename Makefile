# The two README commands (`make demo`, `make test`) set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The stamp records which pyproject the environment was installed from: edit it, and the next
# target reinstalls; leave it, and targets start at once.
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
DEMO_DIR ?= demo
DEMO_CUSTOMERS ?= 10000
DEMO_SEED ?= 42
PYTEST_ARGS ?=

.PHONY: help env java chromium test demo bench lint format docs clean

help:
	@echo "make demo   generate the demo company, run the pipeline and serve it on http://$(HOST):$(PORT)/"
	@echo "make test   create the environment and run the whole test suite (DuckDB and Spark)"
	@echo "make lint   ruff, ruff format --check, mypy, import-linter"
	@echo "make bench  run the benchmarks (results in benchmarks/results/)"
	@echo "make docs   regenerate the generated reference docs"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "insightloop needs Python 3.11 or newer; set PYTHON=python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[spark,dev]'
	@touch $(STAMP)

env: $(STAMP)

# Spark (the second engine, tested on every run) needs a Java 17+ runtime.
java:
	@bash scripts/ensure-java.sh

# The web UI's browser tests drive Debian's Chromium.
chromium:
	@bash scripts/ensure-chromium.sh

test: env java chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: env
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: env
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

demo: env
	$(BIN)/insightloop demo up --dir $(DEMO_DIR) --customers $(DEMO_CUSTOMERS) \
		--seed $(DEMO_SEED) --host $(HOST) --port $(PORT)

bench: env java
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

docs: env
	$(BIN)/python -m insightloop.cli.reference --write

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache test-artifacts
