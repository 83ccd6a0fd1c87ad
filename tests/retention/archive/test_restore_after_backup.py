"""Enrich's database back from a backup taken before an archive run merged late rows into an
archived file (docs/deployment.md, Backups under `make run`): the index records the file as it
was, the store holds the merged file. A restore of its days said "the object is damaged or was
replaced" and the index rebuild left the row as it was ("1 already indexed"), so the days could
not be restored at all. Against the real tiers, InfluxDB and a local archive directory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from retention.archive import format as fmt
from retention.archive.errors import VerificationError
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.models import ArchiveObject, RetentionRun, TierChunk
from retention.tiers import runner as tiers
from tests.retention.conftest import HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D = date(2022, 3, 1)
T = datetime(2022, 3, 1, tzinfo=UTC)
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # 2022 is a closed year of the archive


def test_a_file_merged_after_the_backup_is_indexed_again_and_restored(tier, local_archive):
    ha = HaDatabase(tier.database)
    points = [(T + n * 3 * HOUR, 100 + n) for n in range(24)]  # 3 days, 8 states a day
    ha.saved_entity("official", "sensor.boiler_power", points, unit="W")
    assert tiers.downsample_hourly(D, D + 3 * DAY, now=NOW).status == "ok"
    assert tiers.downsample_daily(D, D + 3 * DAY, now=NOW).status == "ok"
    assert run_archive(NOW).errors == []
    backup = {
        model: list(model.objects.all()) for model in (TierChunk, ArchiveObject, RetentionRun)
    }
    # A late state of an archived day, folded into its archived row, merged into the file.
    ha.write_entity(
        "official", "sensor.boiler_power", [(T + 12 * HOUR + timedelta(minutes=1), 5)], unit="W"
    )
    assert tiers.downsample_hourly(D, D + DAY, now=NOW).details["late_points"] == 1
    [obj] = ArchiveObject.objects.all()
    uploaded = get_storage().head(obj.key).last_modified
    assert run_archive(uploaded + timedelta(days=91)).objects  # the file may be rewritten now
    merged = ArchiveObject.objects.get().checksum
    for model, rows in backup.items():  # enrich's database from the backup
        model.objects.all().delete()
        model.objects.bulk_create(rows)

    with pytest.raises(VerificationError) as caught:
        restore_from_archive(D, D + 2 * DAY)
    assert str(caught.value) == (
        f"{obj.key} in {local_archive} does not match its recorded SHA-256 {obj.checksum}: it "
        "is a later version an archive run wrote (late rows merged into it), which the index "
        "does not record (the database may have come back from a backup older than that run). "
        "Not restored. Run manage.py rebuild_archive_index, which records it, and restore again."
    )  # before: "...; the object is damaged or was replaced. Not restored."
    call_command("rebuild_archive_index")
    assert ArchiveObject.objects.get().checksum == merged  # before: the row as it was
    rows = fmt.table_rows(restore_from_archive(D, D + 2 * DAY))
    assert [row["sample_count"] for row in rows] == [9, 8, 8]  # the late state counted
