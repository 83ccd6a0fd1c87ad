"""The beat table in code is installed and followed; admin edits survive later starts."""

import re
from dataclasses import replace

import pytest
from celery.schedules import crontab
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.celery import QUEUES, app
from config.schedule import SCHEDULE
from enrich.schedules import install_schedules

pytestmark = pytest.mark.django_db


def test_every_entry_names_a_registered_task_and_a_declared_queue():
    app.loader.import_default_modules()
    for entry in SCHEDULE:
        assert entry.task in app.tasks, entry.task
        assert entry.queue in QUEUES
        assert (entry.every_seconds is None) != (entry.crontab is None)
        interval = entry.every_seconds
        if entry.crontab and re.fullmatch(r"\*(/\d+)? \* \* \* \*", entry.crontab):
            interval = int(entry.crontab.split()[0][2:] or 1) * 60  # every (N) minute(s)
        if interval:
            assert 0 < entry.expires < interval, "expires must be just under the interval"


def test_the_queue_each_entry_names_is_where_celery_routes_its_task():
    """Queues are declared once (config/queues.py); the beat table reads them from there."""
    app.loader.import_default_modules()
    router = app.amqp.router
    for entry in SCHEDULE:
        routed = router.route({}, entry.task)["queue"].name
        assert entry.queue == routed, entry.task
    assert router.route({}, "retention.check_alerts")["queue"].name == "default"
    assert router.route({}, "retention.archive")["queue"].name == "retention"


def test_entry_names_and_tasks_are_unique():
    names = [e.name for e in SCHEDULE]
    tasks = [e.task for e in SCHEDULE]
    assert len(names) == len(set(names)), names
    assert len(tasks) == len(set(tasks)), tasks


def test_install_creates_entries_then_keeps_admin_edits(capsys):
    call_command("install_schedules")
    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert set(tasks) >= {e.name for e in SCHEDULE}
    for entry in SCHEDULE:
        task = tasks[entry.name]
        assert (task.task, task.queue, task.expire_seconds) == (
            entry.task,
            entry.queue,
            entry.expires,
        )
        if entry.every_seconds:
            assert (task.interval.every, task.crontab) == (entry.every_seconds, None)
        else:
            c = task.crontab
            cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
            assert (cron, str(c.timezone), task.interval) == (entry.crontab, "UTC", None)
    first = SCHEDULE[0]
    task = tasks[first.name]

    task.enabled = False
    task.queue = "retention"
    task.save()
    call_command("install_schedules")
    task.refresh_from_db()
    assert task.enabled is False and task.queue == "retention"
    assert PeriodicTask.objects.filter(name=first.name).count() == 1
    out = capsys.readouterr().out
    assert f"0 installed, 0 updated, {len(SCHEDULE) - 1} unchanged, 1 kept as edited" in out
    assert f"Schedule kept: {first.name} (edited in the admin: " in out


def test_a_changed_cadence_reaches_rows_nobody_edited(capsys):
    """A cadence changed in config/schedule.py reaches an existing install; the row edited in
    the admin keeps its edit, and the command says what it changed."""
    call_command("install_schedules")
    carbon, prices = SCHEDULE[0], SCHEDULE[1]
    edited = PeriodicTask.objects.get(name=prices.name)
    edited.queue = "retention"
    edited.save()
    slower = replace(carbon, crontab=None, every_seconds=1800, expires=1700)
    moved = replace(prices, every_seconds=7200, expires=7000)
    changes = {c.name: c for c in install_schedules((slower, moved, *SCHEDULE[2:]))}

    assert changes[carbon.name].action == "updated"
    assert changes[carbon.name].detail.endswith("every 1800s, expires 1700s, enabled")
    task = PeriodicTask.objects.get(name=carbon.name)
    assert (task.interval.every, task.expire_seconds, task.enabled) == (1800, 1700, True)
    assert changes[prices.name].action == "kept"
    edited.refresh_from_db()
    assert (edited.queue, edited.interval.every) == ("retention", prices.every_seconds)
    assert {c.action for n, c in changes.items() if n not in (carbon.name, prices.name)} == {
        "unchanged"
    }


def test_rows_without_a_record_of_what_was_installed_are_kept():
    """A row made before fingerprints existed (or by hand) may have been edited: kept."""
    entry = next(e for e in SCHEDULE if e.every_seconds)
    call_command("install_schedules")
    PeriodicTask.objects.filter(name=entry.name).update(description="")
    changes = {c.name: c for c in install_schedules((replace(entry, every_seconds=1200),))}
    assert changes[entry.name].action == "kept"
    assert PeriodicTask.objects.get(name=entry.name).interval.every == entry.every_seconds


def _runs(task: str) -> crontab:
    """When beat runs `task`: its entry's crontab, as celery reads it."""
    [entry] = [e for e in SCHEDULE if e.task == task]
    minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)


@pytest.mark.parametrize(
    "task", ["collectors.dispatch_carbon_intensity", "collectors.dispatch_occupancy"]
)
def test_slot_and_event_sources_run_at_every_quarter_hour_start(task):
    """UK carbon slots are half hours and Electricity Maps' hours, from :00 UTC; calendar
    events start and end on quarter hours. These dispatches run at those starts (every 15 min
    from :00), so a new slot's value, or "home now", changes in its first minute rather than
    up to 15 min later."""
    runs = _runs(task)
    assert runs.minute == {0, 15, 30, 45} and runs.hour == set(range(24))
    assert runs.day_of_week == set(range(7)) and runs.day_of_month == set(range(1, 32))


def test_air_quality_is_asked_after_airnow_publishes_the_hour():
    """AirNow's observations of an hour appear 10-30 min past it: asked at :35 each hour, the
    new hour is in the answer, every hour the same."""
    runs = _runs("collectors.dispatch_air_quality")
    assert runs.minute == {35} and runs.hour == set(range(24))
