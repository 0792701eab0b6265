# Two commands a newcomer needs:  `make run`  and  `make test`.
# Each installs what it needs (Debian packages, Python packages, npm assets)
# and starts what it needs (Docker engine, PostgreSQL) when it is not running.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
LMS := $(VENV)/bin/lms
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: install system-deps python-deps assets services docker-engine base-images postgres \
        session-holder lab-wheels run serve demo-data test test-sqlite test-postgres lint bench \
        bench-backends bench-exercise clean translations messages

install: system-deps python-deps assets session-holder lab-wheels translations

system-deps:
	@bash scripts/install-system-deps.sh

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# The interface's languages: the .po catalogues are compiled to .mo here, not committed
# (README, Languages).
translations: python-deps
	$(VENV)/bin/pybabel compile -d lms/translations

# After changing interface strings: the template (.pot) again, and each language's .po
# updated from it (new messages untranslated: tests/unit/test_translations.py lists them).
messages: python-deps
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location \
	    --sort-output --project "Cyber Range LMS" -o lms/translations/messages.pot .
	$(VENV)/bin/pybabel update -i lms/translations/messages.pot -d lms/translations \
	    --no-fuzzy-matching --ignore-obsolete -w 100

# Pinned Python wheels some lab images install (labs/*/requirements.txt): see README.
lab-wheels: python-deps
	@bash scripts/fetch-lab-wheels.sh

# The terminal's session holder (a static dtach copied into labs): see README.
session-holder: system-deps
	@bash scripts/build-session-holder.sh

assets: node_modules/.package-lock.json
	@bash scripts/copy-assets.sh

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

services: docker-engine base-images

docker-engine:
	@bash scripts/start-docker.sh

base-images: docker-engine
	@bash scripts/build-base-images.sh

postgres:
	@bash scripts/start-postgres.sh

demo-data: install services
	$(LMS) init
	$(LMS) demo
	$(LMS) labs build

# Installs everything, loads demo data on SQLite and serves http://127.0.0.1:5000
run: demo-data serve

serve:
	$(VENV)/bin/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) 'lms:create_app()'

# Installs everything and runs the whole suite on SQLite and, at the same time, the
# database tests again on PostgreSQL (scripts/test-both-databases.sh: its output
# follows the SQLite pass's; fails when either pass fails).
test: install services postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	MAKE="$(MAKE)" bash scripts/test-both-databases.sh

test-sqlite:
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-postgres:
	LMS_TEST_DATABASE_URL=postgresql+psycopg://lms:lms@127.0.0.1:5432/lms_test \
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "not docker and not browser" $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: install services
	$(PY) bench/run_all.py

# Lab starts on the docker and swarm backends against a bare docker run (bench/lab_backends.py).
bench-backends: install services
	$(PY) bench/lab_backends.py

# A team exercise's Start (4 teams of web-breach) against bare docker run (bench/exercise_start.py).
bench-exercise: install services
	$(PY) bench/exercise_start.py

clean:
	rm -rf $(VENV) node_modules lms/static/vendor
