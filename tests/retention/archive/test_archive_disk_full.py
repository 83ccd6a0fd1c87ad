"""The local archive directory (ARCHIVE_LOCAL_DIR) on a full disk, a real one: a 4 MB tmpfs
filled to its last byte. The run said "Cannot write …/.data_2022-01-01.parquet.meta.json:
[Errno 28] No space left on device. Check ARCHIVE_LOCAL_DIR and its permissions." (nothing is
wrong with the permissions); it says the directory is full. Nothing leaves InfluxDB without its
verified file, no partial file is left, and the next run once there is room archives it all.
A disk with room for a file's metadata but not its bytes wrote the metadata of a merge (old
rows + late rows) over the archived file's: the intact file then failed its own SHA-256, and an
index rebuild (a lost database) refused it as damaged; both files now change together or not
at all."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from retention.archive import format as fmt
from retention.archive.index import rebuild_index
from retention.archive.local import LocalStorage
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.models import ArchiveObject, RetentionRun
from tests.support.archive import as_rows, daily_rows
from tests.support.full_disk import FILLER, fill, free, tmpfs

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)
KEY = "archives/2022/data_2022-01-01.parquet"


@pytest.fixture
def disk(settings, tmp_path):
    with tmpfs(tmp_path / "disk", "4m") as disk:
        settings.S3_ARCHIVE_BUCKET = ""
        settings.ARCHIVE_LOCAL_DIR = disk / "archive"
        yield disk


def files(disk) -> list[str]:
    """Every file on the disk but the filler, hidden ones (metadata, temporary) too."""
    return sorted(p.name for p in disk.rglob("*") if p.is_file() and p.name != FILLER)


def is_full(error: str, directory) -> bool:
    return (
        f"The archive directory '{directory}' (ARCHIVE_LOCAL_DIR) is full: " in error
        and "(No space left on device). Free space on its disk" in error
    )


def test_a_full_directory_deletes_nothing_says_so_and_the_next_run_archives(tier, disk, settings):
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    fill(disk)
    report = run_archive(NOW)
    assert report.status == "failed" and report.errors, report
    assert all(is_full(error, settings.ARCHIVE_LOCAL_DIR) for error in report.errors), report
    run = RetentionRun.objects.get(operation="archive")
    assert run.status == "failed" and is_full(run.errors, settings.ARCHIVE_LOCAL_DIR)
    assert report.records_deleted == 0 and len(tier.rows()) == 3 * 365
    assert not ArchiveObject.objects.exists() and files(disk) == []  # no partial file

    free(disk)
    report = run_archive(NOW)
    assert report.status == "ok" and report.errors == []
    assert tier.rows() == []
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


def test_room_for_the_metadata_alone_leaves_the_archived_file_as_it_was(tier, disk, settings):
    readings = daily_rows(2, date(2022, 1, 1), 365)
    tier.write(readings)
    assert run_archive(NOW).errors == []
    path = settings.ARCHIVE_LOCAL_DIR / KEY
    archived = path.read_bytes()
    late = [type(r)(r.measurement, r.fields, r.time, {"entity_id": "sensor.late", "kind": "power"})
            for r in daily_rows(1, date(2022, 3, 1), 2, seed=5)]  # fmt: skip
    tier.write(late)
    later = datetime.fromtimestamp(path.stat().st_mtime, UTC) + timedelta(days=91)  # rewritable
    (disk / "page").write_bytes(bytes(4096))
    fill(disk)
    (disk / "page").unlink()  # one page free: the merge's metadata fits, its Parquet bytes not

    report = run_archive(later)
    assert report.status == "failed" and is_full(report.errors[0], settings.ARCHIVE_LOCAL_DIR)
    assert len(tier.rows()) == 2  # the late rows stay in InfluxDB
    assert path.read_bytes() == archived
    storage = LocalStorage(settings.ARCHIVE_LOCAL_DIR)
    assert storage.head(KEY).metadata["sha256"] == hashlib.sha256(archived).hexdigest()
    assert files(disk) == [f".{path.name}.meta.json", path.name]

    ArchiveObject.objects.all().delete()  # the database lost: the index is rebuilt from files
    rebuilt = rebuild_index()
    assert [i["key"] for i in rebuilt.indexed] == [KEY] and rebuilt.refused == []
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)

    free(disk)
    report = run_archive(later)
    assert report.status == "ok" and tier.rows() == []
    restored = fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31"))
    assert restored == sorted(
        as_rows(readings) + as_rows(late), key=lambda r: (r["entity_id"], r["time"])
    )
