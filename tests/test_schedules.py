"""The beat table in code is installed once; admin edits survive later starts."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.celery import QUEUES, app
from config.schedule import SCHEDULE

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
    assert f"0 installed, {len(SCHEDULE)} already present" in capsys.readouterr().out
