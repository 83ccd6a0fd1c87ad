"""An archive run whose Redis stops in the middle of the run: a redis-server of the test's own,
the worker's Celery broker and the store of the archive's lock (and of the daily tier's lock the
delete holds), stopped once the run's first file is verified: before its rows are deleted, or
after. The run was sent as the beat sends it, so it is tried again on a `Transient` error,
but its retry cannot be queued: the broker is that Redis."""

import re
from datetime import date

import pytest
from celery import Celery

from enrich.redis.client import get_redis
from enrich.schedules import install_schedules
from retention.archive.tasks import archive
from retention.models import ArchiveObject, RetentionRun
from tests.support.archive import daily_rows, restore_worker_env
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key
from tests.support.ports import free_port
from tests.support.redis_gone import failed_as_redis_stopped
from tests.support.redis_server import own_redis, stopped
from tests.support.worker import celery_worker, stop, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_queues")]

FIRST = "archives/2021/data_2021-01-01.parquet"
SECOND = "archives/2022/data_2022-01-01.parquet"
ROWS = 2 * 730  # two entities, 2021 and 2022: a file each
NEXT = re.compile(r"the next scheduled run \(Sun \d{4}-\d\d-\d\d 03:00 UTC\) archives what is due")


def stored(s3) -> list[str]:
    return sorted(
        o["Key"] for o in s3.client().list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    )


@pytest.mark.parametrize(
    ("point", "lock", "deleted"),
    [
        # The first file verified, its rows about to be deleted under the daily tier's lock.
        ("archive.before_delete@1", "The lock of the hourly -> daily runs", 0),
        # Its rows deleted; the archive's lock is renewed before the next file.
        ("archive.after_delete@1", "The archive's lock", ROWS // 2),
    ],
)
def test_redis_gone_mid_run_fails_the_run_saying_its_retry_could_not_be_queued(
    settings, tier, s3, point, lock, deleted
):
    """The run failed with redis' own "ConnectionError: Error 111 connecting to …", nothing
    said of its retry, which was never tried (not a Transient error), nor of when its work comes
    next. Now it fails at once saying what happened and when the next scheduled run comes, with
    its alert; no row is deleted but those of the verified file and, Redis back, the next
    scheduled run archives the rest (adopting the verified file, deleting its rows)."""
    install_schedules()  # the beat entry "Archive daily aggregates", Sundays 03:00 UTC
    tier.write(daily_rows(2, date(2021, 1, 1), 730))
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = own_redis(port)
    get_redis().set(pause_key(), point)  # the test's Redis, not the worker's
    env = restore_worker_env(
        settings, tier, s3.endpoint, REDIS_URL=url, PAUSE_REDIS_URL=settings.REDIS_URL
    )
    beat = Celery("beat", broker=url, set_as_current=False)  # sends to the worker's Redis

    def scheduled_run():
        beat.send_task(archive.name, queue="retention")

    try:
        with celery_worker("archive-redis", app="tests.support.pause_app", **env) as worker:
            scheduled_run()
            run = failed_as_redis_stopped(redis, worker, url, lock)
            assert NEXT.search(run.errors), run.errors
            assert "Nothing is lost meanwhile: the daily tier keeps the rows due" in run.errors
            [first] = ArchiveObject.objects.all()
            assert (first.key, first.source_deleted is not None) == (FIRST, bool(deleted))
            assert first.verified and stored(s3) == [FIRST]
            assert len(tier.rows()) == ROWS - deleted  # none without its verified file

            redis = own_redis(port)  # Redis is back (empty: the run's message went with it)
            scheduled_run()
            again = RetentionRun.objects.exclude(pk=run.pk)
            until(lambda: again.exclude(status="running").first(), worker, seconds=120)
            stop(worker)
    finally:
        if redis.poll() is None:
            stopped(redis)
    [done] = RetentionRun.objects.exclude(pk=run.pk)
    assert (done.status, done.errors) == ("ok", ""), done.errors
    assert (done.records_processed, done.records_deleted) == (ROWS - deleted, ROWS - deleted)
    assert stored(s3) == [FIRST, SECOND] and tier.rows() == []
    assert ArchiveObject.objects.get(key=FIRST).checksum == first.checksum  # adopted, not rewritten
    assert ArchiveObject.objects.filter(source_deleted=None).count() == 0
