"""The archive run beside the tiers: an hourly run folding a late point into a daily row, or a
daily run writing daily rows, while the archive deletes that range. The archive checked the
rows against its file, then deleted the range: a row written in between went with it, unarchived
(and the late point's raw state was deleted by the fold). Now it checks and deletes holding the
daily tier's lock, under which both write daily rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enrich.redis.lock import RunLock
from retention.archive import lock as archive_lock
from retention.archive import source as archive_source
from retention.archive.run import run_archive
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.models import ArchiveObject, Entity
from retention.tiers import runner as tiers
from retention.tiers.archived import archived_row
from retention.tiers.rows import DAILY_RP, read_rows
from tests.retention.conftest import HaDatabase, official_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
FIRST = datetime(2022, 3, 1, tzinfo=UTC)
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # 2022 is due for the archive
POWER = "sensor.heat_pump_power"


def a_daily_day(tier) -> HaDatabase:
    """The heat pump's day of 2022-03-01 downsampled to its daily row (raw states gone)."""
    ha = HaDatabase(tier.database)
    ha.write(official_readings(POWER, [(FIRST, 500.0)], unit="W", device_class="power"))
    discover(ha.name, "official")
    for run in (tiers.downsample_hourly, tiers.downsample_daily):
        assert run(FIRST.date(), FIRST.date() + DAY).status == "ok"
    return ha


def the_row() -> dict:
    """The day's row as it is kept: in the daily tier, or else in the archive."""
    rows = read_rows(DAILY_RP, FIRST, FIRST + DAY, POWER).get(POWER)
    row = rows[0] if rows else archived_row(POWER, FIRST)
    assert row is not None, "the day's row is neither in the daily tier nor in the archive"
    return row.fields


def test_a_late_point_folded_while_the_archive_deletes_its_day_is_kept(
    tier, local_archive, monkeypatch
):
    ha = a_daily_day(tier)
    before = the_row()
    late = [(FIRST + 12 * HOUR, 3.0)]  # a buffered state of that day arrives
    ha.write(official_readings(POWER, late, unit="W", device_class="power"))
    real_read = archive_source.read_complete_rows
    beside = []

    def fold_meanwhile(start, end, ts):
        rows = real_read(start, end, ts)  # the archive's last check before its delete
        beside.append(tiers.downsample_hourly(FIRST.date(), FIRST.date() + DAY))
        return rows

    monkeypatch.setattr(archive_source, "read_complete_rows", fold_meanwhile)
    report = run_archive(NOW)
    assert report.errors == [] and report.records_deleted == 1
    entity = Entity.objects.get(entity_id=POWER)
    kept_raw = count_samples(entity, FIRST, FIRST + DAY)
    monkeypatch.undo()
    assert tiers.downsample_hourly(FIRST.date(), FIRST.date() + DAY).status == "ok"
    after = the_row()  # before: the file's row without it, its raw state deleted
    assert after["sample_count"] == before["sample_count"] + 1 and after["min_value"] == 3.0
    assert count_samples(entity, FIRST, FIRST + DAY) == 0
    # The hourly run beside the delete left it raw, saying why; the next one folded it.
    [hourly] = beside
    assert kept_raw == 1 and hourly.details["waiting"] == [
        "late points not folded in: the lock of the hourly -> daily runs is held by archive run "
        f"{report.run_id} deleting archives/2022/data_2022-03-01.parquet's rows since "
        f"{hourly.details['waiting'][0].split(' since ')[1]}"
    ]


def test_rows_of_a_file_wait_while_the_daily_tier_runs_and_the_next_run_deletes_them(
    tier, local_archive, monkeypatch
):
    a_daily_day(tier)
    monkeypatch.setattr(archive_lock, "DAILY_WAIT_SECONDS", 0.5, raising=False)
    daily_run = RunLock("downsample_daily", owner="hourly -> daily run 41", ttl_seconds=60)
    assert daily_run.acquire()
    holder = daily_run.holder()  # "hourly -> daily run 41 since <when>"
    try:
        report = run_archive(NOW)
    finally:
        daily_run.release()
    assert (report.status, report.errors, report.records_deleted) == ("ok", [], 0)
    [held] = report.held_back
    assert held["why"] == (
        "archived and verified; its rows stay in InfluxDB meanwhile: the lock of the "
        f"hourly -> daily runs is held by {holder}, under which daily rows are written; the "
        "next run deletes them"
    )
    [obj] = ArchiveObject.objects.all()
    assert obj.verified is not None and obj.source_deleted is None
    assert read_rows(DAILY_RP, FIRST, FIRST + DAY, POWER)[POWER]
    again = run_archive(NOW)  # the file is adopted, not uploaded again
    assert (again.records_deleted, again.bytes_uploaded, again.held_back) == (1, 0, [])
    assert read_rows(DAILY_RP, FIRST, FIRST + DAY, POWER) == {}
    obj.refresh_from_db()
    assert obj.source_deleted is not None
