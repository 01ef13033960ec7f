# Every CI step is a target here, so a developer runs exactly what CI runs.
# `make run` and `make test` are the two commands a new user needs (see README.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1

# The continuous workflows' settings (override on the command line or in the environment):
# BASE, the revision a change is compared with; ARTIFACT, the model artifact of dvc.yaml;
# CT_REASON, why continuous training ran (its commit message says it); REMOTE, where CT pushes.
# MONITOR_LOG, MONITOR_LABELS: `make monitor` judges a served prediction log (`ratchet serve
# --log-dir`) with the labels that arrived for it, instead of the newest month.
BASE      ?= origin/main
ARTIFACT  ?= flight-delay
CT_REASON ?= manual
REMOTE    ?= origin
MONITOR_LOG    ?=
MONITOR_LABELS ?=
# The recipe reads them from the environment ("$$MONITOR_LOG"), quoted: a path is never shell code.
export MONITOR_LOG MONITOR_LABELS

.DEFAULT_GOAL := help
.PHONY: help install chromium mlflow-venv run verify test test-fast lint bench monitor-demo ci repro metrics-check \
	report report-summary notes-pull notes-push ct promote-staging promote-production monitor \
	ct-demo

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-19s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml flightdelay/pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]' -e ./flightdelay
	@touch $@

install: $(VENV)/.installed  ## create .venv with mlratchet, its pinned dependencies and dev tools

run: install  ## install, then run the reference pipeline end to end and push to the local remote
	ratchet repro
	dvc push --quiet
	@cat metrics/summary.md

verify: install  ## re-run HEAD's pipeline in a sandbox and prove it reproduces dvc.lock bit for bit
	ratchet verify

# Idempotent: nothing when a Chromium is on PATH; apt-get as root (CI's clean Debian machine);
# elsewhere a note, and the browser tests skip (under .ci/run they fail instead).
chromium:  ## the headless browser of the HTML page tests: apt-get install chromium if missing
	@if command -v chromium || command -v chromium-browser || command -v google-chrome; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get; then \
		echo "installing chromium with apt-get, for the browser tests" >&2 && \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; \
	else \
		echo "note: no chromium on PATH, the browser tests will skip (apt-get install chromium)" >&2; \
	fi >/dev/null

# MLflow in a virtual environment of its own (never the project's pins): the tests of
# `ratchet exp export --mlflow` run a real tracking server from it; benchmarks reuse it.
MLFLOW_VENV ?= benchmarks/.venv-mlflow

$(MLFLOW_VENV)/.installed: benchmarks/requirements-mlflow.txt
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MLFLOW_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-mlflow.txt
	@touch $@

mlflow-venv: $(MLFLOW_VENV)/.installed  ## MLflow (a tracking server for the export tests) in benchmarks/.venv-mlflow

test: install chromium mlflow-venv  ## install, then run the whole test suite (the end-to-end pipeline included)
	pytest

test-fast: install chromium mlflow-venv  ## the tests without the end-to-end pipeline runs
	pytest -m "not slow"

lint: install  ## ruff, formatting and mypy
	ruff check .
	ruff format --check .
	mypy

ci: lint test repro verify metrics-check report  ## what ci.yml runs, in its order

repro: install  ## reproduce the pipeline, pulling what the DVC remote has
	ratchet repro --pull

metrics-check: install  ## the metrics against BASE, with the verdict: exit 1 on a regression
	ratchet metrics diff $(BASE) workspace --check --md

report: install  ## the pull-request report against BASE: report.md and report-plots/
	ratchet report --base $(BASE) --out report.md --plots-dir report-plots \
		$(if $(GITHUB_STEP_SUMMARY),--summary $(GITHUB_STEP_SUMMARY))

report-summary: install  ## the report of HEAD against its parent (after a CT run)
	ratchet report --base HEAD~1 --head HEAD --out report.md --plots-dir report-plots \
		$(if $(GITHUB_STEP_SUMMARY),--summary $(GITHUB_STEP_SUMMARY))

notes-pull: install  ## fetch mlratchet's git notes (compute records, verdicts) from REMOTE and merge them
	ratchet notes pull --remote $(REMOTE)

notes-push: install  ## merge REMOTE's mlratchet git notes into ours, then push them (retried if raced)
	ratchet notes push --remote $(REMOTE)

ct: install  ## continuous training (ratchet.yaml ct:): new data in, retrain, verify, commit, push, promote
	ratchet ct

promote-staging: install  ## promote HEAD's model to staging through the gates; push the tags
	ratchet promote $(ARTIFACT) --to staging --push

promote-production: install  ## promote the version in staging to production through its gates
	ratchet promote $(ARTIFACT) --to production --rev '$(ARTIFACT)#staging' --push

# With MONITOR_LOG (and MONITOR_LABELS): the served log joined with its labels on
# monitor.realized.key, its line added to reports/monitor/history.jsonl (realized performance
# over time, charted in reports/monitor/report.html).
monitor: install  ## the newest month (or MONITOR_LOG with MONITOR_LABELS) against production: exit 1 on an alert
ifneq ($(strip $(MONITOR_LOG)),)
	ratchet monitor "$$MONITOR_LOG" $(if $(strip $(MONITOR_LABELS)),--labels "$$MONITOR_LABELS") \
		--model '$(ARTIFACT)#production' --history reports/monitor/history.jsonl \
		--out reports/monitor --md
else ifneq ($(strip $(MONITOR_LABELS)),)
	@echo "make monitor: MONITOR_LABELS needs MONITOR_LOG (the served log they belong to)" >&2; exit 2
else
	flightdelay batch --month $$(flightdelay window --end) --output data/batches/latest.parquet
	ratchet monitor data/batches/latest.parquet --model '$(ARTIFACT)#production' \
		--out reports/monitor --md
endif

ct-demo: install  ## a year of continuous training, Feb-Dec, against a bare remote (reports/ct-year/, ~20 min)
	python flightdelay/scripts/ct_year.py --out reports/ct-year/year.md --json reports/ct-year/year.json --png reports/ct-year/realized-by-month.png

bench: install  ## run every benchmark in benchmarks/ (minutes)
	for b in benchmarks/bench_*.py; do python $$b || exit 1; done

monitor-demo: install  ## monitor each month of 2013 against the training months (reports/monitor-2013/)
	dvc repro --quiet
	flightdelay monitor-months --out reports/monitor-2013
	flightdelay batch --month 12 --output data/batches/2013-12.parquet
	-ratchet monitor data/batches/2013-12.parquet --contract contracts/prepared.yaml \
		--out reports/monitor-2013/december
