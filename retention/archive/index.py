"""Rebuild the archive index (the ArchiveObject rows) from what is in the store.

Restore finds files through ArchiveObject rows. When the relational database is lost (a fresh
install pointed at an existing bucket or directory), `rebuild_index` lists `archives/`, and for
each `.parquet` object without a row reads its metadata (the SHA-256 stored with it, its size)
and the file itself, then records it as the archive run would have.

An object is indexed only when all of this holds; otherwise it is reported and left out:
- its bytes have the SHA-256 stored in its metadata (and S3's ChecksumSHA256, when present and
  of the whole bytes: an object copied in with a multipart upload, e.g. `aws s3 cp` above 8 MB,
  has one of its parts' checksums instead, so its metadata's SHA-256 and its rows decide),
  and the size HEAD reports;
- it parses as Parquet and has rows; the row count matches the metadata's `record_count`;
- it is an archive file as the run writes it (`format.table_problems`: the columns `time`,
  `entity_id`, `kind` with their types and no empty values, the known fields with theirs,
  other fields of a type InfluxDB holds, no NaN, every row with a field, no row twice), so
  restore can read it back into InfluxDB; its days lie in 2000-01-01..2199-12-31;
- its range: the metadata's `start_date`/`end_date` (the archive run's period bounds; without
  them, the key's date and the last day in the file) must contain the first and last day found
  in the file - checked against the content, never taken from the name alone; the key's date
  and the metadata's start must agree;
- the range overlaps no other indexed object (restore would return those rows twice).

`verified` is now (the bytes were just checked). `source_deleted` is not known for a file
found this way: it is set (to now) only when the daily tier in InfluxDB has no rows in the
file's range; otherwise it stays empty and the next archive run checks those rows against the
file and deletes them, as after a crash between upload and delete. The `archive_metadata`
point is written again (same time and tags: it overwrites, never duplicates).

Existing rows are not changed, so a rerun changes nothing, but for a file the store holds a
later version of: an archive run merged late rows into it (its metadata `replaces` names the
SHA-256 it replaced) after the backup the database came back from, whose row records the file
as it was (a restore of it fails on the checksum); that version is checked as above and its
row updated (`_merged_since`). The archive lock keeps an archive
run from writing rows meanwhile; a dry run only reads. It is renewed before each file and
before its row is written: lost meanwhile (it expired, another run took it), LockLost, and the
rows written so far stay.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.utils import timezone

from enrich.influx import TimeSeries, get_timeseries
from enrich.time_span import outside_span
from retention import faults
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.archive.lock import LOCK_SECONDS, archive_lock, archive_lock_holder
from retention.archive.reader import count_rows
from retention.archive.recorded import record_file
from retention.archive.run import Progress
from retention.archive.store import (
    PREFIX,
    ArchiveStorage,
    ObjectInfo,
    StorageError,
    StorageRefused,
    StorageUnavailable,
    merged_version,
    sha256_hex,
    store_checksum_problem,
)
from retention.archive.target import NOTHING_INDEXED, get_storage
from retention.archive.unindexed import KEY_DATE
from retention.day_ranges import EARLIEST_DAY
from retention.models import ArchiveObject
from retention.timeutil import utc_date

logger = logging.getLogger(__name__)


class Refused(Exception):
    """This object cannot be indexed; the message says why and what to do."""


@dataclass
class IndexReport:
    dry_run: bool
    target: str
    location: str
    indexed: list[dict[str, Any]] = field(default_factory=list)  # (or would be, dry run)
    already_indexed: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Found:
    key: str
    start: date
    end: date
    record_count: int
    data: bytes
    compression: str
    info: ObjectInfo


def rebuild_index(
    storage: ArchiveStorage | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Index every `.parquet` object under archives/ that has no ArchiveObject row (see the module
    doc). Raises ArchiveError when another run (an archive run, a restore, a rebuild, an hourly
    run's late points) holds the lock, StorageError when the store cannot be listed or its
    directory is none, TimeseriesError when InfluxDB cannot be asked, RedisUnavailable when the
    lock's Redis cannot be reached, LockLost when another run took the lock once it expired
    (either before the next file or row: what is indexed stays)."""
    storage = storage or get_storage(NOTHING_INDEXED)
    if absent := storage.absent():  # not an empty archive: one that is somewhere else
        raise StorageRefused(
            f"{absent}: {NOTHING_INDEXED}. Correct ARCHIVE_LOCAL_DIR (under docker compose, the "
            "folder the archive's volume is mounted on)."
        )
    report = IndexReport(dry_run, storage.target, storage.location)
    if dry_run:
        _rebuild(storage, report, progress, write=False)
        return report
    with archive_lock(owner="index rebuild") as lock:
        if lock is None:
            raise ArchiveError(  # names the holder, a stopped rebuild included
                f"{archive_lock_holder() or 'Another run'} holds the archive lock; rebuild the "
                "index when it has finished (the lock of a run that was stopped frees itself "
                f"within {LOCK_SECONDS // 60} minutes)."
            )
        _rebuild(storage, report, progress, write=True, renew=lock.renew)
    return report


def _rebuild(
    storage: ArchiveStorage,
    report: IndexReport,
    progress: Progress | None,
    write: bool,
    renew: Callable[[], None] = lambda: None,
) -> None:
    """Index the objects that have none; `renew` (the archive lock) is called before each."""
    ts = get_timeseries()
    keys = sorted(i.key for i in storage.list(PREFIX) if i.key.endswith(".parquet"))
    rows = {o.key: o for o in ArchiveObject.objects.filter(key__in=keys)}
    merged = _merged_since(storage, rows.values())
    report.already_indexed = [k for k in keys if k in rows and k not in merged]
    # Ranges restore already serves (or will, once this run indexes them).
    taken = [
        (o.start_date, o.end_date, o.key)
        for o in ArchiveObject.objects.filter(expired__isnull=True)
    ]
    missing = [k for k in keys if k not in rows or k in merged]
    for key in progress(missing) if progress else missing:
        renew()
        try:
            found = _inspect(storage, key)
            _check_overlap(found, [t for t in taken if t[2] != key])  # a merge: its own row
        except StorageUnavailable:
            raise  # the store went away: stop; a rerun continues where this one stopped
        except (Refused, StorageError) as exc:
            logger.error("not indexed: %s: %s", key, exc)
            report.refused.append({"key": key, "why": str(exc)})
            continue
        taken.append((found.start, found.end, found.key))
        left = count_rows(found.start, found.end + timedelta(days=1), ts)
        if write:
            faults.point("index.before_record")
            renew()  # the file's read may outlast the lock: LockLost, its row not written
            _record(found, storage, left == 0, ts)
        report.indexed.append(
            {
                "key": key,
                "start_date": found.start.isoformat(),
                "end_date": found.end.isoformat(),
                "record_count": found.record_count,
                "file_size": len(found.data),
                "sha256": sha256_hex(found.data),
                "rows_in_daily_tier": left,
            }
        )
        logger.info("%s %s", "would index" if not write else "indexed", key)


def _inspect(storage: ArchiveStorage, key: str) -> _Found:
    """Read and check one object; raises Refused with the reason."""
    info = storage.head(key)
    if info is None:
        raise Refused(f"listed but gone from {storage.location} when read; rerun to retry.")
    stored = info.metadata.get("sha256", "")
    if not stored:
        raise Refused(
            "its metadata has no sha256, so it cannot be verified. Check it by hand and "
            "upload it again with the archive's metadata, or remove it."
        )
    data = storage.get(key)
    actual = sha256_hex(data)
    if actual != stored:
        raise Refused(
            f"its bytes have SHA-256 {actual}, not the {stored} stored with it: the object is "
            "damaged or was replaced. Replace it from a copy (or remove it), then rerun."
        )
    if problem := store_checksum_problem(info, actual):
        raise Refused(f"{problem}; damaged object. Replace it from a copy (or remove it).")
    if info.parts:
        logger.info("%s was uploaded in %d parts: checked by its metadata sha256", key, info.parts)
    if info.size != len(data):
        raise Refused(f"HEAD reports {info.size} bytes but {len(data)} were downloaded.")
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        table = parquet.read()
    except (pa.ArrowException, OSError, KeyError) as exc:
        raise Refused(
            f"not a readable archive Parquet file ({exc}); remove or replace it."
        ) from None
    if problems := fmt.table_problems(table):
        raise Refused(
            f"not an archive file: {'; '.join(problems)}. Restore could not read it; remove "
            "or replace it."
        )
    if table.num_rows == 0:
        raise Refused("the file holds no rows, so it covers no days; remove it.")
    bounds = pc.min_max(table["time"])
    first, last = (utc_date(bounds[name].as_py()) for name in ("min", "max"))
    if first < EARLIEST_DAY or outside_span(last):
        raise Refused(f"it holds days {first}..{last}, outside the days an archive can hold.")
    start, end = _declared_range(key, info, first, last)
    declared_count = info.metadata.get("record_count")
    if declared_count is not None and declared_count != str(table.num_rows):
        raise Refused(
            f"it holds {table.num_rows} rows but its metadata says {declared_count}; check it."
        )
    compression = info.metadata.get("compression", "")
    if parquet.metadata.num_row_groups:
        compression = parquet.metadata.row_group(0).column(0).compression.lower()
    return _Found(key, start, end, table.num_rows, data, compression, info)


def _day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Refused(f"its {what} {value!r} is not a date.") from None
    if day < EARLIEST_DAY or outside_span(day):
        raise Refused(f"its {what} {value!r} is outside the days an archive can hold.")
    return day


def _declared_range(key: str, info: ObjectInfo, first: date, last: date) -> tuple[date, date]:
    """The file's range: the archive run's period bounds (metadata, else the key's date),
    checked against the first and last day the file holds; the content when none is given."""
    match = KEY_DATE.search(key)
    named = _day(match.group(1), "key date") if match else None
    start = _day(info.metadata.get("start_date"), "metadata start_date")
    end = _day(info.metadata.get("end_date"), "metadata end_date")
    if named and start and named != start:
        raise Refused(f"its key names {named} but its metadata starts at {start}; check it.")
    start = start or named or first
    end = end or last
    if first < start or last > end:
        raise Refused(
            f"it holds days {first}..{last}, outside its declared range {start}..{end}; "
            "check which is right before indexing it."
        )
    return start, end


def _check_overlap(found: _Found, taken: list[tuple[date, date, str]]) -> None:
    for start, end, key in taken:
        if start <= found.end and found.start <= end:
            raise Refused(
                f"its range {found.start}..{found.end} overlaps {key} ({start}..{end}); restore "
                "would return those days twice. Keep one of the two, then rerun."
            )


def _merged_since(storage: ArchiveStorage, rows: Iterable[ArchiveObject]) -> set[str]:
    """Keys of indexed files the store holds a later version of: an archive run merged late
    rows into the file (its metadata `replaces` names the SHA-256 it replaced) after the
    database's backup, which records the file as it was. One HEAD per file not expired."""
    return {
        row.key
        for row in rows
        if not row.expired and merged_version(storage, row.key, row.checksum)
    }


def _record(found: _Found, storage: ArchiveStorage, source_gone: bool, ts: TimeSeries) -> None:
    """Record the file, or the later version of an indexed file (`_merged_since`)."""
    record_file(
        storage,
        found.key,
        (found.start, found.end),
        found.data,
        ts,
        record_count=found.record_count,
        compression=found.compression,
        storage_class=found.info.storage_class,
        created=found.info.last_modified,
        source_deleted=timezone.now() if source_gone else None,
    )
