"""Beat's table in a test: run what beat sends at a moment, in the test's own process; a
crontab's zone stored as the database may hold it."""

from django.db import connection
from django_celery_beat.models import CrontabSchedule

from config.celery import app
from config.schedule import SCHEDULE

EVERY_MINUTE = "* * * * *"


def run_every_minute_collectors() -> dict[str, object]:
    """Run the collectors' tasks beat sends at the start of every minute (config/schedule.py),
    as a worker would; their results by task name."""
    app.loader.import_default_modules()
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
