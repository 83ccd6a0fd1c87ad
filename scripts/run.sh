#!/usr/bin/env bash
# `make run`: prepare the database and schedules, then run web, worker, beat and Flower in the
# foreground (honcho; Ctrl-C stops them all). Services were started by scripts/services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log
PY=.venv/bin/python

# First start: generate the two secrets and Flower's login into .env (kept for later starts,
# 0600) and name the archive folder explicitly (archive runs refuse without a target).
scripts/init-env --local

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py ensure_admin
$PY manage.py bootstrap
$PY manage.py install_schedules
$PY manage.py setup_influxdb

cat <<MSG

  enrich is starting:
    admin      http://${WEB_BIND:-127.0.0.1:8000}/admin/
    API docs   http://${WEB_BIND:-127.0.0.1:8000}/api/docs/
    health     http://${WEB_BIND:-127.0.0.1:8000}/api/health/
    Flower     http://127.0.0.1:${FLOWER_PORT:-5555}/  (login: FLOWER_BASIC_AUTH in .env)
  Ctrl-C stops everything.

MSG
exec .venv/bin/honcho start -f Procfile
