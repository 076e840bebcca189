# smsaccounts: `make run` serves on 127.0.0.1:8080 (SQLite at ./smsaccounts.db); `make test` tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install smsaccounts with its dev tools

run: $(STAMP) ## apply migrations and serve on 127.0.0.1:8080 (SQLite ./smsaccounts.db)
	$(BIN)/smsaccounts serve

test: $(STAMP) ## run every test (SQLite; PostgreSQL too when SMSACCOUNTS_TEST_DATABASE_URL is set)
	$(BIN)/pytest

fuzz: $(STAMP) ## schemathesis on every operation, 1,000 examples each (make test runs 100)
	SMSACCOUNTS_FUZZ_EXAMPLES=1000 $(BIN)/pytest tests/api/test_fuzz.py

lint: $(STAMP) ## ruff (check and format) and mypy --strict over src, tests and bench
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## the load benchmark with its baselines (see bench/README.md)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
