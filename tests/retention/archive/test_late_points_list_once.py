"""What an hourly run folding late points of archived days asks of the bucket: S3 bills every
LIST request, so a run with late points in many days whose file the index lost lists the
archive's keys once, not once per day. Counted at a proxy in front of moto's S3 server, with
the real InfluxDB, Redis and PostgreSQL."""

from __future__ import annotations

import pytest

from retention.archive.run import run_archive
from retention.entities.ha_source import count_samples
from retention.models import ArchiveObject
from retention.tiers import runner as tiers
from tests.retention.conftest import HaDatabase
from tests.support.late_archive import BOILER, DAY, HOUR, NOW, D, T, ok
from tests.support.s3_requests import counting_s3

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAYS = 5
MONTH_KEY = "archives/2022/data_2022-03-01.parquet"


def test_late_points_of_many_days_whose_file_the_index_lost_list_the_bucket_once(
    tier, s3, settings
):
    ha = HaDatabase(tier.database)
    points = [(T + n * DAY + h * HOUR, 100 + n) for n in range(DAYS) for h in (0, 6)]
    ha.saved_entity("official", BOILER, points, unit="W")
    ok(tiers.downsample_hourly(D, D + DAYS * DAY))
    ok(tiers.downsample_daily(D, D + DAYS * DAY))
    report = run_archive(NOW)
    assert (report.errors, report.records_deleted) == ([], DAYS)
    assert list(ArchiveObject.objects.values_list("key", flat=True)) == [MONTH_KEY]
    # The database came back from a backup older than the archive run: the index lost the file.
    ArchiveObject.objects.all().delete()
    # A buffered state arrives late for each of the days (an ESP with a wrong clock).
    late = [(T + n * DAY + 15 * HOUR, 5) for n in range(DAYS)]
    entity = ha.write_entity("official", BOILER, late, unit="W")

    with counting_s3(settings, s3) as bucket:
        run = ok(tiers.downsample_hourly(D, D + DAYS * DAY))

    # Each day's late point waits for the index, naming the file and the command.
    notes = run.details["waiting"]
    assert len(notes) == DAYS, notes
    for n, note in enumerate(notes):
        assert note.startswith(f"{BOILER}: 1 late point of {D + n * DAY} kept raw"), note
        assert MONTH_KEY in note and "manage.py rebuild_archive_index" in note, note
    assert count_samples(entity, T, T + DAYS * DAY) == DAYS
    # One LIST for the run (before: one per day, 5); the file's metadata read once.
    assert bucket.lists() == ["archives/"]
    assert bucket.heads(MONTH_KEY) == 1
