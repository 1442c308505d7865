# pdjira — the commands a newcomer needs: `make run` and `make test`.
# Installs uv if missing (from PyPI, into .tools/), never downloads a Python: system python3.11.

SHELL := /bin/bash
PYTHON ?= python3.11
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

.PHONY: help install run demo test test-fast lint format bench chaos chaos-short clean jql-oracle browser

help:
	@echo "make run    - install, start NATS + 5 services + simulators, show a sync, keep running"
	@echo "make demo   - same, run the demo scenario once and exit"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff + mypy --strict + import layering contracts"
	@echo "make bench  - benchmarks (ratios to a raw baseline measured in the same run)"
	@echo "make chaos  - people on both sides under kill -9, broker restarts, vendor and webhook faults; checks"
	@echo "make image  - build the container image (Dockerfile) with docker or podman, tag $(IMAGE)"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(if $(shell command -v uv 2>/dev/null),,$(CURDIR)/.tools/bin/uv)
	$(UV) sync --frozen --all-packages

run: install
	$(UV) run --frozen pdjira dev up --demo

demo: install
	$(UV) run --frozen pdjira dev up --demo --exit-after-demo --workdir .run/demo

# In parallel (pytest-xdist). Most tests wait on sockets and child processes, so 4 workers keep
# 2 cores busy; more only add start-up CPU (each worker collects the whole suite).
# --dist loadgroup keeps the tests of one end-to-end stack on one worker (xdist_group marks,
# see tests/support/xdist_groups.py): each stack starts once. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 4

test: install browser
	$(UV) run --frozen pytest -n $(TEST_WORKERS) --dist loadgroup

# The console's browser tests (tests/console) drive Debian's headless Chromium with Playwright
# (no `playwright install`): installed with apt-get when missing and we are root (as in CI).
browser:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make test needs Debian's chromium for the console's browser tests (tests/console):" \
	       "run 'sudo apt-get install chromium' (or make test as root) and try again" >&2; \
	  exit 1; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	if ! apt-cache show chromium >/dev/null 2>&1; then apt-get update -q; fi; \
	apt-get install -y -q --no-install-recommends chromium

# The shortened chaos run alone (scale 0.1, ~2 minutes; also part of make test): the same
# checks as `make chaos`.
chaos-short: install
	$(UV) run --frozen pytest -m chaos

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy libs/*/src apps/*/src services/*/src
	$(UV) run --frozen lint-imports --no-cache

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

bench: install
	$(UV) run --frozen python -m pdjira_devstack.bench

# CHAOS_ARGS e.g. "--seed 3 --scale 0.1 --json"; exits non-zero when a check fails.
CHAOS_ARGS ?=

chaos: install
	$(UV) run --frozen python -m pdjira_devstack.chaos $(CHAOS_ARGS)

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache

# Regenerates tests/jql/oracle.json (query -> valid?) from tests/jql/corpus.txt with Atlassian's
# own JQL grammar (@atlassianlabs/jql-parser, pinned in tools/jql-oracle). Needs node + npm;
# the Python tests only read the committed fixture.
jql-oracle:
	cd tools/jql-oracle && npm ci --no-audit --no-fund --silent && node oracle.js ../../tests/jql/corpus.txt ../../tests/jql/oracle.json

# The container image (Dockerfile at the root: the services and the CLI, no simulators), built with
# the first of docker / podman that is installed and running. IMAGE=registry/pdjira:1.2.3 to tag.
IMAGE ?= pdjira:dev
CONTAINER_ENGINES ?= docker podman

.PHONY: image
image:
	@engine=""; installed=""; \
	for candidate in $(CONTAINER_ENGINES); do \
		command -v "$$candidate" >/dev/null 2>&1 || continue; \
		installed="$$installed $$candidate"; \
		if "$$candidate" info >/dev/null 2>&1; then engine="$$candidate"; break; fi; \
	done; \
	if [ -z "$$engine" ] && [ -z "$$installed" ]; then \
		echo "make image: no container engine installed (looked for $(CONTAINER_ENGINES) on PATH); install Docker or Podman to build the image" >&2; \
		exit 1; \
	fi; \
	if [ -z "$$engine" ]; then \
		echo "make image: found$$installed but it does not answer ('<engine> info' fails): start its daemon (e.g. the docker service) and retry" >&2; \
		exit 1; \
	fi; \
	echo "$$engine build --tag $(IMAGE) ."; \
	"$$engine" build --tag "$(IMAGE)" .
