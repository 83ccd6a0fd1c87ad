"""The nightly deletion of old collector runs (beat entry "Delete old collector runs", task
`collectors.delete_old_runs`, collectors.run_records): every run older than COLLECTOR_RUN_DAYS
goes but each target's latest run, latest success and latest fetch, which the next fetch, the
budget's cadence and the status page work from. Without it a home's runs (about 550 a day)
were kept for ever. Real PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import run_records, tasks
from collectors.models import CollectorRun

pytestmark = pytest.mark.django_db
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)


def runs(target: str, status: str, *ages: timedelta) -> list[CollectorRun]:
    now = datetime.now(UTC)
    return CollectorRun.objects.bulk_create(
        CollectorRun(source="carbon_intensity", provider="electricitymaps", target=target,
                     started=now - age, status=status)
        for age in ages
    )  # fmt: skip


def left(target: str) -> list[tuple[str, int]]:
    """The target's runs left: (status, whole days old), oldest first."""
    now = datetime.now(UTC)
    rows = CollectorRun.objects.filter(target=target).order_by("started")
    return [(run.status, (now - run.started).days) for run in rows]


def test_runs_older_than_the_setting_go_the_newer_stay(settings):
    settings.COLLECTOR_RUN_DAYS = 30
    # Every 15 minutes for 40 days, as beat runs a carbon collection: 7 minutes .. 39 days
    # 23:52 old.
    runs("DE", "ok", *(n * 15 * MINUTE + 7 * MINUTE for n in range(40 * 96)))
    just_past = runs("DE", "failed", 30 * DAY + MINUTE)
    just_inside = runs("DE", "failed", 30 * DAY - MINUTE)

    deleted = tasks.delete_old_runs()

    assert deleted == 10 * 96 + 1  # those of days 30 to 39, and just_past
    assert CollectorRun.objects.count() == 30 * 96 + 1  # those of days 0 to 29, and just_inside
    assert not CollectorRun.objects.filter(pk=just_past[0].pk).exists()
    assert CollectorRun.objects.filter(pk=just_inside[0].pk).exists()
    assert tasks.delete_old_runs() == 0  # nothing more the next night


def test_a_targets_latest_run_success_and_fetch_stay_however_old(settings):
    settings.COLLECTOR_RUN_DAYS = 30
    # A target that failed for weeks, then was left (its provider config disabled): its last
    # success 50 days ago, its last fetch (no data) 45, its last run (failed) 40. The next
    # fetch asks back to the success, the budget's cadence counts from the fetch, the status
    # page shows the failure: they stay. Everything else that old goes.
    runs("GB", "ok", 60 * DAY, 55 * DAY, 50 * DAY)
    runs("GB", "no_data", 47 * DAY, 45 * DAY)
    runs("GB", "failed", 44 * DAY, 42 * DAY, 40 * DAY)
    runs("DE", "ok", 31 * DAY, 1 * DAY)  # a target still collected: its old run goes
    before = run_records.latest(CollectorRun.objects.all())

    assert tasks.delete_old_runs() == 6

    assert left("GB") == [("ok", 50), ("no_data", 45), ("failed", 40)]
    assert left("DE") == [("ok", 1)]
    assert run_records.latest(CollectorRun.objects.all()) == before
