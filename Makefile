# The verbs: make run, make serve, make test, make lint, make bench. Each works from a fresh clone with
# Python 3.11+ and make; everything else is installed into .venv.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test lint format bench clean manage

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e "./clients/python[mcp]"
	@touch $@

install: $(STAMP)

run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --skip-if-not-demo
	@echo
	@echo "HITL Oversight: http://$(HOST):$(PORT)/admin/  (demo logins above; Ctrl-C stops)"
	@echo
	@$(MANAGE) qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver $(HOST):$(PORT)

# The production shape (docs/operations.md): DEBUG=0, check --deploy, migrate, collectstatic,
# gunicorn (hitl_project/gunicorn.conf.py) and a django-q2 cluster; Ctrl-C stops both.
serve: install
	$(BIN)/python -m hitl_project.serve

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	@test -x /usr/bin/chromium || echo "Browser tests (tests/browser/) will be SKIPPED: Chromium not installed: apt-get install chromium"
	$(BIN)/pytest

# Any management command inside the virtualenv: make manage ARGS="verify_audit"
manage: install
	$(MANAGE) $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@for script in benchmarks/*.py; do \
		[ -e "$$script" ] || { echo "no benchmarks yet"; break; }; \
		echo "== $$script"; $(BIN)/python "$$script" || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
