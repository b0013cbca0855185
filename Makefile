# Self-documenting: `make help`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(HOME)/.cargo/bin:$(PATH)

.PHONY: help prometheus postgres connect run stop status test test-unit test-integration test-chaos test-compat lint broker browser clean chaos

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml native/pyproject.toml native/Cargo.toml native/Cargo.lock $(wildcard native/src/*.rs)
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,s3]'
	@# The budget handler's Rust kernel (BUDGET_KERNEL); cargo's build cache stays in .cache/.
	@if command -v cargo >/dev/null; then \
		echo "building native/ (the budget kernel; about a minute the first time)"; \
		CARGO_TARGET_DIR=$(CURDIR)/.cache/cargo-target $(BIN)/python -m pip install -q ./native; \
	else \
		echo "WARNING: no cargo on PATH: native/ not built; budgets run on the Python path"; \
	fi
	touch $@

venv: $(STAMP) ## Create .venv and install the project with dev extras

broker: $(STAMP) ## Resolve the Kafka jars with Maven (once per version; cached in .cache/kafka/<version>/)
	$(BIN)/python -m infra.kafka fetch

browser: ## Install Debian's chromium for the dashboard's browser test (once; needs root and apt)
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

run: broker postgres connect ## Start a local broker, one worker and sample traffic; prints URLs to try
	@bash scripts/run-local.sh up

stop: ## Stop everything `make run` started
	@bash scripts/run-local.sh down

status: ## Show what `make run` started
	@bash scripts/run-local.sh status

prometheus: ## Debian's prometheus package (prometheus, promtool) for the metrics tests; once
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
		echo "installing Debian's prometheus package (the metrics tests scrape real workers)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

postgres: ## Debian's postgresql package for the order service and its tests (a cluster of our own under .data/); once
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql package (its own cluster on 5432 is left alone)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }

connect: $(STAMP) ## Resolve Kafka Connect and Debezium's PostgreSQL connector with Maven (cached in .cache/connect/)
	$(BIN)/python -m infra.connect fetch

test: broker prometheus browser postgres connect ## The whole suite: the kernel's Rust tests, unit tests, then integration tests on a real broker
	CARGO_TARGET_DIR=$(CURDIR)/.cache/cargo-target cargo test -q --release --manifest-path native/Cargo.toml
	$(BIN)/python -m pytest -q

test-unit: $(STAMP) ## Unit tests only (no broker)
	$(BIN)/python -m pytest -q tests/unit

test-integration: broker browser postgres connect ## Integration tests only (starts a broker unless KAFKA_BOOTSTRAP_SERVERS is set)
	$(BIN)/python -m pytest -q -m integration

test-compat: broker ## The transaction and rebalance tests on another pinned broker: KAFKA_VERSION=3.9.1 make test-compat
	$(BIN)/python -m pytest -q -m compat

test-chaos: broker ## Only the short chaos test (SIGKILL workers mid-run; also part of `make test`)
	$(BIN)/python -m pytest -q -m chaos

chaos: broker ## Kill workers at random while both pipelines run; CHAOS_ARGS="--seed N --brokers 3 ..."
	$(BIN)/python -m chaos $(CHAOS_ARGS)

lint: $(STAMP) ## ruff lint and format check, mypy (strict on domain/ and eos/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean: stop ## Stop, then remove local state (.data/); keeps .venv and the jar cache
	rm -rf .data

.PHONY: bench
bench: broker ## Benchmarks side by side on a broker of its own: Faust vs. an aiokafka EOS ceiling vs. Quix Streams
	@$(BIN)/python -c 'import quixstreams' 2>/dev/null || $(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench
