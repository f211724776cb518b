# stemtrace — the README's two commands live here: `make demo` and `make test`.
# Every target sets up what it needs first (virtualenv, Rust engine, UI), rebuilding only what changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
STAMPS   := .stamps
HOST     ?= 127.0.0.1
PORT     ?= 8000

RUST_SRC := Cargo.toml $(wildcard Cargo.lock) $(shell find rust -path rust/fuzz -prune -o \( -name '*.rs' -o -name Cargo.toml \) -print 2>/dev/null)
UI_SRC   := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/tsconfig.json
UI_INDEX := stemtrace/server/ui_dist/index.html

.PHONY: help demo test build setup engine ui lint test-rust test-python test-ui system-deps fuzz clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: build ## set up, then run the demo (in-process worker, no Redis) on http://$(HOST):$(PORT)/stemtrace/
	$(VENV)/bin/stemtrace demo --host $(HOST) --port $(PORT)

build: setup engine ui ## set up the virtualenv, build the Rust engine (release) and the UI, run nothing

test: build system-deps lint test-rust test-python test-ui ## set up and run every suite (Rust, lints, pytest with Redis + Celery + Chromium, vitest)
	@echo "make test: every suite passed"

setup: $(STAMPS)/venv ## the virtualenv at .venv with maturin (the package and its dependencies come with `engine`)

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	@command -v python3 >/dev/null || { echo "python3 is required (Debian: apt-get install python3 python3-venv)"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.9.4,<2"
	@touch $@

engine: $(STAMPS)/engine ## build the Rust extension in release mode into the virtualenv

$(STAMPS)/engine: $(STAMPS)/venv $(RUST_SRC)
	@command -v cargo >/dev/null || { echo "cargo is required: install Rust (https://rustup.rs)"; exit 1; }
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --extras dev
	@touch $@

ui: $(UI_INDEX) ## build the React UI into the package

ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Node 20+)"; exit 1; }
	cd ui && npm ci --no-audit --no-fund

$(UI_INDEX): ui/node_modules/.package-lock.json $(UI_SRC)
	cd ui && npm run build

system-deps: ## what the tests need from Debian: redis-server, rabbitmq-server (when none answers) and chromium
	@bash scripts/system-deps.sh

lint: engine ## clippy (warnings are errors), ruff check and format
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check stemtrace tests examples bench
	$(VENV)/bin/ruff format --check stemtrace tests examples bench

test-rust: ## cargo test
	cargo test --workspace

test-python: build system-deps ## pytest: unit, integration (real Redis, real Celery worker) and browser tests (Chromium)
	$(VENV)/bin/python -m pytest -ra

test-ui: ui ## vitest
	cd ui && npm test

FUZZ_SECONDS ?= 300
FUZZ = cargo fuzz run --fuzz-dir rust/fuzz -s none

fuzz: ## fuzz the decoder and the engine's ingest for FUZZ_SECONDS each (needs `cargo install cargo-fuzz`; not in CI)
	@command -v cargo-fuzz >/dev/null || { echo "run: cargo install cargo-fuzz"; exit 1; }
	mkdir -p rust/fuzz/corpus/decode rust/fuzz/corpus/ingest
	cp tests/golden/*.jsonl rust/fuzz/corpus/ingest/
	for f in tests/golden/*.jsonl; do split -l 1 "$$f" "rust/fuzz/corpus/decode/$$(basename $$f .jsonl)-"; done
	$(FUZZ) decode -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 -dict=rust/fuzz/event.dict
	$(FUZZ) ingest -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 -dict=rust/fuzz/event.dict

clean: ## remove build outputs (not the virtualenv)
	rm -rf target $(STAMPS) stemtrace/server/ui_dist stemtrace/_engine*.so
