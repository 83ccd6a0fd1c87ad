"""`archive_to_s3` and `rebuild_archive_index` whose archive lock is lost in the middle of the
run (a step longer than the lock's 15 minutes: it expired and a restore took it), against moto's
S3 server and the real InfluxDB: each command died with a traceback ending in LockLost, and the
archive run went on to delete a file's rows once the lock was another's. Now each stops there
and exits with one paragraph: the lock was lost and to whom, what it did that stays (verified
files kept; no row deleted without its verified file, none after the lock was lost), and to
run it again once that run has finished; the other run's lock is left alone; run again, it
finishes. The archive task records its run failed with the LockLost."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command

from retention.archive.lock import archive_lock_key, archive_run_lock
from retention.archive.tasks import archive
from retention.models import ArchiveObject, RetentionRun
from tests.support.archive import daily_rows, stopped_by_lost_lock, take_over
from tests.support.archived import YEARS_KEYS, YEARS_NOW, three_years_archived

pytestmark = pytest.mark.django_db

AS_OF = ("--as-of", YEARS_NOW.date().isoformat())  # 2021..2023 are closed years: a file each
ROWS = 2 * 365  # two entities, a year: a file
OTHER = "restore run 99"


def stored(s3) -> list[str]:
    return sorted(
        o["Key"] for o in s3.client().list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    )


def lost_at(monkeypatch, point: str):
    """At the fault point `point` the run's lock expires and a restore takes it: that lock."""
    other = archive_run_lock(OTHER)

    def reached(name: str) -> None:
        if name == point and not other.held:
            take_over(other)  # the lock expired, and a restore queued meanwhile took it

    monkeypatch.setattr("retention.faults.point", reached)
    return other


def lost_to(said: str, during: str) -> None:
    assert said.startswith(
        f"The archive's lock was lost during {during}: lock '{archive_lock_key()}' lost to "
        f"{OTHER} since "
    ), said


@pytest.mark.parametrize(
    ("point", "deleted"),
    [
        ("archive.before_delete", 0),  # the first file verified, its rows not deleted yet
        ("archive.after_delete", ROWS),  # its rows deleted; lost before the next file
    ],
)
def test_archive_to_s3_that_lost_the_lock_says_so_and_deletes_nothing_more(
    tier, s3, monkeypatch, point, deleted
):
    tier.write(daily_rows(2, date(2021, 1, 1), 3 * 365))
    other = lost_at(monkeypatch, point)
    said = stopped_by_lost_lock(other, "archive_to_s3", *AS_OF)
    lost_to(said, "the archive run")
    assert said.endswith(
        "(it expired); this run stopped (a step took longer than the lock's 15 minutes; the run "
        "holding it now may replace, delete or read the files this run writes). Archiving "
        "stopped before the next step; the files archived so far are verified and kept, and no "
        "row was deleted from InfluxDB without its verified file. Run this command again once "
        "that run has finished: it archives the rest."
    ), said
    [run] = RetentionRun.objects.filter(operation="archive")
    assert run.status == "failed" and run.errors.startswith("LockLost: lock "), run.errors
    assert stored(s3) == YEARS_KEYS[:1]
    assert [(o.key, bool(o.verified)) for o in ArchiveObject.objects.all()] == [
        (YEARS_KEYS[0], True)
    ]
    assert len(tier.rows()) == 3 * ROWS - deleted  # none deleted once the lock was another's

    monkeypatch.undo()
    call_command("archive_to_s3", *AS_OF)
    assert stored(s3) == YEARS_KEYS and tier.rows() == []
    assert not ArchiveObject.objects.filter(source_deleted=None).exists()
    assert RetentionRun.objects.filter(operation="archive").latest("pk").status == "ok"


def test_the_archive_task_that_lost_the_lock_records_its_run_failed(
    tier, s3, settings, monkeypatch
):
    """The weekly run (the task), its lock lost before its first delete: the run is failed with
    the LockLost naming the holder, not tried again (the lock is another's), no row deleted."""
    tier.write(daily_rows(2, date(2021, 1, 1), 3 * 365))
    other = lost_at(monkeypatch, "archive.before_delete")
    try:
        result = archive.apply()
    finally:
        other.release()
    assert result.failed()
    [run] = RetentionRun.objects.filter(operation="archive")
    assert run.status == "failed" and run.finished is not None
    assert run.errors.startswith(f"LockLost: lock '{archive_lock_key()}' lost to {OTHER} since "), (
        run.errors
    )
    assert run.errors.endswith(" (it expired); this run stopped"), run.errors
    assert len(tier.rows()) == 3 * ROWS  # nothing deleted once the lock was lost


@pytest.fixture
def archived(tier, s3):
    return three_years_archived(tier, s3)  # made once, then planted (tests/support/archived.py)


@pytest.mark.parametrize("point", ["progress", "index.before_record"])
def test_rebuild_archive_index_that_lost_the_lock_says_so_and_keeps_what_it_indexed(
    archived, monkeypatch, capsys, point
):
    """Lost while the second file was listed (progress: the command's bar) or read (before its
    row is written): the first file's row stays, the second is not written."""
    ArchiveObject.objects.all().delete()  # the database is lost
    other = archive_run_lock(OTHER)
    reads = []

    def bar(keys, **_):
        for done, key in enumerate(keys):
            if done == 1 and point == "progress":
                take_over(other)
            yield key

    def reached(name: str) -> None:
        reads.append(name)
        if name == point and len(reads) == 2:
            take_over(other)

    monkeypatch.setattr("retention.management.commands.rebuild_archive_index.tqdm", bar)
    monkeypatch.setattr("retention.faults.point", reached)
    said = stopped_by_lost_lock(other, "rebuild_archive_index")
    lost_to(said, "the index rebuild")
    assert said.endswith(
        "(it expired); this run stopped (a file took longer to check than the lock's 15 "
        "minutes; the run holding it now may replace, delete or read the files this run "
        "indexes). Indexing stopped before the next file; the files indexed so far are "
        "verified and kept. Run this command again once that run has finished: it indexes the "
        "rest."
    ), said
    assert list(ArchiveObject.objects.values_list("key", flat=True)) == YEARS_KEYS[:1]

    monkeypatch.undo()
    capsys.readouterr()
    call_command("rebuild_archive_index")
    assert "indexed 2 files, 1 already indexed, 0 refused" in capsys.readouterr().out
    assert sorted(ArchiveObject.objects.values_list("key", flat=True)) == YEARS_KEYS
