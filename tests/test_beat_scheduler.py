"""The beat keeps every other schedule running while a crontab holds a time zone this host
cannot load (enrich.beat_scheduler): the real beat process on the test database, and its
scheduler class against PostgreSQL."""

import logging
import os
import subprocess
import sys
import time

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery import app
from enrich.beat_scheduler import Scheduler
from tests.support import worker
from tests.support.beat import store_zone
from tests.support.broker import empty_queues  # noqa: F401  (fixture)


def schedules(zone: str) -> CrontabSchedule:
    """A task every second, one hourly on a UTC crontab, one hourly on a crontab in `zone`
    (every hour: the scheduler loads only the crontabs due within about 2 hours)."""
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Every second", task="enrich.check_services", interval=every)
    utc = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly UTC", task="enrich.check_services", crontab=utc)
    away = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly away", task="enrich.check_services", crontab=away)
    store_zone(away, zone)
    return away


def not_scheduled(crontab: CrontabSchedule, zone: str) -> str:
    return (f"Beat: periodic task 'Hourly away' is not scheduled: its crontab {crontab.pk} has "
            f"the time zone {zone!r}, which this host's zone database cannot load. Choose its "
            "time zone in admin → Crontabs; the other schedules run.")  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("empty_queues")
def test_the_beat_sends_every_other_schedule(tmp_path):
    # It stopped as it started (ZoneInfoNotFoundError): no schedule ran at all.
    away = schedules("Mars/Base")
    log = (tmp_path / "beat.log").open("w+")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info", "--pidfile=",
         "-s", str(tmp_path / "schedule"), "--max-interval", "1"],
        cwd=worker.ROOT, env={**os.environ, "DATABASE_URL": worker.test_database_url(),
                       "CELERY_SKIP_CHECKS": "1"},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    beat.log = log
    try:
        deadline = time.monotonic() + 30
        while "Sending due task Every second" not in worker._tail(beat):
            assert beat.poll() is None, f"the beat stopped:\n{worker._tail(beat)}"
            assert time.monotonic() < deadline, worker._tail(beat)
            time.sleep(0.2)
        said = worker._tail(beat)
        assert not_scheduled(away, "Mars/Base") in said
        assert said.count("is not scheduled") == 1  # said once, not at every load
    finally:
        worker.stop(beat)
        log.close()


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd", "Europe"])  # Europe: a folder
def test_the_scheduler_leaves_out_only_the_crontab_it_cannot_load(zone, caplog):
    away = schedules(zone)
    with caplog.at_level(logging.ERROR, logger="enrich.beat_scheduler"):
        loaded = Scheduler(app=app, lazy=True).all_as_schedule()
    assert sorted(loaded) == ["Every second", "Hourly UTC"]
    assert [r.getMessage() for r in caplog.records] == [not_scheduled(away, zone)]
    # A zone chosen in the admin brings the task back.
    CrontabSchedule.objects.filter(pk=away.pk).update(timezone="Europe/Zurich")
    loaded = Scheduler(app=app, lazy=True).all_as_schedule()
    assert sorted(loaded) == ["Every second", "Hourly UTC", "Hourly away"]
    assert str(loaded["Hourly away"].schedule.tz) == "Europe/Zurich"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("empty_queues")
def test_the_beat_goes_on_when_its_ticks_cannot_be_recorded(tmp_path):
    """Redis of the caches (REDIS_URL) out of reach, the broker and results' up: the beat still sends every
    task, and says once that its ticks are not recorded (its healthcheck will fail)."""
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Every second", task="enrich.check_services", interval=every)
    log = (tmp_path / "beat.log").open("w+")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info", "--pidfile=",
         "-s", str(tmp_path / "schedule"), "--max-interval", "1"],
        cwd=worker.ROOT, env={**os.environ, "DATABASE_URL": worker.test_database_url(),
                       "CELERY_SKIP_CHECKS": "1", "CELERY_BROKER_URL": app.conf.broker_url,
                       "CELERY_RESULT_BACKEND": app.conf.result_backend,
                       "REDIS_URL": "redis://127.0.0.1:1/0"},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    beat.log = log
    try:
        worker.until(lambda: worker._tail(beat).count("Sending due task Every second") >= 3, beat)
        said = worker._tail(beat)
        assert said.count("Beat: its signs of life are not recorded") == 1, said
        assert "cannot reach Redis at REDIS_URL=redis://127.0.0.1:1/0" in said
    finally:
        worker.stop(beat)
        log.close()
