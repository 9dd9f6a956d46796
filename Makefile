# Curata — the README's two commands are `make demo` and `make test`.
PY ?= python3
VENV := .venv/bin
export CURATA_HOME ?= $(CURDIR)/.curata

.PHONY: help deps services demo test test-fast bench ui lint

help:
	@echo "make demo   - load the sample corpus into ./.curata, tag, verify, serve the UI"
	@echo "make test   - install services (PostgreSQL, Label Studio, Chromium, Java) and run all tests"
	@echo "make bench  - run the benchmarks in bench/ and append to bench/RESULTS.md"
	@echo "make ui     - serve the curator UI over ./.curata"
	@echo "make lint   - ruff + mypy"

deps:
	bash scripts/bootstrap.sh

services:
	bash scripts/bootstrap.sh --services

demo: deps
	bash scripts/demo.sh
	@if [ -z "$$NO_UI" ]; then echo "Serving the curator UI on http://localhost:8501 (Ctrl-C stops it)"; \
	  $(VENV)/curata ui; fi

# The whole suite with its real services; `uv sync` runs before the torch install, and pytest
# runs from .venv directly so that no later sync removes the CPU torch build.
test: services
	$(VENV)/python -m pytest -q $(PYTEST_ARGS)

test-fast: deps
	$(VENV)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/python $$b || exit 1; done

ui: deps
	$(VENV)/curata ui

lint: deps
	$(VENV)/ruff check .
	$(VENV)/mypy platform/curata
