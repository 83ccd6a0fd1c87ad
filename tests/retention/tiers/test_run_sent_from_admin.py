"""A tier run an operator sends from the admin (Periodic tasks → "Run selected tasks") was
recorded `queued_by: schedule`, as the beat's: the runs did not tell a manual run from a
scheduled one. It names the user who sent it; the beat's still says `schedule`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from config.celery import app
from enrich.beat_scheduler import Scheduler
from retention.models import RetentionRun
from tests.retention.conftest import T0
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.worker import celery_worker, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]

D0 = T0.date()


def ended() -> list[RetentionRun]:
    runs = RetentionRun.objects.filter(operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY)
    return list(runs.exclude(status="running").order_by("pk"))


@pytest.mark.usefixtures("empty_queues")
def test_a_run_sent_from_the_admin_names_who_sent_it_and_the_beats_says_schedule(
    ha_db, settings, admin_client
):
    ha_db.saved_entity("official", "sensor.kettle_power", [(0, 2000), (300, 0)], unit="W")
    call_command("install_schedules")
    entry = PeriodicTask.objects.get(task="retention.downsample_hourly")
    # One day, not every day up to the horizon: the same record, sooner.
    entry.kwargs = json.dumps({"start": str(D0), "end": str(D0 + timedelta(days=1))})
    entry.save()
    env = {
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }
    with celery_worker("run-now", **env) as worker:
        tasks = "/admin/django_celery_beat/periodictask/"
        admin_client.post(tasks, {"action": "run_tasks", "_selected_action": [entry.pk]})
        [manual] = until(ended, worker, seconds=120)
        Scheduler(app=app, lazy=True).apply_async(ModelEntry(entry, app=app), advance=False)
        manual_again, beats = until(lambda: len(ended()) == 2 and ended(), worker, seconds=120)

    assert manual_again.pk == manual.pk
    assert (manual.status, manual.records_processed) == ("ok", 2)
    assert manual.details["queued_by"] == "admin"
    assert beats.details["queued_by"] == "schedule"
