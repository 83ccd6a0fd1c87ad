"""The beat while PostgreSQL, where django-celery-beat's DatabaseScheduler keeps the schedule,
is out of reach: a TCP proxy (tests.support.proxy) in front of the test database closed under
the real beat process, long enough for the beat's full read of the schedule (every 5 minutes,
every 2 s here: tests.support.quick_sync_app). That read stopped the beat (CRITICAL "beat raised
exception", and with it `make run`), after a traceback at each tick. A beat started while the
database cannot be reached stopped at once the same way."""

import logging
import os
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from enrich.beat_scheduler import WAIT_SECONDS
from tests.support import worker
from tests.support.proxy import database_proxy

pytestmark = pytest.mark.django_db(transaction=True)
SENT = "Sending due task Every second"


def test_the_beat_goes_on_sending_through_a_database_outage_and_says_it_once(tmp_path):
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Every second", task="collectors.write_current_prices",
                                interval=every, expire_seconds=50)  # fmt: skip
    with database_proxy() as (proxy, url):
        env = {**os.environ, "DATABASE_URL": url, "CELERY_SKIP_CHECKS": "1"}
        beat = worker.started(["celery", "-A", "tests.support.quick_sync_app", "beat", "-l",
                               "info", "--pidfile=", "-s", str(tmp_path / "schedule"),
                               "--max-interval", "1"], env, tmp_path / "beat.log")  # fmt: skip
        try:
            worker.until(lambda: SENT in worker._tail(beat), beat)
            proxy.close()
            before = len((tmp_path / "beat.log").read_text())
            # 6 due runs: the outage outlasts a full read of the schedule (SYNC_SECONDS)
            worker.until(lambda: (tmp_path / "beat.log").read_text()[before:].count(SENT) >= 6,
                         beat)  # fmt: skip
            proxy.open()
            worker.until(lambda: "database answers again" in worker._tail(beat), beat)
            worker.until(lambda: (tmp_path / "beat.log").read_text().count(SENT) >= 10, beat)
        finally:
            worker.stop(beat)
            beat.log.close()
    log = (tmp_path / "beat.log").read_text()

    assert "Traceback" not in log and "CRITICAL" not in log, log
    [error] = [e for e in worker.logged(log, "ERROR")]
    assert error.startswith(
        "Beat: the database (DATABASE_URL) cannot be reached; the beat goes on sending the "
        "periodic tasks as it last read them, and reads them again once it answers: "
        f'connection failed: connection to server at "127.0.0.1", port {proxy.port} failed: '
    ), error
    back = [i for i in worker.logged(log, "INFO") if "answers" in i]
    assert back == ["Beat: the database answers again; the periodic tasks are read from it"], log
    # Every run sent, those of the outage too, is saved (as the beat stopped).
    task = PeriodicTask.objects.get(name="Every second")
    assert task.total_run_count == log.count(SENT), (task.total_run_count, log)


def test_a_beat_started_while_the_database_is_out_of_reach_waits_for_it(tmp_path):
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Every second", task="collectors.write_current_prices",
                                interval=every, expire_seconds=50)  # fmt: skip
    with database_proxy() as (proxy, url):
        proxy.close()
        env = {**os.environ, "DATABASE_URL": url, "CELERY_SKIP_CHECKS": "1"}
        beat = worker.started(["celery", "-A", "config", "beat", "-l", "info", "--pidfile=", "-s",
                               str(tmp_path / "schedule"), "--max-interval", "1"], env,
                              tmp_path / "beat.log")  # fmt: skip
        try:
            worker.until(lambda: "waits for it" in worker._tail(beat), beat)
            time.sleep(3 * WAIT_SECONDS)  # it asks again, and says nothing more
            proxy.open()
            worker.until(lambda: SENT in worker._tail(beat), beat)
        finally:
            worker.stop(beat)
            beat.log.close()
    log = (tmp_path / "beat.log").read_text()

    assert "Traceback" not in log and "CRITICAL" not in log, log
    [error] = worker.logged(log, "ERROR")
    assert error.startswith(
        "Beat: the database (DATABASE_URL) cannot be reached; the beat waits for it to read the "
        f'periodic tasks: connection failed: connection to server at "127.0.0.1", port {proxy.port}'
    ), error
    back = [i for i in worker.logged(log, "INFO") if "answers" in i]
    assert back == ["Beat: the database answers again; the periodic tasks are read from it"], log


def test_a_save_the_database_goes_away_in_keeps_its_runs_and_says_it_once(monkeypatch, caplog):
    # Gone between the beat's check and DatabaseScheduler's save: its "Database error while
    # sync" and a traceback were logged, and the runs being saved were dropped for good.
    from django.db import connection

    from config.celery import app
    from enrich.beat_scheduler import Scheduler

    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Every second", task="collectors.write_current_prices",
                                interval=every)  # fmt: skip
    with database_proxy() as (proxy, url):
        port = connection.settings_dict["PORT"]
        connection.close()
        connection.settings_dict["PORT"] = url.rsplit(":", 1)[1].split("/", 1)[0]
        try:
            beat = Scheduler(app=app)
            beat._dirty.add("Every second")  # a run sent, to save
            checked = Scheduler._answers

            def then_gone(self) -> bool:  # the check answers; the proxy closes right after
                answered = checked(self)
                proxy.close()
                monkeypatch.setattr(Scheduler, "_answers", checked)
                return answered

            monkeypatch.setattr(Scheduler, "_answers", then_gone)
            with caplog.at_level(logging.INFO):
                beat.sync()
        finally:
            connection.close()
            connection.settings_dict["PORT"] = port

    assert beat._dirty == {"Every second"}  # saved once the database answers
    [said] = [(r.name, r.levelname, r.exc_info) for r in caplog.records]
    assert said == ("enrich.beat_scheduler", "ERROR", None), caplog.text
    assert (
        caplog.records[0]
        .getMessage()
        .startswith("Beat: the database (DATABASE_URL) cannot be reached; the beat goes on sending")
    )
