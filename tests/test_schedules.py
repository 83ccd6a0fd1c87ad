"""The beat table in code is installed and followed; admin edits survive later starts."""

from dataclasses import replace

import pytest
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
    first = SCHEDULE[0]
    task = tasks[first.name]
    assert (task.task, task.queue, task.expire_seconds) == (first.task, first.queue, first.expires)
    assert task.interval.every == first.every_seconds

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
    slower = replace(carbon, every_seconds=1800, expires=1700)
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
    entry = SCHEDULE[0]
    call_command("install_schedules")
    PeriodicTask.objects.filter(name=entry.name).update(description="")
    changes = {c.name: c for c in install_schedules((replace(entry, every_seconds=1200),))}
    assert changes[entry.name].action == "kept"
    assert PeriodicTask.objects.get(name=entry.name).interval.every == entry.every_seconds
