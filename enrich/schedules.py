"""Install config.schedule's table into django-celery-beat, without overwriting admin edits."""

import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.schedule import SCHEDULE, Entry


def _schedule_kwargs(entry: Entry) -> dict:
    if entry.every_seconds is not None:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        return {"interval": interval}
    minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    return {"crontab": crontab}


@transaction.atomic
def install_schedules(entries: tuple[Entry, ...] = SCHEDULE) -> list[str]:
    """Create the periodic tasks that do not exist yet; returns the names created."""
    created = []
    for entry in entries:
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue  # edited or disabled in the admin: the database wins
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            queue=entry.queue,
            expires=None,
            expire_seconds=entry.expires,
            args=json.dumps([]),
            **_schedule_kwargs(entry),
        )
        created.append(entry.name)
    return created
