# tagwise developer entry points. `make demo` and `make test` are the README quickstart:
# each installs what it needs on a machine with Python 3.11 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.9
# dbt-bouncer needs duckdb<2, so it runs in an environment of its own (uv tool run).
DBT_BOUNCER_VERSION := 4.3.0
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Installed packages come with their bytecode: where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines) every process would otherwise compile dbt, Dagster and Great
# Expectations from source, about 5 s per Python start.
export UV_COMPILE_BYTECODE := 1

DEMO_DIR := data/demo
DEMO_CUSTOMERS ?= 10000
DEMO_AS_OF := 2026-06-30

.PHONY: help install install-spark demo demo-cdnow demo-completejourney dagster dist test test-e2e test-spark lint format bench \
	bench-generate data-docs-assets clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Quiet: uv would list every one of some 150 packages; one line says what was done.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@echo "$(VENV): $$(ls $(VENV)/lib/python*/site-packages | grep -c dist-info) packages installed from uv.lock"
	touch $@

install: $(VENV)/.installed  ## create .venv from uv.lock

# The Dagster instance the demo's runs are recorded in and `make dagster` shows.
DAGSTER_HOME := $(CURDIR)/.dagster_home
DAGSTER_PORT ?= 3000

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $@

demo: install $(DAGSTER_HOME)/dagster.yaml  ## generate a sample, run the pipeline on embedded DuckDB, print a summary
	rm -rf $(DEMO_DIR)
	$(RUN) tagwise generate --customers $(DEMO_CUSTOMERS) --seed 7 --dirty-rate 0.01 --plant-lift 0.25 \
		--plant-launch 0.3 --out $(DEMO_DIR)/landing
	DAGSTER_HOME=$(DAGSTER_HOME) $(RUN) tagwise run --landing $(DEMO_DIR)/landing \
		--warehouse $(DEMO_DIR)/warehouse.duckdb --exports $(DEMO_DIR)/exports --as-of $(DEMO_AS_OF)
	@echo "landing: $(DEMO_DIR)/landing  warehouse: $(DEMO_DIR)/warehouse.duckdb" \
		" BI: $(DEMO_DIR)/published.duckdb  exports: $(DEMO_DIR)/exports/email" \
		" Dagster UI: make dagster"

# The UI's runs default to the demo's folders (the launchpad can set others per run).
dagster: install $(DAGSTER_HOME)/dagster.yaml  ## the Dagster UI on http://127.0.0.1:3000 (state in .dagster_home/)
	DAGSTER_HOME=$(DAGSTER_HOME) TAGWISE_LANDING=$${TAGWISE_LANDING:-$(DEMO_DIR)/landing} \
		TAGWISE_WAREHOUSE=$${TAGWISE_WAREHOUSE:-$(DEMO_DIR)/warehouse.duckdb} \
		TAGWISE_EXPORTS=$${TAGWISE_EXPORTS:-$(DEMO_DIR)/exports} \
		$(RUN) python -m tagwise.orchestration.serve --host 127.0.0.1 --port $(DAGSTER_PORT)

CDNOW_DIR := data/cdnow

demo-cdnow: install  ## the real-data demo: CDNOW purchases through the pipeline, then a holdout evaluation
	rm -rf $(CDNOW_DIR)
	$(RUN) tagwise import-cdnow tests/fixtures/cdnow/CDNOW_sample.txt --out $(CDNOW_DIR)/landing
	$(RUN) tagwise run --landing $(CDNOW_DIR)/landing --warehouse $(CDNOW_DIR)/warehouse.duckdb \
		--exports $(CDNOW_DIR)/exports --as-of 1998-06-30
	$(RUN) tagwise evaluate-model --warehouse $(CDNOW_DIR)/warehouse.duckdb \
		--calibration-end 1997-09-30 --out $(CDNOW_DIR)/model

COMPLETEJOURNEY_DIR := data/completejourney

demo-completejourney: install  ## the real-retailer demo: The Complete Journey's 2017 baskets through the pipeline, then the holdout evaluations of both models
	rm -rf $(COMPLETEJOURNEY_DIR)
	$(RUN) tagwise import-completejourney --out $(COMPLETEJOURNEY_DIR)/landing
	$(RUN) tagwise run --landing $(COMPLETEJOURNEY_DIR)/landing \
		--warehouse $(COMPLETEJOURNEY_DIR)/warehouse.duckdb --exports $(COMPLETEJOURNEY_DIR)/exports \
		--as-of 2017-12-31
	$(RUN) tagwise evaluate-model --warehouse $(COMPLETEJOURNEY_DIR)/warehouse.duckdb \
		--calibration-end 2017-09-30 --out $(COMPLETEJOURNEY_DIR)/model
	$(RUN) tagwise evaluate-interests --warehouse $(COMPLETEJOURNEY_DIR)/warehouse.duckdb \
		--as-of 2017-09-30 --out $(COMPLETEJOURNEY_DIR)/model

dist: $(UV)  ## build the wheel into dist/ (the dbt project, seeds and suites inside)
	$(UV) build --wheel --out-dir dist

# Two workers, a file each at a time, as test-e2e: half the time on this 2-core machine.
test: install lint  ## lint, then the test suite (Spark parity and long end-to-end runs aside)
	$(RUN) pytest -m "not spark and not e2e" -n 2 --dist loadfile

# Two workers, a file each at a time (a file's module fixtures stay in one process): a run
# spends most of its time in dbt's single-threaded Python, so two files use both cores.
# Files go out longest first (tests/conftest.py, LONGEST_FIRST), not by number of tests.
test-e2e: install  ## the long end-to-end scenarios (several full runs each); CI runs them
	$(RUN) pytest -m e2e -n 2 --dist loadfile --no-loadscope-reorder --durations=20

$(VENV)/.installed-spark: $(VENV)/.installed
	$(UV) sync --frozen --extra spark --quiet
	touch $@

install-spark: $(VENV)/.installed-spark  ## add the spark extra (dbt-spark, pyspark) to .venv

test-spark: install-spark  ## Spark parity: the daily graph on Spark (local) against DuckDB
	$(RUN) pytest -m spark

# dbt-duckdb opens the warehouse even to compile, so linting uses an in-memory one. sqlfluff
# templates through dbt in one process and parses and lints on every core (--processes 0):
# 36 s on this 2-core machine against 65 s in one process.
lint: install  ## ruff, sqlfluff and the dbt project linters (dbt-score, dbt-bouncer)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	TAGWISE_WAREHOUSE=:memory: $(RUN) sqlfluff lint --processes 0 dbt_project/models
	@# The dbt linters read the manifest, parsed again (catalogs checked first) when stale.
	$(RUN) python -c "from tagwise.dbt import manifest_path; manifest_path()"
	$(RUN) dbt-score lint --manifest dbt_project/target/tagwise/manifest.json --show failing-items
	$(UV) tool run --from dbt-bouncer==$(DBT_BOUNCER_VERSION) dbt-bouncer run --config-file pyproject.toml

format: install  ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench-generate: install  ## time generating 1,000,000 customers (writes bench/results/)
	$(RUN) python bench/generate.py --customers 1000000

bench: install  ## ingestion floor, full run, floor query, diff and next-day refresh at 10k, 100k and 1M customers, 2 and 4 years (bench/results/)
	$(RUN) tagwise bench --customers 10000 --customers 100000 --customers 1000000 --years 2 --years 4

data-docs-assets: install  ## re-fetch the Data Docs' scripts, styles and fonts from npm (tagwise/data_docs.py)
	$(RUN) python -c "from tagwise.data_docs import fetch_assets; print(len(fetch_assets()), 'files')"

clean:  ## remove generated data, warehouses and environments
	rm -rf data exports bench/results dist $(VENV) $(TOOLS)
