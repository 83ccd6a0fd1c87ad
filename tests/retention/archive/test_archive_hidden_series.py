"""The archive when InfluxDB hides an entity's rows from its answers and its own counts alike.

InfluxDB 1.x has been seen hiding a series or a shard from SELECTs and counts while still
holding it (restart influxd and it shows again). The archive's check of its reads against
InfluxDB's counts asks the same InfluxDB, so it agreed: the file was written without the hidden
rows and the delete of its time range removed them too. The archive now also checks each file
against the daily tier's records of the rows it wrote (`TierChunk.aggregate_points`).

The real InfluxDB sits behind `tests.support.lossy_influx`, a real HTTP proxy that asks every
SELECT of the daily tier without the hidden entity's rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.influx import connect
from retention.archive import format as fmt
from retention.archive.reader import read_daily_rows
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.models import ArchiveObject, TierChunk
from retention.tiers.chunks import set_chunk
from tests.support.archive import Recording, as_rows, daily_rows

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # cutoff 2024-03-15: 2022 is a closed year
FIRST, DAYS = date(2022, 1, 1), 37
KEY = "archives/2022/data_2022-01-01.parquet"


def in_influxdb(tier) -> list[dict]:
    """The daily rows InfluxDB holds, asked without the proxy."""
    return read_daily_rows(date(1971, 1, 1), date(2100, 1, 1), connect(tier.url))


def tier_ran(days: int = DAYS, rows: int = 3) -> None:
    """The daily tier's records of days it wrote `rows` daily rows each of, then deleted their
    hourly rows (what a daily run leaves in PostgreSQL)."""
    for n in range(days):
        day = FIRST + timedelta(days=n)
        set_chunk(TierChunk.Tier.DAILY, day, TierChunk.State.DELETED, aggregate_points=rows)


def test_an_entity_hidden_from_reads_and_counts_is_neither_archived_nor_deleted(tier, s3, proxy):
    readings = daily_rows(3, FIRST, DAYS)
    tier.write(readings)
    tier_ran()
    proxy.hide = readings[-1].tags["entity_id"]  # its 37 rows, seen by no query nor count
    storage = Recording(s3.storage())
    preview = run_archive(NOW, storage=storage, dry_run=True)  # it listed the short file alone
    [said] = preview.errors
    assert said.startswith(f"{KEY}: InfluxDB shows fewer daily rows than the daily tier's runs")
    report = run_archive(NOW, storage=storage)

    # Before: archived as 74 rows, "ok", and the range deleted with the 37 hidden rows.
    assert in_influxdb(tier) == as_rows(readings)
    assert report.status == "failed" and report.objects == [] and report.records_deleted == 0
    [error] = report.errors
    assert "InfluxDB shows fewer daily rows than the daily tier's runs wrote" in error
    assert "2022-01-01: 2 shown, 3 written" in error and "and 32 more days" in error
    assert "nothing of 2022-01-01..2022-12-31 is archived or deleted" in error
    assert "restart influxd, then run the archive again" in error
    assert storage.keys("put") == [] and not ArchiveObject.objects.exists()

    proxy.hide = ""  # influxd restarted: it shows the series again
    again = run_archive(NOW)
    assert again.errors == [] and [o["key"] for o in again.objects] == [KEY]
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)
    assert in_influxdb(tier) == []


def test_days_without_a_record_or_with_more_rows_than_recorded_are_archived(tier, s3):
    """Rows older than the tiers (imported: no chunk) and rows written after the tier's run
    (late rows, more than it recorded) are archived as before."""
    readings = daily_rows(3, FIRST, DAYS)
    tier.write(readings)
    tier_ran(days=10, rows=2)  # the first 10 days recorded with 2 rows; the rest not at all
    report = run_archive(NOW)

    assert report.errors == [] and report.records_archived == 3 * DAYS
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)
    assert in_influxdb(tier) == []


def test_rows_left_in_an_archived_range_are_checked_with_the_file_that_holds_the_rest(tier, s3):
    """A range archived and deleted, then some of its rows found there again (a crash within
    an earlier delete, a restore into the tier): InfluxDB holds fewer rows than the tier wrote,
    but the file adopted (or merged) holds them all: the rows are deleted, nothing refused."""
    readings = daily_rows(3, FIRST, DAYS)
    tier.write(readings)
    tier_ran()
    assert run_archive(NOW).errors == [] and in_influxdb(tier) == []

    tier.write(readings[:5])  # one entity's first 5 days, as the file holds them
    again = run_archive(NOW)
    assert again.errors == [] and again.records_deleted == 5
    assert [o["record_count"] for o in again.objects] == [3 * DAYS]  # adopted, not rewritten
    assert in_influxdb(tier) == []
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)
