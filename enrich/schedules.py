"""Install config.schedule's table into django-celery-beat, without overwriting admin edits.

Each row enrich installs carries, in its description, a fingerprint of what was installed
(task, queue, schedule, expiry, enabled). On the next start a row whose fields still match
its fingerprint was not touched by anyone, so it follows the table: a cadence changed in
config/schedule.py reaches existing installs. A row whose fields differ from its fingerprint
was edited in the admin and is kept as edited; so is a row without a fingerprint (installed
before fingerprints existed, or made by hand), since nobody can tell what was changed there.
"""

import json
from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.schedule import SCHEDULE, Entry

MARK = "Installed from config/schedule.py; unchanged since: "


@dataclass(frozen=True)
class Change:
    name: str
    action: str  # "installed", "updated", "kept" (edited in the admin), "unchanged"
    detail: str = ""


def _schedule_kwargs(entry: Entry) -> dict:
    if entry.every_seconds is not None:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        return {"interval": interval, "crontab": None}
    minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    return {"crontab": crontab, "interval": None}


def _entry_state(entry: Entry) -> str:
    schedule = f"every {entry.every_seconds}s" if entry.every_seconds else f"cron {entry.crontab}"
    return f"{entry.task} on {entry.queue}, {schedule}, expires {entry.expires}s, enabled"


def _row_state(task: PeriodicTask) -> str:
    if task.interval is not None and task.interval.period == IntervalSchedule.SECONDS:
        schedule = f"every {task.interval.every}s"
    elif task.crontab is not None and str(task.crontab.timezone) == "UTC":
        c = task.crontab
        cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
        schedule = f"cron {cron}"
    else:
        schedule = "another schedule"
    enabled = "enabled" if task.enabled else "disabled"
    return f"{task.task} on {task.queue}, {schedule}, expires {task.expire_seconds}s, {enabled}"


def _install(entry: Entry, task: PeriodicTask | None = None) -> PeriodicTask:
    task = task or PeriodicTask(name=entry.name)
    task.task, task.queue, task.enabled = entry.task, entry.queue, True
    task.expires, task.expire_seconds, task.args = None, entry.expires, json.dumps([])
    for field, value in _schedule_kwargs(entry).items():
        setattr(task, field, value)
    task.description = MARK + _entry_state(entry)
    task.save()
    return task


@transaction.atomic
def install_schedules(entries: tuple[Entry, ...] = SCHEDULE) -> list[Change]:
    """Install missing rows, bring rows nobody edited up to the table, keep edited rows; returns
    what happened to each entry."""
    changes = []
    for entry in entries:
        task = PeriodicTask.objects.filter(name=entry.name).first()
        if task is None:
            _install(entry)
            changes.append(Change(entry.name, "installed", _entry_state(entry)))
            continue
        installed = task.description[len(MARK) :] if task.description.startswith(MARK) else None
        now = _row_state(task)
        if installed is None or now != installed:
            changes.append(Change(entry.name, "kept", f"edited in the admin: {now}"))
        elif installed == _entry_state(entry):
            changes.append(Change(entry.name, "unchanged"))
        else:
            _install(entry, task)
            changes.append(Change(entry.name, "updated", f"{installed} -> {_entry_state(entry)}"))
    return changes
