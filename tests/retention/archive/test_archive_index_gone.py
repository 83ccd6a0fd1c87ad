"""The archive index (ArchiveObject rows) gone while its files stay in the store, on moto's S3:
the relational database came back from a backup taken before the last archive run, and nobody
has run `manage.py rebuild_archive_index` yet (the daily tier's chunks of the archived days may
say "written" too). Tiered retention must lose no point meanwhile: an hourly run does not take
a late point of such a day for the day's whole record, an archive run neither overwrites nor
overlaps a file the index does not know (it fails naming the file and the command to run), and
a daily run over the archived days invents no row; a dry run (command or API) lists that
error beside the file, reading only. Before, a daily row made of one late point
was uploaded to the key of the month's real file, replacing it."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from retention.archive.index import rebuild_index
from retention.archive.lock import archive_lock
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.entities.ha_source import count_samples
from retention.models import ArchiveObject, TierChunk
from retention.tiers import runner as tiers
from tests.support import late_archive as one
from tests.support.archive import daily_rows, restore_worker_env
from tests.support.worker import celery_worker, followed

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

REBUILD = "manage.py rebuild_archive_index"


def index_from_an_old_backup() -> bytes:
    """The index lost, the day's daily chunk back at "written"; the file's bytes."""
    ArchiveObject.objects.all().delete()
    TierChunk.objects.filter(tier=TierChunk.Tier.DAILY, day=one.D).update(
        state=TierChunk.State.WRITTEN
    )
    return get_storage().get(one.KEY)


def test_a_late_point_of_a_day_whose_file_the_index_lost_waits_and_is_folded_after_rebuild(
    tier, s3
):
    ha = one.archived_day(tier)
    before = one.archived(one.BOILER)
    stored = index_from_an_old_backup()
    entity = one.late_point(ha, one.BOILER, 5)
    # The daily tier reruns the "written" day: its hourly and daily rows are gone (composed,
    # then archived), so it writes nothing and invents nothing.
    daily = one.ok(tiers.downsample_daily(one.D, one.D + one.DAY))
    assert tier.rows() == []
    assert TierChunk.objects.get(tier=TierChunk.Tier.DAILY, day=one.D).state == "deleted"
    assert daily.records_processed == 0
    hourly = one.ok(tiers.downsample_hourly(one.D, one.D + one.DAY))
    # Before, no ArchiveObject covered the day: the late point was taken for the day's whole
    # record, a daily row of 5 W, which the next archive run uploaded over the month's file.
    [note] = hourly.details["waiting"]
    assert note.startswith(f"{one.BOILER}: 1 late point of {one.D} kept raw"), note
    assert one.KEY in note and REBUILD in note, note
    assert tier.rows() == [] and count_samples(entity, one.T, one.T + one.DAY) == 1
    assert run_archive(one.merge_allowed()).errors == []
    assert get_storage().get(one.KEY) == stored
    # Once the index is rebuilt, the late point adds to the archived row.
    assert [i["key"] for i in rebuild_index().indexed] == [one.KEY]
    one.ok(tiers.downsample_hourly(one.D, one.D + one.DAY))
    assert count_samples(entity, one.T, one.T + one.DAY) == 0
    assert run_archive(one.merge_allowed()).errors == []
    one.assert_counted_once(before, one.archived(one.BOILER), low=5)
    assert one.archived(one.PUMP)["sample_count"] == 2


def test_an_archive_run_never_uploads_over_a_file_the_index_does_not_know(tier, s3):
    one.archived_day(tier)
    stored = index_from_an_old_backup()
    # A daily row of the archived day written meanwhile (by any writer): the month is planned
    # again, to the key of the file the index lost.
    [row] = daily_rows(1, one.D, 1)
    tier.write([row])
    report = run_archive(one.merge_allowed())
    assert report.status == "failed" and report.bytes_uploaded == 0
    [error] = report.errors
    assert error.startswith(f"{one.KEY}: ArchiveError: {one.KEY} (2022-03-01..2022-12-31) is in ")
    assert REBUILD in error, error
    assert get_storage().get(one.KEY) == stored
    assert len(tier.rows()) == 1  # nothing deleted
    assert not ArchiveObject.objects.exists()


def test_an_archive_run_writes_no_file_overlapping_one_the_index_does_not_know(tier, s3):
    """The lost file covers 2022-03-01..2022-12-31 (a small year is one file); rows of May 2022
    would make a file of their own over its range (restore would serve those days twice, the
    rebuild refuse one of the two); rows of 2023 are archived, and nothing is expired."""
    one.archived_day(tier)
    stored = index_from_an_old_backup()
    may, next_year = daily_rows(2, date(2022, 5, 1), 10), daily_rows(2, date(2023, 2, 1), 28)
    tier.write(may + next_year)
    report = run_archive(one.NOW)
    assert report.status == "failed" and report.expired == []
    [error] = report.errors
    assert error.startswith("archives/2022/data_2022-05-01.parquet: ArchiveError: "), error
    assert f"{one.KEY} (2022-03-01..2022-12-31)" in error and REBUILD in error, error
    assert [o["key"] for o in report.objects] == ["archives/2023/data_2023-02-01.parquet"]
    assert len(tier.rows()) == len(may)  # the refused rows stay in InfluxDB
    assert get_storage().get(one.KEY) == stored
    assert [o.key for o in get_storage().list("archives/2022/")] == [one.KEY]


def test_the_local_directory_keeps_a_file_the_index_does_not_know(tier, local_archive):
    """The same on the local directory target: the file at the key is not replaced."""
    readings = daily_rows(2, date(2022, 1, 1), 365)
    tier.write(readings)
    assert run_archive(one.NOW).errors == []
    [key] = [o.key for o in ArchiveObject.objects.all()]
    path = local_archive / key
    stored = path.read_bytes()
    ArchiveObject.objects.all().delete()
    tier.write(daily_rows(1, date(2022, 1, 1), 1, seed=8))
    report = run_archive(one.NOW)
    [error] = report.errors
    assert error.startswith(f"{key}: ArchiveError: {key} (2022-01-01..2022-12-31) is in ")
    assert REBUILD in error and report.status == "failed", error
    assert path.read_bytes() == stored and len(tier.rows()) == 1


def overlapping_may(tier) -> tuple[bytes, list]:
    """The lost file of 2022-03-01..2022-12-31 in the store, rows of May 2022 and of February
    2023 due: the real run refuses the May file, archives the 2023 one."""
    one.archived_day(tier)
    stored = index_from_an_old_backup()
    may, next_year = daily_rows(2, date(2022, 5, 1), 10), daily_rows(2, date(2023, 2, 1), 28)
    tier.write(may + next_year)
    return stored, may + next_year


MAY = "archives/2022/data_2022-05-01.parquet"


def test_a_dry_run_lists_the_refusal_beside_the_file_reading_only(tier, s3):
    """Before, `archive_to_s3 --dry-run` listed the May file as one the run would write, with
    no error: the real run then failed on it."""
    stored, rows = overlapping_may(tier)
    out, err = io.StringIO(), io.StringIO()
    with archive_lock(owner="another run") as lock:  # the dry run takes no lock
        assert lock is not None
        call_command("archive_to_s3", "--dry-run", "--as-of", "2025-03-15", stdout=out, stderr=err)
    assert f"  {MAY}  2022-05-01..2022-12-31" in out.getvalue(), out.getvalue()
    [error] = err.getvalue().splitlines()
    assert error.startswith(f"error: {MAY}: {one.KEY} (2022-03-01..2022-12-31) is in the "), error
    assert "nothing of 2022-05-01..2022-12-31 was uploaded" in error and REBUILD in error, error
    assert get_storage().get(one.KEY) == stored and len(tier.rows()) == len(rows)
    assert [o.key for o in get_storage().list("archives/")] == [one.KEY]
    # The file at the lost file's key (a daily row of its day written again): said too, and the
    # same error as the real run's.
    ArchiveObject.objects.all().delete()
    tier.write(daily_rows(1, one.D, 1))
    preview = run_archive(one.merge_allowed(), dry_run=True)
    assert preview.status == "dry_run"
    said = [e for e in preview.errors if e.startswith(f"{one.KEY}: ")]
    report = run_archive(one.merge_allowed())
    assert [
        e.replace("ArchiveError: ", "", 1) for e in report.errors if e.startswith(f"{one.KEY}: ")
    ] == said
    assert len(said) == 1 and get_storage().get(one.KEY) == stored


@pytest.mark.django_db(transaction=True)
def test_the_api_dry_run_lists_the_refusal_beside_the_file(client, settings, tier, s3):
    """POST /retention/archive with dry_run: the same error in the run's details."""
    stored, rows = overlapping_may(tier)
    with celery_worker(
        "archive-dry-unindexed", **restore_worker_env(settings, tier, s3.endpoint)
    ) as worker:
        response = client.post("/retention/archive", {"dry_run": True}, format="json")
        assert response.status_code == 202
        run = followed(client, response.json(), worker)
    assert run["status"] == "dry_run", run
    errors = run["details"]["errors"]
    [error] = [e for e in errors if e.startswith(f"{MAY}: ")]
    assert f"{one.KEY} (2022-03-01..2022-12-31) is in the archive store" in error, errors
    assert REBUILD in error and MAY in [o["key"] for o in run["details"]["objects"]]
    assert get_storage().get(one.KEY) == stored and len(tier.rows()) == len(rows)
