"""A wrong or missing required setting stops the process at start, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DJANGO_SECRET_KEY": "s",
    "FIELD_ENCRYPTION_KEY": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=",
    "ENRICH_ENV_FILE": "none",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}


def load_settings(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DATABASE_URL"}
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_defaults_load_with_sqlite_as_embedded_database():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY is not set"),
        ({"FIELD_ENCRYPTION_KEY": None}, "FIELD_ENCRYPTION_KEY is not set"),
        ({"FIELD_ENCRYPTION_KEY": "short"}, "FIELD_ENCRYPTION_KEY is not a valid Fernet key"),
        (
            {"FIELD_ENCRYPTION_KEY": GOOD["FIELD_ENCRYPTION_KEY"] + ",short"},
            "FIELD_ENCRYPTION_KEY is not a valid Fernet key (key 2:",
        ),
        ({"INFLUXDB_VERSION": "3"}, "INFLUXDB_VERSION='3' is not valid"),
        ({"INFLUXDB_VERSION": "2"}, "INFLUXDB_VERSION=2 needs INFLUXDB_TOKEN and INFLUXDB_ORG"),
        ({"DATABASE_URL": "nosuchdb://x/y"}, "DATABASE_URL is not a valid database URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must start with redis://"),
        ({"HTTP_TIMEOUT_SECONDS": "five"}, "HTTP_TIMEOUT_SECONDS='five' is not a number"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "400"}, "CELERY_TASK_SOFT_TIME_LIMIT must be below"),
        ({"HA_LAYOUT": "other"}, "HA_LAYOUT='other' is not valid; use one of: official, ingestor"),
    ],
)
def test_bad_setting_fails_at_start_naming_the_variable(overrides, named):
    result = load_settings(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_embedded_sqlite_waits_for_locks_and_uses_wal(tmp_path):
    db = tmp_path / "embedded.sqlite3"
    code = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]); "
        "print(connection.settings_dict['OPTIONS']['timeout'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DATABASE_URL"}
    env.update(GOOD, DATABASE_URL=f"sqlite:///{db}")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "20"]


def test_several_encryption_keys_load():
    newest = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0="
    result = load_settings(FIELD_ENCRYPTION_KEY=f"{newest}, {GOOD['FIELD_ENCRYPTION_KEY']}")
    assert result.returncode == 0, result.stderr


def test_postgres_from_database_url():
    result = load_settings(DATABASE_URL="postgres://enrich:enrich@127.0.0.1:5432/enrich")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"
