"""`manage.py restore_from_archive START END --output FILE` holds the archive's lock, as a restore
into InfluxDB does, against moto's S3 server, the real InfluxDB and Redis. It took none: an
archive run beside it expired (deleted) a file it had listed, which it then failed to find; an
index rebuild beside it (after the database was lost) had indexed only some files yet, and the
restore wrote those, a file short of the range, saying nothing was missing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from enrich.redis.lock import RunLock
from retention.archive import format as fmt
from retention.archive.index import rebuild_index
from retention.archive.lock import NAME
from retention.archive.run import run_archive
from retention.models import ArchiveObject
from tests.support.archive import restore_worker_env
from tests.support.archived import YEARS_KEYS, three_years_archived
from tests.support.worker import manage_in_child

pytestmark = pytest.mark.django_db

KEYS = YEARS_KEYS  # two entities' 2021..2023: a file a year
RANGE = ("2021-01-01", "2023-12-31")
BUSY = (
    ": a restore waits for it (an archive run may replace or delete the files it would read). "
    "Nothing was restored."
)


@pytest.fixture
def archived(tier, s3):
    return three_years_archived(tier, s3)  # made once, then planted (tests/support/archived.py)


def written(path) -> list[dict]:
    return fmt.table_rows(fmt.from_parquet(path.read_bytes()))


def test_an_archive_run_expiring_files_waits_for_a_restore_to_a_file(
    archived, settings, s3, tmp_path, monkeypatch, capsys
):
    """The archive run expired 2021 and 2022 while the restore read 2021's file: the restore
    then failed on 2022's, gone from the bucket. Now the archive run is skipped, naming the
    restore holding the lock, and the file holds the whole range."""
    ArchiveObject.objects.update(created=datetime(2023, 1, 1, tzinfo=UTC))
    settings.ARCHIVE_RETENTION_YEARS = 2  # on 2025-01-10: data ended before 2023-01-10
    beside = []

    def bar(items, **_):  # the command's progress bar: an archive run once the first is read
        for done, item in enumerate(items):
            if done == 1:
                beside.append(run_archive(datetime(2025, 1, 10, tzinfo=UTC)))
            yield item

    monkeypatch.setattr("retention.management.commands.restore_from_archive.tqdm", bar)
    target = tmp_path / "three-years.parquet"
    call_command("restore_from_archive", *RANGE, "--output", str(target))
    assert capsys.readouterr().out.startswith(
        f"{3 * 2 * 365:,} rows of 2021-01-01..2023-12-31 from 3 archive files written to {target};"
    )
    assert written(target) == archived
    [archive] = beside
    assert (archive.status, archive.expired) == ("skipped", [])
    [why] = archive.errors
    assert why.startswith(f"the archive's lock is held by restore to the file {target} since ")
    assert ArchiveObject.objects.filter(expired__isnull=True).count() == 3
    stored = s3.client().list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert sorted(o["Key"] for o in stored) == KEYS


def test_a_restore_to_a_file_refuses_while_the_index_is_being_rebuilt(archived, tmp_path):
    """The database lost, the index rebuilt from the bucket: a restore to a file while the
    rebuild had indexed 2021 only wrote 2021's rows, and said "730 rows written" for a range of
    three years. Now it refuses, naming the rebuild, and writes no file."""
    ArchiveObject.objects.all().delete()
    target = tmp_path / "three-years.parquet"
    refused = []

    def midway(keys):
        for done, key in enumerate(keys):
            if done == 1:  # 2021's file indexed, 2022's and 2023's not yet
                with pytest.raises(CommandError) as failed:
                    call_command("restore_from_archive", *RANGE, "--output", str(target))
                refused.append(str(failed.value))
            yield key

    report = rebuild_index(progress=midway)
    assert [o["key"] for o in report.indexed] == KEYS
    [said] = refused
    assert said.startswith("the archive's lock is held by index rebuild since "), said
    assert said.endswith(BUSY), said
    assert not target.exists()


def test_the_command_refuses_a_file_restore_while_an_archive_run_holds_the_lock(archived, tmp_path):
    """Said as a restore into InfluxDB says it; no file is written, and the restore to a file
    runs once the lock is free."""
    archive = RunLock(*NAME, owner="archive run 7", ttl_seconds=60)
    assert archive.acquire()
    target = tmp_path / "2022.parquet"
    try:
        with pytest.raises(CommandError) as failed:
            call_command(
                "restore_from_archive", "2022-01-01", "2022-12-31", "--output", str(target)
            )
    finally:
        archive.release()
    said = str(failed.value)
    assert said.startswith("the archive's lock is held by archive run 7 since "), said
    assert said.endswith(BUSY), said
    assert not target.exists()

    call_command("restore_from_archive", "2022-01-01", "2022-12-31", "--output", str(target))
    assert written(target) == [r for r in archived if r["time"].year == 2022]


@pytest.mark.django_db(transaction=True)
def test_run_by_hand_a_refused_file_restore_says_one_paragraph_and_exits_1(
    settings, tier, s3, archived, tmp_path
):
    archive = RunLock(*NAME, owner="archive run 7", ttl_seconds=120)
    assert archive.acquire()
    target = tmp_path / "2022.parquet"
    env = restore_worker_env(settings, tier, s3.endpoint, REDIS_URL=settings.REDIS_URL)
    try:
        argv = ("restore_from_archive", "2022-01-01", "2022-12-31", "--output", str(target))
        ran = manage_in_child(*argv, timeout=120, **env)
    finally:
        archive.release()
    assert (ran.returncode, ran.stdout) == (1, ""), ran.stderr
    assert "Traceback" not in ran.stderr, ran.stderr
    said = ran.stderr.splitlines()[-1]
    assert said.startswith("CommandError: the archive's lock is held by archive run 7 since "), said
    assert said.endswith(BUSY), said
    assert not target.exists()
