# Every CI step is a target here, so a developer runs exactly what CI runs.
# `make run` and `make test` are the two commands a new user needs (see README.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

.DEFAULT_GOAL := help
.PHONY: help install run verify test test-fast lint bench monitor-demo

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed  ## create .venv with mlratchet, its pinned dependencies and dev tools

run: install  ## install, then run the reference pipeline end to end and push to the local remote
	ratchet repro
	dvc push --quiet
	dvc metrics show

verify: install  ## re-run HEAD's pipeline in a sandbox and prove it reproduces dvc.lock bit for bit
	ratchet verify

test: install  ## install, then run the whole test suite (the end-to-end pipeline included)
	pytest

test-fast: install  ## the tests without the end-to-end pipeline runs
	pytest -m "not slow"

lint: install  ## ruff, formatting and mypy
	ruff check .
	ruff format --check .
	mypy

bench: install  ## run every benchmark in benchmarks/ (minutes)
	for b in benchmarks/bench_*.py; do python $$b || exit 1; done

monitor-demo: install  ## monitor each month of 2013 against the training months (reports/monitor-2013/)
	dvc repro --quiet
	ratchet monitor-months --out reports/monitor-2013
	ratchet batch --month 12 --output data/batches/2013-12.parquet
	-ratchet monitor data/batches/2013-12.parquet --contract contracts/prepared.yaml \
		--out reports/monitor-2013/december
