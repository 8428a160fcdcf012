# GridKAM: `make run` to try it, `make test` to test it. Needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo runs over plain http on localhost, so cookies cannot be "secure"-only there.
RUN_ENV := SECURE_COOKIES=0

.PHONY: run test test-fast test-e2e test-celery bench lint format install migrate demo messages clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

migrate: install
	$(PY) manage.py migrate --no-input

run: migrate
	$(RUN_ENV) $(PY) manage.py collectstatic --no-input --verbosity 0
	$(RUN_ENV) $(PY) manage.py load_sample_tariffs
	$(RUN_ENV) $(PY) manage.py load_statutory_days
	$(RUN_ENV) $(PY) manage.py load_sla_defaults
	$(RUN_ENV) $(PY) manage.py load_plan_templates
	$(RUN_ENV) $(PY) manage.py load_survey_templates
	$(RUN_ENV) $(PY) manage.py seed_demo --if-empty
	@$(PY) manage.py demo_logins --url http://$(HOST):$(PORT)
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

demo: migrate
	$(PY) manage.py seed_demo --if-empty

# Every test: unit, view, API, schemathesis and browser tests. DATABASE_URL picks the database.
# Every test, in two passes: the tests without a browser on two processes (pytest-xdist, one test database each),
# then the browser tests and the Celery-worker test in one process (they share a live server or the worker's
# test_<name> database, and Chromium wants the second core). TEST_WORKERS=0 runs the first pass in one process too.
TEST_WORKERS ?= 2
test: install
	$(BIN)/playwright --version >/dev/null
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not e2e and not celery_worker"
	$(BIN)/pytest -q -m "e2e or celery_worker"

test-fast: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not e2e"

test-e2e: install
	$(BIN)/pytest -q -m e2e

# The background import through a real Celery worker, as .ci/run runs it: Redis on 127.0.0.1:6379 (started if it
# does not answer) and PostgreSQL. The worker uses the test database pytest-django creates: test_ + the name.
CELERY_TEST_BROKER ?= redis://127.0.0.1:6379/15
CELERY_TEST_DATABASE ?= postgres://postgres@127.0.0.1:5432/gridkam
test-celery: install
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379
	CELERY_BROKER_URL=$(CELERY_TEST_BROKER) $(BIN)/celery -A config purge -f >/dev/null
	CELERY_BROKER_URL=$(CELERY_TEST_BROKER) DB_CONN_MAX_AGE=0 \
	DATABASE_URL=$(dir $(CELERY_TEST_DATABASE))test_$(notdir $(CELERY_TEST_DATABASE)) \
	  $(BIN)/celery -A config worker --pool=solo -l warning >$(VENV)/celery-test-worker.log 2>&1 & worker=$$!; \
	GRIDKAM_TEST_CELERY_BROKER=$(CELERY_TEST_BROKER) DATABASE_URL=$(CELERY_TEST_DATABASE) \
	  $(BIN)/pytest -q -m celery_worker; status=$$?; kill $$worker; wait $$worker; exit $$status

# The issues' figures are for PostgreSQL. Without a PostgreSQL DATABASE_URL the first pass measures SQLite (the
# readings import benchmark skips itself there) and a second pass runs the PostgreSQL ones against BENCH_PG_URL
# (pytest-django creates and drops test_<name> there) when that server answers: the readings import (issue 4;
# GRIDKAM_BENCH_POINTS=500 makes a quick run), the bill run, risk scoring and the collections workbench (issue 5),
# the SLA sweep and "my work" (issue 6), account health and the portal home (issue 7).
BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/gridkam
BENCH_PG := bench/test_bench_readings.py bench/test_bench_bill_run.py bench/test_bench_risk.py bench/test_bench_workbench.py \
  bench/test_bench_sla.py bench/test_bench_mywork.py bench/test_bench_health.py bench/test_bench_portal.py
BENCH_ARGS := -q -p no:cacheprovider --benchmark-only --benchmark-columns=min,median,mean,max,rounds
bench: install
	$(BIN)/pytest bench $(BENCH_ARGS)
	@case "$$DATABASE_URL" in postgres*) ;; *) \
	  if $(PY) -c "import socket, sys, urllib.parse as u; url = u.urlsplit(sys.argv[1]); \
	      socket.create_connection((url.hostname or '127.0.0.1', url.port or 5432), 3)" "$(BENCH_PG_URL)" 2>/dev/null; then \
	    echo "PostgreSQL benchmarks on $(BENCH_PG_URL)"; \
	    DATABASE_URL=$(BENCH_PG_URL) $(BIN)/pytest $(BENCH_PG) $(BENCH_ARGS); \
	  else \
	    echo "PostgreSQL benchmarks skipped: nothing answers at $(BENCH_PG_URL) (set BENCH_PG_URL)"; \
	  fi;; \
	esac

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore '.venv/*' --ignore 'static/*' --ignore 'data/*' --ignore 'bench/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) data
