# Every target does its own set-up from a fresh clone: the virtual environment, the Python
# packages from the lock file, the editor build, and (for tests) Debian's Chromium.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EDITOR_OUT := src/flomation/api/static/editor
EDITOR_STAMP := $(EDITOR_OUT)/index.html
EDITOR_SOURCES := $(shell find editor -type f -not -path 'editor/node_modules/*' -not -path 'editor/dist/*' 2>/dev/null)
# Tests run on PYTEST_WORKERS processes (pytest-xdist), except those marked `alone`, which run
# next, one at a time: a thousand executions drained by real runners in a bounded time, API
# workers and Launch instances in processes of their own, whose leases run out in real time
# (the test's clock, `db_clock`, moves only its own process). Throughput and process start-up
# are what a second test beside them on 2 cores slows past their deadlines. Tests that only
# wait for a lease to run out move the clock instead and need no marker.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
# pytest's exit status when a selection holds no test (PYTEST_ARGS may pick a file with none).
NO_TESTS := 5

.PHONY: up test install editor lint typecheck importlint pytest editor-test chromium bwrap dovecot migration clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

editor: $(EDITOR_STAMP)

# Rebuilt when missing or older than any editor source file.
$(EDITOR_STAMP): $(EDITOR_SOURCES)
	@if [ -f editor/package.json ]; then \
		cd editor && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else \
		mkdir -p $(EDITOR_OUT) && echo '<!doctype html><title>Flomation</title>' > $(EDITOR_STAMP); \
	fi

up: install editor bwrap
	$(BIN)/flomation up

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# bubblewrap: the sandbox python and shell nodes run in (runners fall back to weaker isolation
# without it, and the tests of the sandbox need it). Only root can install it; anyone else is
# told what is missing and goes on.
bwrap:
	@command -v bwrap >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
		else \
			echo "bubblewrap (bwrap) is missing: code nodes run with weaker isolation; install it with: sudo apt-get install bubblewrap"; \
		fi; }

# Debian's dovecot: the IMAP server the email integration's tests run on loopback (each test
# starts its own instance with its own configuration; the system service is not used).
dovecot:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
		else \
			echo "dovecot is missing: the IMAP tests will be skipped; install it with: sudo apt-get install dovecot-imapd"; \
		fi; }

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

# src strictly and tests/ more loosely: both are set in pyproject.toml's [tool.mypy].
typecheck: install
	$(BIN)/mypy

importlint: install
	$(BIN)/lint-imports

pytest: install editor chromium bwrap dovecot
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not alone" $(PYTEST_ARGS) || [ $$? -eq $(NO_TESTS) ]
	$(BIN)/pytest -m alone $(PYTEST_ARGS) || [ $$? -eq $(NO_TESTS) ]

# The generated API types are checked against the API's OpenAPI document first (printed by the
# installed `flomation`), then the type check fails for editor code that no longer follows them.
editor-test: install editor
	@if [ -f editor/package.json ]; then \
		cd editor && npm run api:check && npm run lint && npm run typecheck && npm test; \
	fi

test: lint typecheck importlint editor-test pytest

# Regenerates the initial migration from the models. Only while no release has shipped: after
# the first release, new migrations are added on top instead.
migration: install
	rm -f src/flomation/db/migrations/versions/0001_initial_schema.py /tmp/flomation-migration.db
	$(BIN)/python -c "from alembic import command; from flomation.db.migrate import alembic_config; command.revision(alembic_config('sqlite:////tmp/flomation-migration.db'), message='initial schema', autogenerate=True, rev_id='0001')"
	$(BIN)/ruff check -q --fix src/flomation/db/migrations/versions
	$(BIN)/ruff format -q src/flomation/db/migrations/versions
	rm -f /tmp/flomation-migration.db

clean:
	rm -rf $(VENV) editor/node_modules $(EDITOR_OUT)
