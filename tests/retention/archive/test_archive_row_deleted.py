"""An archive object's row deleted in the admin while its archive run is about to delete the
file's rows from the daily tier (moto's S3, real InfluxDB and PostgreSQL): the admin lets it go,
as the days are still in InfluxDB and the next run adopts the file. The run deletes nothing,
says why, and the next run archives the days, which a restore then reads back."""

from datetime import UTC, date, datetime

import pytest

from retention.archive.restore import restore_to_influxdb
from retention.archive.run import run_archive
from retention.models import ArchiveObject
from tests.support.admin_deletes import delete_in_the_admin
from tests.support.archive import daily_rows, read_back

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
KEY = "archives/2022/data_2022-01-01.parquet"
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # 2022 a closed year, archived


def test_a_row_deleted_before_the_delete_keeps_the_days_in_influxdb(
    tier, s3, monkeypatch, admin_client, settings
):
    tier.write(daily_rows(4, date(2022, 1, 1), 365))
    said = []

    def reached(point: str) -> None:
        if point == "archive.before_delete" and not said:
            said.extend(delete_in_the_admin(admin_client, ArchiveObject.objects.get(key=KEY)))

    monkeypatch.setattr("retention.faults.point", reached)
    report = run_archive(NOW)

    assert said == [f"The archive object “{KEY}” was deleted successfully."]
    # Before, the run deleted the 1,460 rows all the same, then failed (DatabaseError, logged
    # "nothing of it was deleted"): the days were in a file no row named, restore found nothing.
    assert (report.errors, report.records_deleted) == ([], 0)
    [held] = report.held_back
    assert held["why"].endswith(
        "its row was deleted (in the admin) meanwhile; the next run archives them"
    )
    assert len(tier.rows()) == 1460 and not ArchiveObject.objects.exists()

    again = run_archive(NOW)
    assert (again.errors, again.records_deleted) == ([], 1460)
    assert ArchiveObject.objects.get(key=KEY).source_deleted is not None
    assert tier.rows() == []
    restored = restore_to_influxdb(date(2022, 1, 1), date(2022, 12, 31))
    assert restored.records == 1460 == len(read_back(settings.RESTORE_INFLUXDB_DATABASE))
