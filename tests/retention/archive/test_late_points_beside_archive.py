"""Late points of an archived day folded beside the archive's other runs, on moto's S3: an index
rebuild that has indexed only part of the files, an archive run replacing the day's file (a
merge). The hourly run read the day's row from the archive without the archive's lock: beside a
rebuild it found no file for the day, took the late point for the day's whole record, and the
next archive run merged that row over the archived one (the day's mean and energy lost);
beside a merge it read a file being replaced (told "damaged or was replaced"), or wrote a row
the archive run then refused to delete (the run failed). Now it reads and writes those rows
holding the archive's lock; while another run holds it the late points wait, saying so."""

from __future__ import annotations

import pytest

from retention import faults
from retention.archive.index import rebuild_index
from retention.archive.run import run_archive
from retention.entities.ha_source import count_samples
from retention.models import ArchiveObject
from retention.tiers import runner as tiers
from tests.support.late_archive import (
    BOILER,
    DAY,
    KEY,
    PUMP,
    D,
    T,
    archived,
    archived_day,
    assert_counted_once,
    late_point,
    merge_allowed,
    ok,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def test_a_late_point_waits_while_the_index_is_rebuilt_and_adds_to_the_archived_row(tier, s3):
    ha = archived_day(tier)
    before = archived(BOILER)
    assert before["sample_count"] == 2 and before["total_energy"] == pytest.approx(6.0)
    # The relational database came back from a backup taken before the archive run: the file
    # is in the bucket, its ArchiveObject row is not; the rebuild indexes it again.
    ArchiveObject.objects.all().delete()
    entity = late_point(ha, BOILER, 5)
    beside = []

    def hourly_run_meanwhile(keys):  # the rebuild holds the archive's lock, F not indexed yet
        beside.append(tiers.downsample_hourly(D, D + DAY))
        yield from keys

    report = rebuild_index(progress=hourly_run_meanwhile)
    assert [i["key"] for i in report.indexed] == [KEY]
    ok(tiers.downsample_hourly(D, D + DAY))
    assert count_samples(entity, T, T + DAY) == 0
    assert run_archive(merge_allowed()).errors == []
    # Before, the run beside the rebuild took the late point for the day's whole record (no
    # file covered the day yet) and the archive merged that row over the day's: mean 5 W.
    assert_counted_once(before, archived(BOILER), low=5)
    assert archived(PUMP)["sample_count"] == 2
    [hourly] = beside
    ok(hourly)
    assert hourly.details["late_points"] == 0
    [note] = hourly.details["waiting"]
    assert note.startswith(
        f"{BOILER}: 1 late point of {D} kept raw: the day is archived and its row could not be "
        "read from the archive (the archive's lock is held by index rebuild since "
    ), note
    assert note.endswith(
        ": reading an archived day's row waits for it (an archive run may replace or delete the "
        "day's file meanwhile, an index rebuild may not have indexed it yet); the next run reads "
        "it)"
    ), note


@pytest.mark.parametrize("fault", ["archive.after_upload", "archive.before_delete"])
def test_a_late_point_waits_while_the_archive_merges_the_days_file(tier, s3, monkeypatch, fault):
    """The heat pump's late point was folded earlier: the archive run merges its row into the
    file, and the boiler's late point reaches an hourly run while the file is replaced."""
    ha = archived_day(tier)
    before = {entity_id: archived(entity_id) for entity_id in (BOILER, PUMP)}
    late_point(ha, PUMP, 50)
    ok(tiers.downsample_hourly(D, D + DAY))  # the pump's row, corrected, waits for the archive
    entity = late_point(ha, BOILER, 5)
    real, beside = faults.point, []

    def hourly_run_meanwhile(name: str) -> None:
        if name == fault and not beside:
            beside.append(tiers.downsample_hourly(D, D + DAY))
        real(name)

    monkeypatch.setattr(faults, "point", hourly_run_meanwhile)
    report = run_archive(merge_allowed())
    monkeypatch.setattr(faults, "point", real)
    # Before: beside the upload the hourly run read the new file under the old checksum ("does
    # not match its recorded SHA-256 ...; the object is damaged or was replaced"); beside the
    # delete it wrote the boiler's row, which the file did not hold: the archive run failed.
    assert (report.errors, report.records_deleted) == ([], 1)
    [hourly] = beside
    ok(hourly)
    assert hourly.details["late_points"] == 0 and count_samples(entity, T, T + DAY) == 1
    [note] = hourly.details["waiting"]
    assert note.startswith(
        f"{BOILER}: 1 late point of {D} kept raw: the day is archived and its row could not be "
        f"read from the archive (the archive's lock is held by archive run {report.run_id} since "
    ), note
    ok(tiers.downsample_hourly(D, D + DAY))
    assert count_samples(entity, T, T + DAY) == 0
    assert run_archive(merge_allowed()).errors == []
    assert_counted_once(before[BOILER], archived(BOILER), low=5)
    assert_counted_once(before[PUMP], archived(PUMP), low=50)


def test_an_archive_run_beside_a_fold_into_an_archived_row_waits_for_it(tier, s3, monkeypatch):
    """The other way round: an archive run starting while an hourly run folds a late point into
    an archived row (written back, its raw state not deleted yet) archives nothing yet, naming
    that run; the next archive run merges the corrected row."""
    ha = archived_day(tier)
    before = archived(BOILER)
    entity = late_point(ha, BOILER, 5)
    real, beside = faults.point, []

    def archive_run_meanwhile(name: str) -> None:
        if name == "hourly:late_after_write" and not beside:
            beside.append(run_archive(merge_allowed()))
        real(name)

    monkeypatch.setattr(faults, "point", archive_run_meanwhile)
    hourly = ok(tiers.downsample_hourly(D, D + DAY))
    monkeypatch.setattr(faults, "point", real)
    assert hourly.details["late_points"] == 1 and count_samples(entity, T, T + DAY) == 0
    [report] = beside
    assert report.status == "skipped" and report.objects == []
    assert report.errors[0].startswith(
        f"the archive's lock is held by raw -> hourly run {hourly.pk} folding late points into "
        "archived days since "
    ), report.errors
    assert run_archive(merge_allowed()).errors == []
    assert_counted_once(before, archived(BOILER), low=5)
