"""The weekly archive run that finds the archive's lock taken (a restore, an index rebuild,
another archive run). It was recorded skipped, with no word of who held the lock in its run
record, and nothing was archived until the next Sunday. Now the task tries again in the same
run, which waits in the queue saying who holds the lock; after its last retry it fails (an
alert) naming the next scheduled run. Meanwhile the daily tier keeps every row."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from enrich.redis.lock import RunLock
from enrich.schedules import install_schedules
from retention.archive.index import rebuild_index
from retention.archive.lock import NAME, WAITS
from retention.archive.run import run_archive
from retention.archive.tasks import archive
from retention.busy import next_scheduled_run
from retention.models import RetentionRun
from retention.stats.alerts import detect
from tests.support.archive import daily_rows, local_worker_env
from tests.support.beat import store_zone
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.worker import celery_worker, until

pytestmark = pytest.mark.django_db(transaction=True)

FILE = "archives/2022/data_2022-01-01.parquet"
ROWS = 2 * 365
HELD = "ArchiveBusy: the archive's lock is held by restore run 99 since "
NEXT = re.compile(r"the next scheduled run \(Sun \d{4}-\d\d-\d\d 03:00 UTC\) archives what is due")


def the_run(**where) -> RetentionRun | None:
    return RetentionRun.objects.filter(operation="archive", **where).first()


@pytest.fixture
def restore_holds_the_lock():
    lock = RunLock(*NAME, owner="restore run 99", ttl_seconds=300)
    assert lock.acquire()
    yield lock
    lock.release()


@pytest.mark.usefixtures("empty_queues")
def test_the_scheduled_run_waits_for_a_restore_and_archives_in_the_same_run(
    settings, tier, local_archive, restore_holds_the_lock
):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    env = local_worker_env(settings, tier, local_archive, retry_seconds="1")
    with celery_worker("archive-busy", **env) as worker:
        archive.apply_async()  # as the beat sends it: no run_id
        run = until(lambda: the_run(details__has_key="retries"), worker, seconds=120)
        assert (run.status, run.finished) == ("running", None)  # waiting, not skipped
        [first] = run.details["retries"]
        assert first["error"].startswith(HELD) and first["retry"] == "1 of 3"
        assert "Nothing is lost meanwhile: the daily tier keeps the rows due" in first["error"]
        assert len(tier.rows()) == ROWS and not (local_archive / FILE).exists()
        restore_holds_the_lock.release()  # the restore ends
        done = until(lambda: the_run(status="ok"), worker, seconds=120)
    assert RetentionRun.objects.filter(operation="archive").count() == 1
    assert (done.pk, done.records_processed, done.records_deleted) == (run.pk, ROWS, ROWS)
    assert done.details["retries"][0] == first and done.finished is not None
    assert (local_archive / FILE).is_file() and tier.rows() == []


@pytest.mark.usefixtures("empty_queues")
def test_a_lock_held_past_the_last_retry_fails_the_run_naming_the_next_scheduled_one(
    settings, tier, local_archive, restore_holds_the_lock
):
    install_schedules()  # the beat entry "Archive daily aggregates", Sundays 03:00
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    env = local_worker_env(settings, tier, local_archive, retry_seconds="0.2")
    with celery_worker("archive-busy-long", **env) as worker:
        archive.apply_async()
        run = until(lambda: the_run(status="failed"), worker, seconds=120)
    assert run.errors.startswith(HELD) and NEXT.search(run.errors), run.errors
    assert [r["retry"] for r in run.details["retries"]] == ["1 of 3", "2 of 3", "3 of 3"]
    assert len(tier.rows()) == ROWS and not (local_archive / FILE).exists()
    [alert] = detect()
    assert alert.kind == "failed" and HELD in alert.message and NEXT.search(alert.message)


NOW = datetime(2026, 3, 15, tzinfo=UTC)


def test_a_run_of_the_command_is_skipped_and_its_record_names_the_holder(
    tier, local_archive, restore_holds_the_lock
):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    install_schedules()
    report = run_archive(NOW)
    run = RetentionRun.objects.get(pk=report.run_id)
    assert (report.status, run.status) == ("skipped", "skipped")
    [why] = report.errors
    assert run.errors == why  # it said so only in the task's result, never in the run record
    assert why.startswith("the archive's lock is held by restore run 99 since ")
    assert "nothing done: run it again once that run has finished, or " in why
    assert NEXT.search(why) and len(tier.rows()) == ROWS


def test_an_archive_run_beside_an_index_rebuild_names_the_rebuild(tier, local_archive):
    beside = []

    def archive_meanwhile(items):
        beside.append(run_archive(NOW))
        return items

    (local_archive / "archives").mkdir(parents=True)
    rebuild_index(progress=archive_meanwhile)
    [report] = beside
    assert report.status == "skipped"
    # Before: "held by archive since ...", as if another archive run held it.
    assert report.errors[0].startswith("the archive's lock is held by index rebuild since ")


def test_the_next_scheduled_run_is_the_coming_one_whatever_the_beat_saved_last():
    """The beat saves an entry's last_run_at minutes after it sent the run: read then, a last
    run of the Sunday before named "now" as the next scheduled run."""
    install_schedules()
    entry = PeriodicTask.objects.filter(task="retention.archive")
    entry.update(last_run_at=timezone.now() - timedelta(days=9))
    when, now = next_scheduled_run(WAITS.task), timezone.now()
    assert now < when <= now + timedelta(days=7)
    assert (when.weekday(), when.hour, when.minute, when.second) == (6, 3, 0, 0)  # Sunday 03:00
    entry.update(enabled=False)
    assert next_scheduled_run(WAITS.task) is None


def test_a_run_skipped_while_no_archive_run_is_scheduled_says_so_in_a_sentence(
    tier, local_archive, restore_holds_the_lock
):
    """It said "…, or no archive run is scheduled (the beat entry Archive to S3 is disabled)
    archives what is due."."""
    install_schedules()
    PeriodicTask.objects.filter(task="retention.archive").update(enabled=False)
    [why] = run_archive(NOW).errors
    assert why.endswith(
        "; nothing done: run it again once that run has finished, or no run is scheduled that "
        "archives what is due (the beat entry Archive daily aggregates is disabled). Nothing is "
        "lost meanwhile: the daily tier keeps the rows due until an archive run has verified "
        "their file."
    )


def test_a_run_skipped_while_the_beat_leaves_the_archive_entry_out_says_why(
    tier, local_archive, restore_holds_the_lock
):
    """The archive entry's crontab holds a time zone this host cannot load (a database moved
    from another host): the beat leaves it out (enrich.beat_scheduler). Reading when it runs
    next raised ZoneInfoNotFoundError, so the run that found the lock taken was recorded with
    no word of why; every message saying when a retention run's work comes next
    (retention.busy.comes_next) read it the same way."""
    install_schedules()
    [entry] = PeriodicTask.objects.filter(task="retention.archive")
    store_zone(entry.crontab, "Mars/Base")
    assert next_scheduled_run(WAITS.task) is None
    [why] = run_archive(NOW).errors
    assert why.endswith(
        "; nothing done: run it again once that run has finished, or no run is scheduled that "
        "archives what is due (the beat leaves out the entry Archive daily aggregates: its "
        "crontab's time zone 'Mars/Base' cannot be loaded on this host; choose its time zone in "
        "admin → Crontabs). Nothing is lost meanwhile: the daily tier keeps the rows due until an "
        "archive run has verified their file."
    )
