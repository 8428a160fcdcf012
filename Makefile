# GridKAM: `make run` to try it, `make test` to test it. Needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo runs over plain http on localhost, so cookies cannot be "secure"-only there.
RUN_ENV := SECURE_COOKIES=0

.PHONY: run test test-fast test-e2e bench lint format install migrate demo messages clean

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
	$(RUN_ENV) $(PY) manage.py seed_demo --if-empty
	@$(PY) manage.py demo_logins --url http://$(HOST):$(PORT)
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

demo: migrate
	$(PY) manage.py seed_demo --if-empty

# Every test: unit, view, API, schemathesis and browser tests. DATABASE_URL picks the database.
test: install
	$(BIN)/playwright --version >/dev/null
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not e2e"

test-e2e: install
	$(BIN)/pytest -q -m e2e

bench: install
	$(BIN)/pytest bench -q -p no:cacheprovider --benchmark-only --benchmark-columns=min,median,mean,max,rounds

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
