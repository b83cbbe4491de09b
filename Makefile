# Yakuba: `make serve` and `make test` are the two commands; both run the idempotent `make setup`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
WEB   := clients/web
HOST  ?= 127.0.0.1
PORT  ?= 8080
DATA  ?= var
PYTEST_ARGS ?=

.PHONY: setup serve test bench sysdeps-test test-npm web clean

setup: $(VENV)/.installed web $(DATA)/.sample-district

# Python: reinstall only when the project metadata changes.
$(VENV)/.installed: pyproject.toml setup.py $(wildcard gis/gmlfast/*)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

# Browser client: npm ci from the committed lock file, then a production build.
web:
	@if [ -f $(WEB)/package.json ]; then bash scripts/build-web.sh; fi

# The default district shown by `make serve` (a real PLATEAU sample shipped in assets/samples).
$(DATA)/.sample-district: $(VENV)/.installed
	$(PY) -m yakuba.server.cli import-defaults --data $(DATA)
	@touch $@

serve: setup
	$(VENV)/bin/yakuba serve --host $(HOST) --port $(PORT) --data $(DATA)

# Debian packages the tests need (redis-server, chromium, CJK fonts); installs only what is missing.
sysdeps-test:
	@bash scripts/install-system-deps.sh

# npm packages only the tests use (the OpenID providers of tests/salon/oidc, CesiumJS for
# tests/cesium), from their lock files.
test-npm: sysdeps-test
	@bash scripts/install-test-npm.sh

test: sysdeps-test setup test-npm
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) bench/presence.py

clean:
	rm -rf $(VENV) $(WEB)/node_modules $(WEB)/dist tests/salon/oidc/node_modules tests/cesium/node_modules
