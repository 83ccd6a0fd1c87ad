"""The nightly tier run that finds its tier's lock taken. The hourly -> daily lock is held by
an hourly run folding late points into daily rows, by the archive checking and deleting a
file's rows, or by a run started by hand: the scheduled daily run was recorded skipped and its
days waited for the next night. Now it waits in the queue in the same run, tried again after
RETENTION_RETRY_SECONDS (then twice that, 3 times), as the weekly archive does
(retention.busy); still taken after the last retry, it fails (an alert) naming the next
scheduled run. The raw -> hourly run, nightly too, waits the same way. A run the API queued
or a command runs is still recorded skipped, saying who holds the lock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q

from enrich.redis.lock import RunLock
from enrich.schedules import install_schedules
from retention.models import RetentionRun, TierChunk
from retention.queued import queued_run
from retention.stats.alerts import detect
from retention.tiers import runner as tiers
from retention.tiers import tasks
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.worker import celery_worker, until, wait_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]

D0 = T0.date()
DAY = timedelta(days=1)
DAILY = RetentionRun.Operation.DOWNSAMPLE_DAILY
HOURLY = RetentionRun.Operation.DOWNSAMPLE_HOURLY
FOLDING = "raw -> hourly run 9 folding late points"
HELD = f"TierBusy: the lock of the hourly -> daily runs is held by {FOLDING} since "
KEPT = "Nothing is lost meanwhile: the hourly tier keeps the rows due until their daily rows"
NEXT = re.compile(
    r"the next scheduled run \(\w{3} \d{4}-\d\d-\d\d 02:30 UTC\) composes the hourly rows due"
)
ENTITY = "sensor.heat_pump_power"
# As the beat sends it (no run_id), for one day: over every day up to the horizon it would
# take a while, for the same outcome.
ONE_DAY = {"start": str(D0), "end": str(D0 + DAY)}


def worker_env(settings, retry_seconds: str) -> dict[str, str]:
    return {
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "RETENTION_RETRY_SECONDS": retry_seconds,
    }


def waiting(operation: str = DAILY) -> RetentionRun | None:
    """The run once it waits for a retry, or once it ended without (it was skipped)."""
    runs = RetentionRun.objects.filter(operation=operation)
    return runs.filter(Q(details__has_key="retries") | ~Q(status="running")).first()


def retries() -> list[dict]:
    run = waiting()
    return run.details.get("retries", []) if run else []


def ended(operation: str = DAILY) -> RetentionRun | None:
    return RetentionRun.objects.filter(operation=operation).exclude(status="running").first()


def rows(policy: str) -> list:
    return read_rows(policy, T0, T0 + DAY, ENTITY).get(ENTITY, [])


@pytest.fixture
def hourly_day(ha_db):
    """D0 in the hourly tier: 24 rows waiting for the daily run."""
    ha_db.saved_entity("official", ENTITY, [(0, 500), (43200, 300)], unit="W")
    assert tiers.downsample_hourly(D0, D0 + DAY).status == "ok"
    assert len(rows(HOURLY_RP)) == 24


@pytest.fixture
def daily_lock_held():
    """An hourly run folding late points into daily rows holds the daily tier's lock."""
    lock = RunLock(DAILY, owner=FOLDING, ttl_seconds=300)
    assert lock.acquire()
    yield lock
    lock.release()


@pytest.mark.usefixtures("empty_queues", "hourly_day")
def test_the_nightly_daily_run_waits_for_the_lock_and_composes_in_the_same_run(
    settings, daily_lock_held
):
    with celery_worker("daily-busy", **worker_env(settings, retry_seconds="1")) as worker:
        tasks.downsample_daily.apply_async(kwargs=ONE_DAY)
        run = until(waiting, worker, seconds=120)
        assert (run.status, run.finished) == ("running", None)  # waiting, not skipped
        [first] = run.details["retries"]
        assert first["error"].startswith(HELD) and first["retry"] == "1 of 3"
        assert "; nothing done yet. Tried again in the same run" in first["error"]
        assert KEPT in first["error"]
        assert len(rows(HOURLY_RP)) == 24 and rows(DAILY_RP) == []
        assert not TierChunk.objects.filter(tier="daily").exists()
        daily_lock_held.release()  # the hourly run's late points are folded in
        done = until(ended, worker, seconds=120)
    assert RetentionRun.objects.filter(operation=DAILY).count() == 1
    assert (done.pk, done.status) == (run.pk, "ok") and done.finished is not None
    assert done.details["retries"][0] == first and done.details["queued_by"] == "schedule"
    assert done.details["days"] == [str(D0)] and done.records_processed == 24
    [row] = rows(DAILY_RP)
    assert row.fields["max_value"] == 500 and row.fields["min_value"] == 300
    assert rows(HOURLY_RP) == []  # deleted once the daily row was verified


@pytest.mark.usefixtures("empty_queues", "hourly_day")
def test_a_lock_held_past_the_last_retry_fails_the_run_naming_the_next_scheduled_one(
    settings, daily_lock_held
):
    install_schedules()  # the beat entry "Downsample hourly to daily", 02:30 UTC
    with celery_worker("daily-busy-long", **worker_env(settings, retry_seconds="0.2")) as worker:
        tasks.downsample_daily.apply_async(kwargs=ONE_DAY)
        run = until(ended, worker, seconds=120)
    assert run.status == "failed"
    assert run.errors.startswith(HELD) and NEXT.search(run.errors), run.errors
    assert KEPT in run.errors and run.finished is not None
    assert [r["retry"] for r in run.details["retries"]] == ["1 of 3", "2 of 3", "3 of 3"]
    assert RetentionRun.objects.filter(operation=DAILY).count() == 1
    assert len(rows(HOURLY_RP)) == 24 and rows(DAILY_RP) == []
    [alert] = detect()
    assert alert.kind == "failed" and HELD in alert.message and NEXT.search(alert.message)


@pytest.mark.usefixtures("empty_queues")
def test_the_nightly_hourly_run_waits_for_a_run_started_by_hand(settings, ha_db):
    """Raw -> hourly runs once a night too (02:00 UTC): skipped, its days waited a day."""
    ha_db.saved_entity("official", ENTITY, [(0, 500)], unit="W")
    by_hand = RunLock(HOURLY, owner="raw -> hourly run 5", ttl_seconds=300)
    assert by_hand.acquire()
    try:
        with celery_worker("hourly-busy", **worker_env(settings, retry_seconds="1")) as worker:
            tasks.downsample_hourly.apply_async(kwargs=ONE_DAY)
            run = until(lambda: waiting(HOURLY), worker, seconds=120)
            assert (run.status, run.finished) == ("running", None)
            [first] = run.details["retries"]
            assert first["error"].startswith(
                "TierBusy: the lock of the raw -> hourly runs is held by raw -> hourly run 5 since "
            )
            assert "the raw points stay in Home Assistant's database" in first["error"]
            by_hand.release()
            done = until(lambda: ended(HOURLY), worker, seconds=120)
    finally:
        by_hand.release()
    assert (done.pk, done.status) == (run.pk, "ok") and done.details["days"] == [str(D0)]
    assert len(rows(HOURLY_RP)) == 24


# An API user named "schedule" got the beat's run: waiting for the lock instead of learning
# at once that it is held (the beat's run was told apart by `queued_by` alone).
@pytest.mark.parametrize("user", ["ha-user", "schedule"])
@pytest.mark.usefixtures("hourly_day")
def test_a_run_the_api_queued_is_still_skipped_naming_the_holder(daily_lock_held, user):
    """Someone who asked for a run now learns at once that another run holds the lock."""
    run = queued_run(DAILY, user, range_start=T0, range_end=T0 + DAY)
    result = tasks.downsample_daily.apply(kwargs={"run_id": run.pk, **ONE_DAY}).get()
    run.refresh_from_db()
    assert (result["status"], run.status) == ("skipped", "skipped")
    assert run.details["reason"].startswith(
        f"the lock of the hourly -> daily runs is held by {FOLDING} since "
    )
    assert "retries" not in run.details and run.finished is not None
    # Who queued it stays (the skip's reason replaced every detail the API had recorded).
    assert run.details["queued_by"] == user
    assert len(rows(HOURLY_RP)) == 24 and rows(DAILY_RP) == []


@pytest.mark.usefixtures("empty_queues", "hourly_day")
def test_a_run_started_late_waits_past_the_expiry_of_the_beats_message(settings, daily_lock_held):
    """The beat's message expires an hour after 02:30 (config/schedule.py): a retry carried
    that expiry, so one due later (the run started late, behind a long raw -> hourly run on a
    one-slot worker) was dropped, and the run waited "in the queue" for ever."""
    with celery_worker("daily-busy-late", **worker_env(settings, retry_seconds="1.5")) as worker:
        wait_idle(worker)  # up and answering: the task is received at once
        expires = datetime.now(UTC) + timedelta(seconds=4)
        tasks.downsample_daily.apply_async(kwargs=ONE_DAY, expires=expires)
        # Tried at once, then 1.5 s later (before the expiry), then 3 s after that (past it).
        until(lambda: len(retries()) == 2, worker, seconds=60)
        daily_lock_held.release()
        done = until(ended, worker, seconds=60)
    assert done.status == "ok" and len(done.details["retries"]) == 2
    assert done.details["days"] == [str(D0)] and len(rows(DAILY_RP)) == 1
