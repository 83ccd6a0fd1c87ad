"""Late daily rows merged into an archived file whose days left InfluxDB long ago: the file's
row goes on saying those days are gone (`source_deleted`) while the run has not deleted the late
rows yet (the daily tier's lock held, a check that stops the delete), so the admin keeps the row
of the only copy of the old days. It was recorded again with `source_deleted` empty, which let
the admin delete it: restore then found nothing for the year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.redis.lock import RunLock
from retention.archive import lock as archive_lock
from retention.archive import source as archive_source
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.models import ArchiveObject
from tests.support.admin_deletes import delete_in_the_admin
from tests.support.archive import daily_rows

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # 2022 is a closed year
KEY = "archives/2022/data_2022-01-01.parquet"


def archived_year_with_late_rows(tier) -> tuple[ArchiveObject, datetime]:
    """2022 archived (its daily rows deleted), then two late rows of March written; with when
    the file is old enough to be rewritten with them."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    assert run_archive(NOW).records_deleted == 2 * 365
    late = [type(r)(r.measurement, r.fields, r.time, {"entity_id": "sensor.late", "kind": "power"})
            for r in daily_rows(1, date(2022, 3, 1), 2, seed=5)]  # fmt: skip
    tier.write(late)
    later = get_storage().head(KEY).last_modified + timedelta(days=91)
    return ArchiveObject.objects.get(key=KEY), later


def refused(admin_client, obj: ArchiveObject) -> None:
    said = delete_in_the_admin(admin_client, obj)
    assert said[0].startswith(f"{obj.key} cannot be deleted: restore finds {obj.key} only "), said
    assert ArchiveObject.objects.filter(pk=obj.pk).exists()


def test_a_merge_held_back_by_the_daily_tier_keeps_the_row_of_the_only_copy(
    tier, local_archive, admin_client, monkeypatch
):
    obj, later = archived_year_with_late_rows(tier)
    first = obj.source_deleted
    monkeypatch.setattr(archive_lock, "DAILY_WAIT_SECONDS", 0.5, raising=False)
    daily_run = RunLock("downsample_daily", owner="hourly -> daily run 41", ttl_seconds=60)
    assert daily_run.acquire()
    try:
        report = run_archive(later)
    finally:
        daily_run.release()
    assert (report.errors, report.records_deleted, len(report.held_back)) == ([], 0, 1)
    obj = ArchiveObject.objects.get(key=KEY)
    assert obj.record_count == 2 * 365 + 2 and len(tier.rows()) == 2
    assert obj.source_deleted == first  # the old days are still gone from InfluxDB
    refused(admin_client, obj)
    again = run_archive(later)  # the merged file adopted, the late rows deleted
    assert (again.errors, again.records_deleted, again.bytes_uploaded) == ([], 2, 0)
    assert tier.rows() == [] and restore_from_archive("2022-01-01", "2022-12-31").num_rows == 732


def test_a_merge_whose_last_check_stops_the_delete_keeps_the_row_of_the_only_copy(
    tier, local_archive, admin_client, monkeypatch
):
    obj, later = archived_year_with_late_rows(tier)
    first = obj.source_deleted
    real_read = archive_source.read_complete_rows

    def written_meanwhile(start, end, ts):
        rows = real_read(start, end, ts)
        tier.write(daily_rows(1, date(2022, 3, 3), 1, seed=9))  # a row the file does not hold
        return real_read(start, end, ts) if rows else rows

    monkeypatch.setattr(archive_source, "read_complete_rows", written_meanwhile)
    report = run_archive(later)
    monkeypatch.undo()
    assert "that archives/2022/data_2022-01-01.parquet does not hold" in report.errors[0]
    obj = ArchiveObject.objects.get(key=KEY)
    assert obj.source_deleted == first and report.records_deleted == 0
    refused(admin_client, obj)
