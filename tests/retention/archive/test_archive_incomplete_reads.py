"""The archive when InfluxDB answers a query with fewer rows or field values than it holds.

The real InfluxDB sits behind `tests.support.lossy_influx`, a real HTTP proxy that removes a
value or a row from `SELECT *` answers on demand. The archive checks every range it reads
against InfluxDB's own per-field counts: a lost value is read again, and a range that keeps
coming back short is neither archived nor deleted."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from enrich.influx import connect, get_timeseries
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.archive.plan import plan_archive
from retention.archive.reader import (
    READ_ATTEMPTS,
    field_counts,
    read_complete_rows,
    rows_field_counts,
)
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.models import ArchiveObject
from tests.support.archive import BUCKET, Recording, as_rows, daily_rows

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # cutoff 2024-03-15: 2022 is a closed year
KEY = "archives/2022/data_2022-01-01.parquet"


def test_field_counts_are_influxdbs_own_and_match_the_rows_read(tier):
    readings = daily_rows(4, date(2022, 1, 1), 31)
    tier.write(readings)
    ts = get_timeseries()
    rows = read_complete_rows(date(2022, 1, 1), date(2022, 2, 1), ts)
    counts = field_counts(date(2022, 1, 1), date(2022, 2, 1), ts)
    # 4 entities x 31 days; only the weather entity has humidity_mean, power and energy
    # have avg_value.
    assert counts["sample_count"] == 124 and counts["humidity_mean"] == 31
    assert counts["avg_value"] == 62 and counts == rows_field_counts(rows)
    assert rows == as_rows(readings)


def test_a_value_lost_once_is_read_again(tier, proxy, caplog):
    readings = daily_rows(3, date(2022, 1, 1), 31)
    tier.write(readings)
    proxy.lose, proxy.lose_times = "field", 1
    with caplog.at_level(logging.WARNING, logger="retention.archive"):
        rows = read_complete_rows(date(2022, 1, 1), date(2022, 2, 1), connect(proxy.url))
    assert len(proxy.lost) == 1 and proxy.selects == 2
    assert rows == as_rows(readings)  # the second read was whole
    assert "(attempt 1 of 3)" in caplog.text and "state_changes: 30 read, 31 counted" in caplog.text


def test_a_range_that_keeps_coming_back_short_is_an_error_naming_the_field(tier, proxy):
    tier.write(daily_rows(3, date(2022, 1, 1), 31))
    proxy.lose = "row"
    with pytest.raises(ArchiveError) as raised:
        read_complete_rows(date(2022, 1, 1), date(2022, 2, 1), connect(proxy.url))
    message = str(raised.value)
    assert "coverage_seconds: 92 read, 93 counted" in message
    assert f"{READ_ATTEMPTS} reads in a row" in message and "restart influxd" in message
    assert proxy.selects == READ_ATTEMPTS


def test_nothing_is_archived_or_deleted_while_influxdb_answers_short(tier, s3, proxy):
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    proxy.lose = "field"  # every read of every month loses a value
    storage = Recording(s3.storage())
    report = run_archive(NOW, storage=storage)

    assert report.status == "failed" and report.objects == []
    assert any("than it counts" in e and "2022-01-01..2022-01-31" in e for e in report.errors)
    assert storage.keys("put") == [] and not ArchiveObject.objects.exists()
    proxy.lose = ""
    assert len(fmt.row_index(tier.rows())) == 3 * 365  # every row still in InfluxDB

    again = run_archive(NOW)  # InfluxDB answers whole again: archived as usual
    assert again.errors == [] and [o["key"] for o in again.objects] == [KEY]
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)
    assert tier.rows() == []


def test_a_row_hidden_at_delete_time_stops_the_delete(tier, s3, proxy):
    """The file is written from whole reads; then InfluxDB starts hiding a row, so the check
    before the delete cannot see everything it would delete: nothing is deleted."""
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    plan_archive(NOW)
    plan_selects = proxy.selects  # the reads the plan makes; the next one is the check
    proxy.lose, proxy.lose_from = "row", 2 * plan_selects + 1
    report = run_archive(NOW)

    assert report.status == "failed" and any("than it counts" in e for e in report.errors)
    obj = ArchiveObject.objects.get(key=KEY)
    assert obj.verified and obj.record_count == 3 * 365 and obj.source_deleted is None
    assert s3.client().head_object(Bucket=BUCKET, Key=KEY)["ContentLength"] == obj.file_size
    proxy.lose = ""
    assert len(tier.rows()) == 3 * 365  # nothing deleted

    again = run_archive(NOW)  # the next run adopts the verified file and deletes the rows
    assert again.errors == [] and tier.rows() == []
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)
