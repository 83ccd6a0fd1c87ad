#!/usr/bin/env bash
# `make run`: prepare the database and schedules, then run web, worker, beat and Flower in the
# foreground (honcho; Ctrl-C stops them all). Services were started by scripts/services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/log
PY=.venv/bin/python

# First start: generate the two secrets into .env (kept for later starts).
if [ ! -f .env ]; then
  echo "[run] creating .env with generated DJANGO_SECRET_KEY and FIELD_ENCRYPTION_KEY"
  umask 077
  {
    echo "# Written by make run on $(date -u +%FT%TZ). See .env.example for every variable."
    echo "DJANGO_SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')"
    echo "FIELD_ENCRYPTION_KEY=$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
  } > .env
fi

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
    Flower     http://127.0.0.1:${FLOWER_PORT:-5555}/
  Ctrl-C stops everything.

MSG
exec .venv/bin/honcho start -f Procfile
