# enrich: `make run` starts the whole system, `make test` runs the tests. Both install what
# they need (virtualenv, Python packages, Redis, InfluxDB, and PostgreSQL for the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The tests run against PostgreSQL, Redis and the project's InfluxDB on loopback (services.sh
# gets TEST_ENV too: it checks the tests' REDIS_URL, not .env's, against a Redis with a
# password). Python may write its bytecode (__pycache__, ignored by git) even where
# PYTHONDONTWRITEBYTECODE is set: the tests start about a hundred Python processes (workers,
# commands, web servers), each of which would otherwise compile every module of the project
# again.
TEST_ENV := DJANGO_SETTINGS_MODULE=config.settings \
	DATABASE_URL=postgres://enrich:enrich@127.0.0.1:5432/enrich \
	REDIS_URL=redis://127.0.0.1:6379/12 \
	INFLUXDB_URL=$${INFLUXDB_URL:-http://127.0.0.1:8186} \
	DJANGO_SECRET_KEY=test-secret-key-not-for-production-at-least-40-chars \
	FIELD_ENCRYPTION_KEY=dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0= \
	ENRICH_ENV_FILE=none \
	PYTHONDONTWRITEBYTECODE=
# pytest-xdist processes running the tests side by side; each has its own PostgreSQL test
# database (test_enrich_gw<K>) and Redis database (REDIS_URL's + K, so 12..14 here; see
# tests/support/xdist.py). Most tests wait on services and child processes, so more workers
# than cores pays; `--dist worksteal` lets an idle worker take tests queued for a busy one, so
# a few slow tests do not hold up the end. `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= 3

.PHONY: venv run test services lint bench-quick bench-tests clean

venv: $(STAMP)

# Debian's and Ubuntu's python3 make a virtualenv only with their python3-venv package
# (installed here with apt when missing); without it `venv` stopped half-way, leaving a .venv
# with no pip, which is made again (--clear) rather than taken as done.
$(STAMP): requirements/base.txt requirements/production.txt requirements/local.txt
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || PYTHON=$(PYTHON) scripts/services.sh python-venv
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/local.txt
	touch $(STAMP)

services:
	scripts/services.sh redis influxdb

run: venv services
	scripts/run.sh

test: venv
	$(TEST_ENV) scripts/services.sh redis influxdb postgres browser mosquitto
	$(TEST_ENV) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

BENCHES := collectors views downsample storage archive api status_page plan

# The whole suite timed as `make test` runs it (bench/results/test_suite.json); SERIAL=1 times
# it in one process first, for the speedup measured in the same period.
bench-tests: venv
	$(TEST_ENV) scripts/services.sh redis influxdb postgres browser mosquitto
	$(TEST_ENV) $(BIN)/python -m bench.test_suite --workers $(PYTEST_WORKERS) $(if $(SERIAL),--serial)

bench-quick: venv services
	for name in $(BENCHES); do $(BIN)/python -m bench.$$name --quick || exit 1; done

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf var/static .pytest_cache
