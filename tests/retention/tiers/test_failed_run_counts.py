"""A tier run that stops part-way, against the real InfluxDB and Redis: its lock taken by
another run once its second day is verified, or InfluxDB out of reach once a daily run has
deleted its hourly rows. Its record and summary said "0 days, 0 entities, 48 hourly rows -> 2
daily rows, 0 deleted" (the daily tier counted a day only once deleted, and its deletes only once
the daily rows were rewritten), and the hourly tier left out the day verified as its lock was
lost, though both days' rows were written and verified. Now the failed run counts what it did
before it stopped, as a run that finished counts those days."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrich.redis.client import get_redis
from retention import faults
from retention.models import RetentionRun
from retention.tiers.chunks import run_lock
from retention.tiers.rows import DAILY_RP, HOURLY_RP
from retention.tiers.runner import summary
from tests.retention.conftest import T0
from tests.support.proxy import influxdb_proxy_fixture  # noqa: F401  (fixture)
from tests.support.tier_runs import AFTER_VERIFY, DAY, DAYS, RANGE, three_days, tier_rows

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FIRST_TWO = [T0.date().isoformat(), (T0 + DAY).date().isoformat()]


# What a run that verified the first two days of three counts, by command.
COUNTS = {
    "downsample_hourly": "16 raw points -> 48 hourly rows",
    "downsample_daily": "48 hourly rows -> 2 daily rows",
}


@pytest.mark.parametrize(("command", "label", "point"), AFTER_VERIFY)
def test_a_run_that_lost_its_lock_counts_the_days_it_verified(
    ha_db, monkeypatch, command, label, point
):
    three_days(ha_db, command)
    other = run_lock(command, owner="another run")
    reached = []

    def verified(name: str) -> None:
        if name == point:
            reached.append(name)
            if len(reached) == 2:  # the second day verified: the lock expired, another took it
                get_redis().delete(other.key)
                assert other.acquire()

    monkeypatch.setattr(faults, "point", verified)
    try:
        with pytest.raises(CommandError):
            call_command(command, *RANGE)
    finally:
        other.release()
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed", run.errors
    assert f"failed; 2 days, 1 entity, {COUNTS[command]}, 0 deleted; errors: LockLost" in summary(
        run
    )
    assert run.details["days"] == FIRST_TWO and run.details["entities"] == 1
    hourly = command == "downsample_hourly"
    assert run.records_processed == (16 if hourly else 48)
    assert run.details["rows_written"] == (48 if hourly else 2) and run.records_deleted == 0
    assert tier_rows(HOURLY_RP if hourly else DAILY_RP) == (48 if hourly else 2)


def test_a_daily_run_that_lost_influxdb_after_its_delete_counts_what_it_deleted(
    ha_db,
    influxdb_proxy,
    monkeypatch,
):
    three_days(ha_db, "downsample_daily")
    assert tier_rows(HOURLY_RP) == DAYS * 24

    def influxdb_goes_away(name: str) -> None:
        if name == "daily:before_rewrite":
            influxdb_proxy.close()

    monkeypatch.setattr(faults, "point", influxdb_goes_away)
    with pytest.raises(CommandError, match="Nothing unverified was deleted"):
        call_command("downsample_daily", *RANGE)
    run = RetentionRun.objects.filter(operation="downsample_daily").latest("pk")
    assert run.status == "failed" and "InfluxDB became unreachable" in run.errors
    days = [(T0 + n * DAY).date().isoformat() for n in range(DAYS)]
    assert run.details["days"] == days and run.details["entities"] == 1
    assert run.records_processed == DAYS * 24 and run.details["rows_written"] == DAYS
    assert run.records_deleted == DAYS * 24  # the hourly rows are gone
    assert "failed; 3 days, 1 entity, 72 hourly rows -> 3 daily rows, 72 deleted" in summary(run)

    monkeypatch.undo()
    influxdb_proxy.open()
    assert tier_rows(HOURLY_RP) == 0
    call_command("downsample_daily", *RANGE)  # rewrites the daily rows the delete took
    assert RetentionRun.objects.filter(operation="downsample_daily").latest("pk").status == "ok"
    assert tier_rows(DAILY_RP) == DAYS


@pytest.mark.parametrize(("command", "label", "point"), AFTER_VERIFY)
def test_a_command_that_lost_influxdb_says_what_its_run_did_so_far(
    ha_db, influxdb_proxy, monkeypatch, command, label, point
):
    """Its message said only that InfluxDB was out of reach and nothing unverified deleted, not
    a word of what the run did, which its record counts (and which a lost lock's summary line
    says): now it names the run and its counts."""
    three_days(ha_db, command)
    reached = []

    def influxdb_goes_away(name: str) -> None:
        if name == point:
            reached.append(name)
            if len(reached) == 2:  # the second day verified
                influxdb_proxy.close()

    monkeypatch.setattr(faults, "point", influxdb_goes_away)
    with pytest.raises(CommandError) as failed:
        call_command(command, *RANGE)
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed" and run.details["days"] == FIRST_TWO, run.errors
    said = str(failed.value)
    assert said.startswith(f"Cannot reach InfluxDB at {influxdb_proxy.url}"), said
    assert said.endswith(
        f" Before it stopped, {label} run {run.pk} did: 2 days, 1 entity, {COUNTS[command]}, 0 "
        "deleted. Nothing unverified was deleted; run the command again when InfluxDB is back "
        "(it resumes where it stopped)."
    ), said
