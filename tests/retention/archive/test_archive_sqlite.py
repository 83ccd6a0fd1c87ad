"""An archive run on the embedded SQLite database (a file shared by `make run`'s processes)
while a collector records its run (real InfluxDB, the local archive directory, in a child
process): InfluxDB deletes the verified file's days with no transaction open, so the collector's
record does not wait for InfluxDB. It waited while the run held a transaction around the delete:
on SQLite that is the database's one write lock."""

from datetime import date

import pytest

from tests.support.archive import daily_rows
from tests.support.sqlite_sides import COLLECTION, SIDES
from tests.support.startup import run_django

pytestmark = pytest.mark.influxdb

# InfluxDB deletes the days only once `recorded` is set (or after 3 s).
ARCHIVE_BESIDE_A_COLLECTION = (
    SIDES
    + COLLECTION
    + """
from django.core.management import call_command
from enrich.influx import get_timeseries
from retention.archive.run import run_archive
from retention.models import ArchiveObject
call_command("migrate", verbosity=0)
deleting, recorded = threading.Event(), threading.Event()
gateway = type(get_timeseries())
delete = gateway.delete

def slow_delete(self, *args, **kwargs):
    deleting.set()
    recorded.wait(3)
    said.append("daily rows deleted")
    return delete(self, *args, **kwargs)

gateway.delete = slow_delete

def archive():
    report = run_archive(datetime(2025, 3, 15, 12, tzinfo=UTC))
    return f"{report.records_deleted} rows archived and deleted {report.errors}"

threads = [side(archive, then=deleting), side(collection, after=deleting, then=recorded)]
[t.join() for t in threads]
print(said)
print([(o.key, o.source_deleted is not None) for o in ArchiveObject.objects.all()])
"""
)


def test_an_archive_run_lets_other_writes_through_while_influxdb_deletes(tier, tmp_path):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    result = run_django(
        ARCHIVE_BESIDE_A_COLLECTION,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        TIER_DATABASE=tier.database,
        INFLUXDB_DATABASE=tier.enrich_database,
        RETENTION_DAILY_DAYS="365",
        ARCHIVE_PERIOD="month",
        S3_ARCHIVE_BUCKET="",
        ARCHIVE_LOCAL_DIR=str(tmp_path / "archive"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == [
        "['collector run recorded', 'daily rows deleted', '730 rows archived and deleted []']",
        "[('archives/2022/data_2022-01-01.parquet', True)]",
    ]
    assert tier.rows() == []
