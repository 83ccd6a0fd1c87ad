"""An archive run killed (SIGKILL, as the OOM killer would) while a verified file's days leave
the daily tier (moto's S3, real InfluxDB and PostgreSQL): after the row is marked and before
InfluxDB deletes the days, or right after it did. The row says the file is the only copy of its
days either way, so the admin keeps it; the next run finds what is left in InfluxDB, adopts the
file and deletes it; a restore reads every day back. InfluxDB gone right after it took the
delete: the log says the delete was sent, not that "nothing of it was deleted"."""

import logging
from datetime import UTC, date, datetime

import pytest

from enrich.redis.client import get_redis
from retention.archive import format as fmt
from retention.archive import source as archive_source
from retention.archive.lock import archive_lock_key
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.models import ArchiveObject, RetentionRun
from retention.tiers.chunks import run_lock
from tests.support.admin_deletes import delete_in_the_admin
from tests.support.archive import Recording, archive_killed_at, as_rows, daily_rows
from tests.support.proxy import influxdb_proxy_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.influxdb
KEY = "archives/2022/data_2022-01-01.parquet"
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # 2022 a closed year, archived
ROWS = 3 * 365


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault, left", [("archive.after_mark", ROWS), ("archive.after_delete", 0)])
def test_a_run_killed_while_the_days_leave_influxdb_keeps_the_row_and_loses_nothing(
    tier, s3, admin_client, fault, left
):
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    killed = archive_killed_at(tier, s3, fault, NOW.date())
    assert killed.returncode == -9, killed.stderr
    # The dead run's locks would expire; do not wait for them here.
    daily = run_lock(RetentionRun.Operation.DOWNSAMPLE_DAILY, owner="")
    assert get_redis().delete(archive_lock_key(), daily.key) == 2
    assert len(tier.rows()) == left
    obj = ArchiveObject.objects.get(key=KEY)
    # Killed after the delete, the row said the days were still in InfluxDB (the transaction
    # that would have said otherwise died with the process): the admin let it go, and the file
    # became the only copy of its days with no row to restore it from.
    assert obj.verified and obj.source_deleted
    [said] = delete_in_the_admin(admin_client, obj)
    assert f"{KEY} cannot be deleted" in said and "only copy of its days" in said

    storage = Recording(s3.storage())
    report = run_archive(NOW, storage=storage)
    assert (report.errors, report.held_back, report.records_deleted) == ([], [], left)
    assert storage.keys("put") == []  # the file adopted, not uploaded again
    assert tier.rows() == []
    obj.refresh_from_db()
    assert obj.source_deleted and obj.record_count == ROWS
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


@pytest.mark.django_db
def test_influxdb_gone_after_the_delete_is_logged_as_a_delete_sent(
    tier, s3, influxdb_proxy, monkeypatch, caplog
):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    real_count = archive_source.count_rows

    def gone_after_the_delete(start, end, ts):
        influxdb_proxy.close()  # the DELETE was answered; the check after it finds no InfluxDB
        return real_count(start, end, ts)

    monkeypatch.setattr(archive_source, "count_rows", gone_after_the_delete)
    with caplog.at_level(logging.ERROR, logger="retention.archive.run"):
        report = run_archive(NOW)
    monkeypatch.undo()
    influxdb_proxy.open()
    [error] = report.errors
    assert error.startswith(f"{KEY}: InfluxUnavailable: "), error
    said = [r.getMessage() for r in caplog.records if r.name == "retention.archive.run"]
    assert said == [
        f"archiving {KEY} failed once the delete of its rows was sent to InfluxDB (some or all "
        "may be gone; the file holds them, verified; the next run deletes what is left)"
    ], said
    assert tier.rows() == []
    assert ArchiveObject.objects.get(key=KEY).source_deleted is not None
    again = run_archive(NOW)
    assert (again.errors, again.records_deleted, again.bytes_uploaded) == ([], 0, 0)
