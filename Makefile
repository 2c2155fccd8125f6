# Two commands: `make run` and `make test`. See the README for every target and setting.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := .data/dev.env
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8765
# Every command that runs the app sees the development keys (the environment wins).
APP := . ./$(DEV_ENV) &&

.PHONY: run sandbox test faults bench lint format superuser migrate browser clean

# Genesys calls go to the sandbox unless GENESYS_API_BASE_URL is set (empty: real Genesys).
run sandbox: export GENESYS_API_BASE_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export HOST := $(HOST)
run: export WEB_PORT := $(PORT)
run: export SANDBOX_PORT := $(SANDBOX_PORT)
run: $(VENV)/.installed $(DEV_ENV)
	$(APP) $(BIN)/python manage.py migrate --noinput
	$(APP) $(BIN)/python manage.py ensure_superuser
	$(APP) $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	@echo "Handover Portal: http://$(HOST):$(PORT)/admin/  Genesys sandbox console: http://127.0.0.1:$(SANDBOX_PORT)/console/"
	$(APP) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

sandbox: $(VENV)/.installed $(DEV_ENV)
	$(APP) $(BIN)/python -m genesys_sandbox --port $(SANDBOX_PORT)

test: $(VENV)/.installed $(DEV_ENV) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(APP) $(BIN)/pytest

# The fault suite at full size (make test runs it reduced); see the README's "Fault suite".
faults: $(VENV)/.installed $(DEV_ENV)
	$(APP) FAULTS_SIZE=full $(BIN)/pytest -m faults

# The benchmarks (bench/README.md): the real processes on this machine's PostgreSQL and Redis
# (else SQLite and the filesystem broker), each figure as a ratio to a floor measured in the
# same run; about 20 minutes, BENCH_SIZE=small for a quick run. Not part of make test.
bench: $(VENV)/.installed $(DEV_ENV)
	$(APP) $(BIN)/python -m bench.run $(BENCH)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

superuser: $(VENV)/.installed $(DEV_ENV)
	$(APP) $(BIN)/python manage.py createsuperuser

migrate: $(VENV)/.installed $(DEV_ENV)
	$(APP) $(BIN)/python manage.py migrate --noinput

# The browser tests drive Debian's Chromium (Playwright's own download does not work here).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Install Chromium first: sudo apt-get install chromium (or set CHROMIUM=/path/to/chromium)"; exit 1; \
	  fi; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

$(DEV_ENV): | $(VENV)/.installed
	$(BIN)/python -m handover_portal.devenv

clean:
	rm -rf $(VENV) .data staticfiles .pytest_cache .ruff_cache *.egg-info
