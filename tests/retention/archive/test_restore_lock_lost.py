"""`restore_from_archive` whose archive lock is lost while it reads the files (one file read
longer than the lock's 15 minutes; the lock expired and an archive run took it), against moto's
S3 server and the real InfluxDB: the command died with a traceback ending in LockLost. Now it
exits with one paragraph saying what happened, that nothing was restored and to run it again;
the other run's lock is left alone; run again once that run has finished, it restores the range."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from retention.archive import format as fmt
from retention.archive.lock import archive_lock_key, archive_run_lock
from retention.models import RetentionRun
from tests.support.archive import read_back, stopped_by_lost_lock, take_over
from tests.support.archived import three_years_archived

pytestmark = pytest.mark.django_db

ROWS = 3 * 2 * 365  # two entities' 2021..2023


@pytest.fixture
def archived(tier, s3):
    return three_years_archived(tier, s3)  # made once, then planted (tests/support/archived.py)


@pytest.mark.parametrize("output", [False, True])
def test_a_restore_that_lost_the_archive_lock_says_so_and_restores_nothing(
    tier, archived, monkeypatch, capsys, tmp_path, output
):
    other = archive_run_lock("archive run 99")

    def bar(items, **_):  # the command's progress bar: the first file is read for too long
        for done, item in enumerate(items):
            if done == 1:
                take_over(other)  # the lock expired, and the weekly archive run took it
            yield item

    monkeypatch.setattr("retention.management.commands.restore_from_archive.tqdm", bar)
    target = tmp_path / "restored.parquet"
    argv = ["restore_from_archive", "2021-01-01", "2023-12-31"]
    argv += ["--output", str(target)] if output else []
    said = stopped_by_lost_lock(other, *argv)
    where = str(target) if output else "InfluxDB"
    assert said.startswith(
        f"The archive's lock was lost during the restore: lock '{archive_lock_key()}' lost to "
        "archive run 99 since "
    ), said
    assert said.endswith(
        "(it expired); this run stopped (a file took longer to read than the lock's 15 minutes; "
        "the run holding it now may replace or delete the files a restore reads). Nothing was "
        f"restored: the restore stopped before writing to {where}. Run this command again once "
        "that run has finished: it restores the range."
    ), said
    assert not target.exists() and read_back(tier.restore_database) == []
    if not output:
        [run] = RetentionRun.objects.filter(operation="restore")
        assert run.status == "failed" and run.errors.startswith("LockLost: "), run.errors

    monkeypatch.undo()  # the command's own bar
    capsys.readouterr()
    call_command(*argv)
    if output:
        assert fmt.table_rows(fmt.from_parquet(target.read_bytes())) == archived
    else:
        assert capsys.readouterr().out.startswith(f"{ROWS:,} rows of 2021-01-01..2023-12-31 ")
        assert read_back(tier.restore_database) == archived
