"""The weekly archive run (the beat's task, on a real Celery worker, the real Redis and InfluxDB,
a local archive directory) whose lock is lost with no run holding it now: its key is gone
(Redis restarted without it, or it expired and nobody took it) once the first file is verified,
its rows not deleted yet. The task failed for good (LockLost), the rest waiting for the next
Sunday, though nothing kept it from going on. Now it stops as before (no row deleted once the
lock is gone) and its task tries it again in the same run, `details.retries` saying why, which
adopts the verified file and archives the rest."""

from datetime import date

import pytest

from enrich.redis.client import get_redis
from retention.archive.lock import archive_lock_key
from retention.archive.tasks import archive
from retention.models import RetentionRun
from retention.stats.alerts import detect
from tests.support.archive import daily_rows, local_worker_env
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key, paused_key
from tests.support.worker import celery_worker, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_queues")]

FILES = ["archives/2021/data_2021-01-01.parquet", "archives/2022/data_2022-01-01.parquet"]
ROWS = 2 * 2 * 365  # two entities, two closed years: a file each
GONE = "is gone and no run holds it now (it expired, or Redis restarted without it); "


def test_the_weekly_run_whose_lock_is_gone_is_tried_again_and_archives_the_rest(
    settings, tier, local_archive
):
    tier.write(daily_rows(2, date(2021, 1, 1), 2 * 365))
    env = local_worker_env(settings, tier, local_archive, retry_seconds="1")
    get_redis().set(pause_key(), "archive.before_delete@1")
    with celery_worker("archive-gone", app="tests.support.pause_app", **env) as worker:
        archive.apply_async()  # as the beat sends it: no run_id
        until(lambda: get_redis().get(paused_key()), worker, seconds=120)
        get_redis().delete(archive_lock_key())  # Redis restarted without it
        get_redis().delete(paused_key())
        runs = RetentionRun.objects.filter(operation="archive")
        run = until(lambda: runs.exclude(status="running").first(), worker, seconds=120)
    assert (run.status, run.errors) == ("ok", ""), run.errors
    assert runs.count() == 1
    [retry] = run.details["retries"]
    assert retry["error"] == f"LockGone: lock '{archive_lock_key()}' {GONE}this run stopped"
    assert retry["retry"] == "1 of 3"
    assert all((local_archive / key).is_file() for key in FILES)
    assert tier.rows() == [] and run.records_deleted == ROWS
    assert get_redis().get(archive_lock_key()) is None
    assert detect() == []
