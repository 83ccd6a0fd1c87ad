#!/usr/bin/env bash
# `make run`: prepare the database and schedules, then run web, worker, beat and Flower in the
# foreground (honcho; Ctrl-C stops them all, the worker warm: docs/deployment.md). Services
# were started by scripts/services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the processes write (the database, the archive, the logs) is their owner's only, in a
# var/ only its owner can enter: it holds the home's history.
umask 077
mkdir -p var/log
chmod 700 var
# One `make run` per settings file: a second one, with the same database, Redis and ports, added
# a worker and a beat to the first one's (every periodic task sent twice) until its web found
# the port taken. It stops here, before it starts anything, naming the first. The lock (flock)
# is held by run.sh, then by honcho (exec) and the processes; it ends with the last of them.
settings="${ENRICH_ENV_FILE:-.env}"
lock=var/run.pid
if [ "$settings" != .env ] && [ "$settings" != none ]; then
  lock="var/run-$(realpath -m "$settings" | cksum | cut -d' ' -f1).pid"
fi
exec 9>>"$lock"
if ! flock -n 9; then
  pid=$(cat "$lock")
  started=$(ps -o lstart= -p "$pid" 2>/dev/null) || started="earlier (it is gone; its processes run)"
  echo "make run: enrich already runs from this checkout with the settings of $settings:" \
    "make run's pid $pid, started $started. Stop it first (Ctrl-C in its terminal, or" \
    "kill $pid); nothing was started." >&2
  exit 1
fi
echo $$ >"$lock"
# Each step reads the settings as honcho gives them to the processes (.env's values, or those of
# the file ENRICH_ENV_FILE names, over the shell's, the file read as the settings read it:
# scripts/honcho): run directly, a DATABASE_URL or INFLUXDB_URL exported in the shell won over
# the file's, so the steps migrated and checked other ones than the processes then used.
PY=".venv/bin/python scripts/honcho run .venv/bin/python"

# First start: generate the two secrets and Flower's login into .env, or the file
# ENRICH_ENV_FILE names, the one honcho reads (kept for later starts, 0600), and name the
# archive folder explicitly (archive runs refuse without a target). ENRICH_ENV_FILE=none: no
# file, the shell gives them.
if [ "${ENRICH_ENV_FILE:-}" != none ]; then
  scripts/init-env --local ${ENRICH_ENV_FILE:+"$ENRICH_ENV_FILE"}
fi

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py ensure_admin
$PY manage.py bootstrap
$PY manage.py install_schedules
$PY manage.py setup_influxdb

# The addresses as honcho gives them to the processes (.env's values over the shell's).
.venv/bin/python scripts/honcho run scripts/banner
exec .venv/bin/python scripts/honcho start -f Procfile
