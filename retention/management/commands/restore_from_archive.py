"""Restore the archived daily aggregates of START..END (UTC days, both inclusive) into the
InfluxDB database RESTORE_INFLUXDB_DATABASE (measurement entity_aggregates), or with --output
into one Parquet file; either holds the archive's lock while it reads the archive."""

import os
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from enrich.influx import TimeseriesError
from enrich.management.options import not_empty, once_each
from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from enrich.wording import counted
from retention.archive.errors import ArchiveError
from retention.archive.format import to_parquet
from retention.archive.local import write_whole
from retention.archive.restore import days_held, restore_to_influxdb, restore_under_lock
from retention.archive.restore_target import RestoreTargetRefused
from retention.archive.store import StorageError
from retention.management.commands._redis import archive_lock_lost, redis_gone

# What it was doing when its lock was lost, what took long, what the lock's new holder may do.
LOST = ("the restore", "a file took longer to read", "replace or delete the files a restore reads")


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument("start_date", help="first UTC day, YYYY-MM-DD")
        parser.add_argument("end_date", help="last UTC day (inclusive), YYYY-MM-DD")
        parser.add_argument(
            "--database",
            default=None,
            help=f"InfluxDB database to write to (default RESTORE_INFLUXDB_DATABASE, here "
            f"{settings.RESTORE_INFLUXDB_DATABASE!r}); not with --output",
        )
        parser.add_argument(
            "--output",
            default=None,
            help="write a Parquet file instead of InfluxDB (not with --database)",
        )
        parser.add_argument(
            "--force", action="store_true", help="with --output: replace a file already there"
        )

    def handle(self, *args, start_date: str, end_date: str, database: str | None,
               output: str | Path | None, force: bool = False, **options) -> None:  # fmt: skip
        def progress(items):
            return tqdm(items, desc="restore", unit="file", disable=None)

        database = not_empty("--database", database, "an InfluxDB database's name",
                             "RESTORE_INFLUXDB_DATABASE")  # fmt: skip
        if output is not None:  # its text, or a Path given to call_command
            into = "to restore into InfluxDB"
            output = Path(not_empty("--output", str(output), "a file's name", into))
        check_options(database, output, force)
        try:
            if output is not None:
                check_output(output, force)
                owner = f"restore to the file {output}"
                read = restore_under_lock(start_date, end_date, owner, progress=progress)
                try:
                    data = to_parquet(read.table, settings.ARCHIVE_COMPRESSION)
                    target = output.resolve()  # through a link: the file it names
                    write_whole(target, data, _mode(target))
                except OSError as exc:
                    raise CommandError(f"--output {str(output)!r}: {exc.strerror}.") from None
                days = days_held(read.table)
                range_ = (read.start_date, read.end_date)
                said = _said(read.table.num_rows, *range_, read.objects, days, output)
                self.stdout.write(_noted(said, read.unindexed, read.objects))
                return
            report = restore_to_influxdb(start_date, end_date, database, progress=progress)
        except RestoreTargetRefused as exc:  # named by --database, or by the setting
            raise CommandError(f"--database {exc}" if database else str(exc)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except (StorageError, TimeseriesError, ArchiveError) as exc:
            raise CommandError(str(exc)) from None
        except RedisUnavailable as exc:  # the archive's lock, taken or renewed before the write
            done = f"The restore stopped before writing to {_where(output)}: nothing was restored."
            raise redis_gone(exc, done, "restores the range") from None
        except LockLost as exc:  # renewed before each file and the write: it had expired
            done = f"Nothing was restored: the restore stopped before writing to {_where(output)}."
            raise archive_lock_lost(exc, *LOST, done, "restores the range") from None
        where = f"InfluxDB database {report.database!r} (measurement entity_aggregates)"
        range_ = (report.start_date, report.end_date)
        said = _said(report.records, *range_, report.objects, report.days, where)
        self.stdout.write(_noted(said, report.unindexed, report.objects))


def _said(records: int, start: date, end: date, objects: list[str], days: int, where) -> str:
    """What the command prints once it restored the range (into InfluxDB or --output)."""
    return (
        f"{counted(records, 'row')} of {start}..{end} from "
        f"{counted(len(objects), 'archive file')} written to {where}; the archive held rows for "
        f"{days:,} of the {counted((end - start).days + 1, 'day')} asked"
    )


def _noted(said: str, unindexed: str, objects: list[str]) -> str:
    """`said`, then why rows of the range may be missing: files the index lacks (their rows
    not read: `read_archive`), or, with none and no file read, that nothing covers the days."""
    if unindexed:
        return f"{said}. {unindexed}"
    return said + ("" if objects else NOT_INDEXED)


# Restore finds files only through their ArchiveObject rows; files of the range the index
# lacks are named (docs/storage.md, Restore). With none and no file read, none was archived.
NOT_INDEXED = " (no archive file covers these days, in the index or in the archive store)"


def _mode(path: Path) -> int:
    """The permissions of the --output file: those of the file it replaces, else a new
    file's (the umask's)."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _where(output: Path | None) -> str:
    """Where the restore writes: InfluxDB, or the --output file."""
    return "InfluxDB" if output is None else str(output)


def check_options(database: str | None, output: Path | None, force: bool) -> None:
    """Refuse options that would be ignored: --output writes a file, no InfluxDB database,
    and --force only replaces an --output file."""
    if output is not None and database is not None:
        raise CommandError(
            f"--database {database!r} and --output {str(output)!r} exclude each other: "
            "--output writes a Parquet file, nothing into InfluxDB. Give one of them."
        )
    if force and output is None:
        raise CommandError(
            "--force replaces an --output file; without --output there is none to replace. "
            "Leave --force out, or give --output."
        )


def check_output(output: Path, force: bool) -> None:
    """Refuse an --output that is no file to write, before anything is downloaded; a file
    already there is replaced only with --force."""
    name = str(output)
    problem = ""
    if name in ("", ".") or "\x00" in name:
        problem = "is not a file name"
    elif output.is_dir():
        problem = "is a folder; name a file in it, e.g. restore.parquet"
    elif not output.parent.is_dir():
        problem = f"is in {str(output.parent)!r}, which is not a folder"
    elif output.exists() and not output.is_file():
        problem = "is no regular file (a device, a pipe); name a file"
    elif output.exists() and not force:
        problem = "exists already; give --force to replace it"
    if problem:
        raise CommandError(f"--output {name!r} {problem}.")
