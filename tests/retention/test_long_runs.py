"""Long work against the real Redis and InfluxDB: locks are renewed through every phase (a
second run cannot take them meanwhile, even past their expiry), dry runs take no lock, and
day ranges are limited (400 naming the parameter): nothing before 2000, and a restore (which
answers within the request) at most RETENTION_MAX_RANGE_DAYS days."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.redis.client import get_redis, make_key
from enrich.redis.lock import LockLost, RunLock
from retention.archive import lock as archive_lock
from retention.archive import plan as archive_plan
from retention.archive import run as archive
from retention.archive import source as archive_source
from retention.models import RetentionRun, TierChunk
from retention.tiers import chunks
from retention.tiers import runner as tiers
from retention.tiers.hourly import HourlyTier
from tests.retention.conftest import T0
from tests.support.archive import daily_rows

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
D0 = T0.date()
HOURLY = RetentionRun.Operation.DOWNSAMPLE_HOURLY


@pytest.fixture(autouse=True)
def own_redis_prefix(settings):
    """Locks of this test under their own prefix (parallel test runs share Redis)."""
    settings.REDIS_KEY_PREFIX = f"test-long-{uuid.uuid4().hex[:8]}"


class Contender:
    """A second run trying to take a lock while the first one is in a phase."""

    def __init__(self, take) -> None:
        self.take = take
        self.tries = 0
        self.won = 0
        self.last_try = 0.0  # time.monotonic() of the last attempt

    def attempt(self) -> None:
        self.tries += 1
        self.won += bool(self.take())
        self.last_try = time.monotonic()


def slowed(monkeypatch, owner, name: str, seconds: float, before=None) -> None:
    """Make a phase of a run last `seconds` longer (and let a contender try meanwhile)."""
    original = getattr(owner, name)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        if before:
            before()
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, slow)


# --- archive --------------------------------------------------------------------------------
def _take_archive_lock() -> bool:
    lock = get_redis().lock(archive_lock.archive_lock_key(), timeout=30)
    if lock.acquire(blocking=False):
        lock.release()
        return True
    return False


def test_the_archive_lock_is_renewed_while_planning_past_its_expiry(
    tier, local_archive, monkeypatch
):
    """Planning reads month by month; with a 2.5 s lock and 12 months of 0.4 s and more each
    (and the check before the delete) the run outlasts the expiry twice, yet no second run gets
    the lock meanwhile, not even trying after two lifetimes. (The 2.1 s left between renewals
    are for the reads themselves, on a loaded test machine.)"""
    lifetime = 2.5
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    monkeypatch.setattr(archive_lock, "LOCK_SECONDS", lifetime)
    second = Contender(_take_archive_lock)
    for reads in (archive_plan, archive_source):  # planning, and the check before each delete
        slowed(monkeypatch, reads, "read_complete_rows", 0.4, before=second.attempt)
    began = time.monotonic()
    # Cutoff 2023-01-01: the months of 2022 are planned, whatever day the test runs on.
    report = archive.run_archive(datetime(2024, 1, 1, tzinfo=UTC))
    assert report.status == "ok" and report.records_archived == 2 * 365
    assert second.tries == 12 + 1 and second.won == 0
    assert second.last_try - began > 2 * lifetime  # a lock not renewed was gone by then
    assert _take_archive_lock()  # released at the end


def test_an_archive_dry_run_takes_no_lock(tier, local_archive, monkeypatch):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    # A real run is busy: the dry run still reports (it is not skipped) ...
    busy = get_redis().lock(archive_lock.archive_lock_key(), timeout=60)
    assert busy.acquire(blocking=False)
    try:
        report = archive.run_archive(dry_run=True)
    finally:
        busy.release()
    assert report.status == "dry_run" and report.records_archived == 2 * 365
    # ... and while a dry run plans, the scheduled run can take the lock (it is not skipped).
    scheduled = Contender(_take_archive_lock)
    slowed(monkeypatch, archive_plan, "read_complete_rows", 0, before=scheduled.attempt)
    assert archive.run_archive(dry_run=True).status == "dry_run"
    assert scheduled.tries >= 12 and scheduled.won == scheduled.tries


def test_an_archive_run_that_lost_its_lock_stops_and_leaves_the_other_runs_lock(
    tier, local_archive, monkeypatch
):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    key = archive_lock.archive_lock_key()

    def expire_and_take() -> None:  # the run's lock expired and another run took it
        get_redis().set(key, "another run", ex=60)

    slowed(monkeypatch, archive_plan, "read_complete_rows", 0, before=expire_and_take)
    with pytest.raises(LockLost, match="lost to another run"):
        archive.run_archive()
    run = RetentionRun.objects.get(operation=RetentionRun.Operation.ARCHIVE)
    assert run.status == "failed" and "LockLost" in run.errors
    assert run.records_processed in (None, 0)
    assert get_redis().get(key) == "another run"  # not released by the run that lost it


# --- tiers ----------------------------------------------------------------------------------
def test_a_tier_run_renews_its_lock_through_every_day_past_its_expiry(ha_db, monkeypatch):
    entity = ha_db.write_entity(
        "official", "sensor.kettle_power", [(n * 3600 * 6, n) for n in range(16)], unit="W"
    )
    entity.save()
    # A 3 s lock, each of the 4 days' computing slowed by 1.8 s: the run outlasts the lock's
    # expiry twice. The lock is renewed between phases, so a phase's own work (reads, writes,
    # verification) may take up to 1.2 s on a busy machine before the lock would be lost.
    monkeypatch.setattr(chunks, "LOCK_TTL_SECONDS", 3)
    second = Contender(lambda: RunLock(HOURLY, owner="second").acquire())
    slowed(monkeypatch, HourlyTier, "compute", 1.8, before=second.attempt)
    run = tiers.downsample_hourly(D0, D0 + 4 * DAY)
    assert run.status == "ok", run.errors
    assert run.duration_seconds > 6 and run.records_deleted == 16
    assert second.tries == 4 and second.won == 0
    assert get_redis().get(make_key("lock", HOURLY)) is None  # released at the end


def test_a_tier_dry_run_takes_no_lock(ha_db):
    entity = ha_db.write_entity("official", "sensor.iron_power", [(0, 5), (60, 0)], unit="W")
    entity.save()
    key = make_key("lock", HOURLY)
    seen = []
    run = tiers.downsample_hourly(
        D0, D0 + DAY, dry_run=True, progress=lambda *_: seen.append(get_redis().get(key))
    )
    assert run.status == "dry_run" and seen == [None]
    holder = RunLock(HOURLY, owner="run 999")
    assert holder.acquire()
    try:
        assert tiers.downsample_hourly(D0, D0 + DAY, dry_run=True).status == "dry_run"
    finally:
        holder.release()


# --- day ranges of web requests -----------------------------------------------------------
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_tier_run_from_year_one_is_400_and_creates_nothing(admin_client, dry_run):
    for url in ("/retention/downsample-hourly", "/retention/downsample-daily"):
        # Year one is no date InfluxDB can hold; 1999 is one, but before any tier's data.
        response = admin_client.post(
            url, {"start": "0001-01-01", "dry_run": dry_run}, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["start"] == (
            "'0001-01-01' is not valid: expected a date from 1900-01-01 to 2199-12-31."
        )
        response = admin_client.post(
            url, {"start": "1999-12-31", "dry_run": dry_run}, content_type="application/json"
        )
        assert response.status_code == 400
        assert "1999-12-31 is before 2000-01-01" in response.json()["start"]
    assert not RetentionRun.objects.exists() and not TierChunk.objects.exists()


def test_a_view_rebuild_from_year_one_is_400_and_queues_nothing(admin_client):
    url = "/api/views/daily_energy_by_device/rebuild"
    body = {"start": "0001-01-01", "end": "2024-01-01"}
    response = admin_client.post(url, body, content_type="application/json")
    assert response.status_code == 400 and "'0001-01-01' is not valid" in response.json()["start"]
    body = {"start": "1999-12-31", "end": "2024-01-01"}
    response = admin_client.post(url, body, content_type="application/json")
    assert response.status_code == 400 and "is before 2000-01-01" in response.json()["start"]
    assert not RetentionRun.objects.exists()


def test_a_restore_range_is_limited(admin_client, settings):
    url = "/retention/restore"
    body = {"start_date": "0001-01-01", "end_date": "2023-01-01"}
    response = admin_client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["start_date"] == (
        "'0001-01-01' is not valid: expected a date from 1900-01-01 to 2199-12-31."
    )
    body = {"start_date": "1999-12-31", "end_date": "2023-01-01"}
    response = admin_client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "is before 2000-01-01" in response.json()["start_date"]
    settings.RETENTION_MAX_RANGE_DAYS = 365
    body = {"start_date": "2023-01-01", "end_date": "2024-01-01"}
    response = admin_client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "spans 366 days; one request covers at most 365" in response.json()["start_date"]
    assert not RetentionRun.objects.exists()
