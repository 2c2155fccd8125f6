# Two commands: `make run` and `make test`. See the README for every target and setting.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := .data/dev.env
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000
# Every command that runs the app sees the development keys (the environment wins).
APP := . ./$(DEV_ENV) &&

.PHONY: run test lint format superuser migrate browser clean

run: $(VENV)/.installed $(DEV_ENV)
	$(APP) $(BIN)/python manage.py migrate --noinput
	$(APP) $(BIN)/python manage.py ensure_superuser
	@echo "Handover Portal: http://$(HOST):$(PORT)/admin/"
	$(APP) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed $(DEV_ENV) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(APP) $(BIN)/pytest

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
