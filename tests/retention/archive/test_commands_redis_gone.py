"""`archive_to_s3` and `restore_from_archive` with Redis (the store of the archive's lock and of
the daily tier's: a redis-server of the test's own) out of reach before the command starts or in
the middle of its run, against moto's S3 server and the real InfluxDB: the command stops with
the message, naming REDIS_URL, what it did and to run it again; with Redis back, it finishes."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command

from retention.archive import format as fmt
from retention.models import ArchiveObject, RetentionRun
from tests.support.archive import daily_rows, read_back, restore_worker_env
from tests.support.archived import YEARS_KEYS, YEARS_NOW, three_years_archived
from tests.support.commands import refusal
from tests.support.worker import manage_in_child

pytestmark = pytest.mark.django_db

AS_OF = ("--as-of", YEARS_NOW.date().isoformat())  # 2021..2023 are closed years: a file each
KEYS = YEARS_KEYS
ROWS = 2 * 365  # two entities, a year: a file
ARCHIVE_LOCK = "The archive's lock"


def stored(s3) -> list[str]:
    return sorted(
        o["Key"] for o in s3.client().list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    )


def failed_run(operation: str, lock: str, commands_redis) -> RetentionRun:
    """The run the command left: failed, saying that `lock` is out of reach."""
    [run] = RetentionRun.objects.filter(operation=operation)
    assert run.status == "failed" and run.finished is not None, run.errors
    assert run.errors.startswith(f"RedisUnavailable: {commands_redis.unavailable(lock)}"), run
    return run


@pytest.mark.parametrize(
    ("point", "lock", "verified", "deleted"),
    [
        (None, ARCHIVE_LOCK, 0, 0),  # before the command takes the lock
        # The first file verified, its rows about to be deleted under the daily tier's lock.
        ("archive.before_delete", "The lock of the hourly -> daily runs", 1, 0),
        # Its rows deleted; the archive's lock is renewed before the next file.
        ("archive.after_delete", ARCHIVE_LOCK, 1, ROWS),
    ],
)
def test_redis_gone_stops_archive_to_s3_saying_what_is_kept_and_to_run_it_again(
    tier, s3, commands_redis, point, lock, verified, deleted
):
    """The command died with a traceback ending in RedisUnavailable, under redis' own
    "ConnectionError: Error 111 ...", not a word of what it had archived or what to do (the run
    it recorded said it). Now it exits with the message; what it archived is verified and kept,
    no row left InfluxDB without its verified file; run again with Redis back, it finishes."""
    tier.write(daily_rows(2, date(2021, 1, 1), 3 * 365))
    commands_redis.stop_at(point)
    said = refusal("archive_to_s3", *AS_OF)
    assert said.startswith(commands_redis.unavailable(lock)), said
    assert said.endswith(
        "Archiving stopped before the next step; the files archived so far are verified and "
        "kept, and no row was deleted from InfluxDB without its verified file. Run this command "
        "again once Redis is back: it archives the rest."
    ), said
    failed_run("archive", lock, commands_redis)
    assert stored(s3) == KEYS[:verified]
    assert [(o.key, bool(o.verified)) for o in ArchiveObject.objects.all()] == [
        (key, True) for key in KEYS[:verified]
    ]
    assert len(tier.rows()) == 3 * ROWS - deleted

    commands_redis.back()
    call_command("archive_to_s3", *AS_OF)
    assert stored(s3) == KEYS and tier.rows() == []
    assert not ArchiveObject.objects.filter(source_deleted=None).exists()
    assert RetentionRun.objects.filter(operation="archive").latest("pk").status == "ok"


@pytest.fixture
def archived(tier, s3):
    return three_years_archived(tier, s3)  # made once, then planted (tests/support/archived.py)


@pytest.mark.parametrize("stop_after", [None, 1, len(KEYS)])
def test_redis_gone_stops_restore_from_archive_saying_nothing_was_restored(
    tier, archived, commands_redis, monkeypatch, capsys, stop_after
):
    """Redis out of reach before the restore takes the archive's lock (None), once it has read
    its first file (1), or all of them, before writing (3): the command died with a traceback.
    Now it exits with the message: nothing is written to InfluxDB (a restore writes once every
    file is read); run again with Redis back, it restores the range, value for value."""

    def bar(items, **_):  # the command's progress bar: Redis stops after `stop_after` files
        for done, item in enumerate(items):
            if done == stop_after:
                commands_redis.stop()
            yield item
        if stop_after == len(items):
            commands_redis.stop()

    monkeypatch.setattr("retention.management.commands.restore_from_archive.tqdm", bar)
    if stop_after is None:
        commands_redis.stop()
    said = refusal("restore_from_archive", "2021-01-01", "2023-12-31")
    assert said.startswith(commands_redis.unavailable(ARCHIVE_LOCK)), said
    assert said.endswith(
        "The restore stopped before writing to InfluxDB: nothing was restored. Run this command "
        "again once Redis is back: it restores the range."
    ), said
    failed_run("restore", ARCHIVE_LOCK, commands_redis)
    assert read_back(tier.restore_database) == []

    commands_redis.back()
    monkeypatch.undo()  # the command's own bar
    capsys.readouterr()
    call_command("restore_from_archive", "2021-01-01", "2023-12-31")
    assert capsys.readouterr().out.startswith(f"{3 * ROWS:,} rows of 2021-01-01..2023-12-31 ")
    assert read_back(tier.restore_database) == archived


@pytest.mark.parametrize("stop_after", [None, 1])
def test_redis_gone_stops_a_restore_to_a_file_saying_nothing_was_restored(
    archived, commands_redis, monkeypatch, capsys, tmp_path, stop_after
):
    """--output holds the archive's lock too: Redis out of reach before the restore takes it
    (None), or as it renews it after the first file (1), stops the command with the message;
    no file is written; run again with Redis back, it writes the range."""

    def bar(items, **_):
        for done, item in enumerate(items):
            if done == stop_after:
                commands_redis.stop()
            yield item

    monkeypatch.setattr("retention.management.commands.restore_from_archive.tqdm", bar)
    if stop_after is None:
        commands_redis.stop()
    target = tmp_path / "restored.parquet"
    argv = ("restore_from_archive", "2021-01-01", "2023-12-31", "--output", str(target))
    said = refusal(*argv)
    assert said.startswith(commands_redis.unavailable(ARCHIVE_LOCK)), said
    assert said.endswith(
        f"The restore stopped before writing to {target}: nothing was restored. Run this "
        "command again once Redis is back: it restores the range."
    ), said
    assert not target.exists()

    commands_redis.back()
    monkeypatch.undo()
    capsys.readouterr()
    call_command(*argv)
    assert capsys.readouterr().out == (
        f"{3 * ROWS:,} rows of 2021-01-01..2023-12-31 from 3 archive files written to {target}; "
        "the archive held rows for 1,095 of the 1,095 days asked\n"
    )
    assert fmt.table_rows(fmt.from_parquet(target.read_bytes())) == archived


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("argv", "rest"),
    [
        (("archive_to_s3", *AS_OF), "archives the rest."),
        (("restore_from_archive", "2021-01-01", "2023-12-31"), "restores the range."),
    ],
)
def test_run_by_hand_the_command_says_one_paragraph_and_exits_1(
    settings, tier, s3, commands_redis, argv, rest
):
    """What a user at the terminal saw: a traceback of two exceptions, redis' own
    "ConnectionError: Error 111 ..." and then the RedisUnavailable raised from it. Now: the one
    paragraph, as Django prints a CommandError, and exit status 1."""
    tier.write(daily_rows(2, date(2021, 1, 1), 365))
    commands_redis.stop()
    env = restore_worker_env(settings, tier, s3.endpoint, REDIS_URL=commands_redis.url)
    ran = manage_in_child(*argv, timeout=120, **env)
    assert (ran.returncode, ran.stdout) == (1, ""), ran.stderr
    assert "Traceback" not in ran.stderr, ran.stderr
    said = ran.stderr.splitlines()[-1]  # after the log's warnings, if any
    assert said.startswith(f"CommandError: {commands_redis.unavailable(ARCHIVE_LOCK)}"), said
    assert said.endswith(f"Run this command again once Redis is back: it {rest}"), said
