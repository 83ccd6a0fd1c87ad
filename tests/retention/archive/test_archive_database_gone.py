"""The weekly archive run (the beat's task, on a real Celery worker, the real Redis and InfluxDB,
a local archive directory) meeting PostgreSQL out of reach (its container updated at night, the
NAS rebooting) once the first file is verified, its rows not deleted yet: the worker's database
is behind a TCP proxy the test closes there and opens before the retry is due. The run failed
where its record could not be saved, stayed "running" until the dead-run check closed it, with
an alert, and the rest waited for the next Sunday. Now its task tries it again in the same run,
as for S3 or InfluxDB out of reach: the retry's message carries `details.retries`, the run is
not closed as dead meanwhile, and the retry adopts the verified file and archives the rest."""

from datetime import date

import pytest

from enrich.redis.client import get_redis
from retention import liveness
from retention.archive.tasks import archive
from retention.models import Alert, RetentionRun
from retention.stats.alerts import detect
from tests.support.archive import daily_rows, local_worker_env
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key, paused_key
from tests.support.proxy import database_proxy
from tests.support.worker import celery_worker, output, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_queues")]

FILES = ["archives/2021/data_2021-01-01.parquet", "archives/2022/data_2022-01-01.parquet"]
ROWS = 2 * 2 * 365  # two entities, two closed years: a file each
GONE = "DatabaseUnavailable: The database (DATABASE_URL) cannot be reached: "


def said(worker, text: str) -> bool:
    worker.log.seek(0)
    return text in worker.log.read()


def test_the_weekly_run_meeting_postgresql_gone_is_tried_again_and_archives_the_rest(
    settings, tier, local_archive
):
    tier.write(daily_rows(2, date(2021, 1, 1), 2 * 365))
    env = local_worker_env(settings, tier, local_archive, retry_seconds="4")
    get_redis().set(pause_key(), "archive.before_delete@1")
    runs = RetentionRun.objects.filter(operation="archive")
    with (
        database_proxy() as (proxy, database_url),
        celery_worker(
            "archive-pg", app="tests.support.pause_app", DATABASE_URL=database_url, **env
        ) as worker,
    ):
        archive.apply_async()  # as the beat sends it: no run_id
        until(lambda: get_redis().get(paused_key()), worker, seconds=120)
        proxy.close()  # PostgreSQL restarts
        get_redis().delete(paused_key())
        until(lambda: said(worker, "retry 1 of 3") or said(worker, "DatabaseUnavailable"), worker)
        [run] = runs
        assert (run.status, run.finished) == ("running", None)
        assert liveness.close_dead() == []  # not closed as dead: it waits for its retry
        proxy.open()  # PostgreSQL is back before the retry is due
        done = until(lambda: runs.exclude(status="running").first(), worker, seconds=120)
        log = output(worker)
    assert (done.pk, done.status, done.errors) == (run.pk, "ok", ""), log
    assert runs.count() == 1
    [retry] = done.details["retries"]
    assert retry["error"].startswith(GONE) and retry["retry"] == "1 of 3", retry
    assert all((local_archive / key).is_file() for key in FILES)
    assert tier.rows() == [] and done.records_deleted == ROWS
    assert detect() == [] and not Alert.objects.exists()
    assert "Traceback" not in log, log
