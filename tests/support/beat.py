"""Beat's table in a test: run what beat sends at a moment, in the test's own process; a
crontab's zone stored as the database may hold it; a real beat in a child process, with a Redis
key prefix of the test's own (where it records its ticks)."""

import functools
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django_celery_beat.models import CrontabSchedule

from config.celery import app
from config.schedule import SCHEDULE
from enrich.redis.client import get_redis
from tests.support import worker

EVERY_MINUTE = "* * * * *"


@functools.cache
def _task_modules() -> None:
    """The app's task modules, imported once, as at a worker's start: each import_default_modules
    runs Django's system checks again (Celery's Django fixup), 9 ms, where the clock tests run
    the collectors minute after minute."""
    app.loader.import_default_modules()


def run_every_minute_collectors() -> dict[str, object]:
    """Run the collectors' tasks beat sends at the start of every minute (config/schedule.py),
    as a worker would; their results by task name."""
    _task_modules()
    return {
        entry.task: app.tasks[entry.task]()
        for entry in SCHEDULE
        if entry.crontab == EVERY_MINUTE and entry.queue == "collectors"
    }


def store_zone(crontab: CrontabSchedule, zone: str) -> None:
    """As a row written past the form (SQL, a fixture, a database from another host)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE django_celery_beat_crontabschedule SET timezone = %s WHERE id = %s",
                       [zone, crontab.pk])  # fmt: skip


@contextmanager
def own_redis_prefix(settings, name: str) -> Iterator[str]:
    """REDIS_KEY_PREFIX a new prefix for this test (and the processes it starts with it); its
    keys are deleted afterwards."""
    settings.REDIS_KEY_PREFIX = f"test-{name}-{uuid.uuid4().hex[:8]}"
    try:
        yield settings.REDIS_KEY_PREFIX
    finally:
        for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
            get_redis().delete(key)


def beat_process(folder: Path, prefix: str) -> subprocess.Popen:
    """`celery beat` as `make run` starts it (the project's scheduler), on the test database
    and the Redis key prefix `prefix`; stop it with worker.stop() and close its `log`."""
    env = dict(os.environ, DATABASE_URL=worker.test_database_url(), CELERY_SKIP_CHECKS="1",
               REDIS_KEY_PREFIX=prefix)  # fmt: skip
    argv = ["celery", "-A", "config", "beat", "-l", "info", "--pidfile=",
            "-s", str(folder / "schedule")]  # fmt: skip
    return worker.started(argv, env, folder / "beat.log")
