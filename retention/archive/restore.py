"""Restore from the archive: the archived daily rows of a date range as a pyarrow Table
(`restore_from_archive`; under the archive's lock, as `manage.py restore_from_archive --output`
writes it: `restore_under_lock`), or re-imported into an InfluxDB database
(`restore_to_influxdb`, under the lock too). Only the objects that cover the range are
downloaded, each checked against its recorded SHA-256.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from enrich.api.params import Refused, as_day
from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention import faults
from retention.archive import format as fmt
from retention.archive.errors import ArchiveBusy, VerificationError
from retention.archive.lock import ArchiveLock, archive_lock, waits_for
from retention.archive.reader import MEASUREMENT
from retention.archive.recorded import recorded_run
from retention.archive.restore_check import make_sure_shown
from retention.archive.restore_target import restore_database
from retention.archive.run import Progress
from retention.archive.store import ArchiveStorage, merged_version, sha256_hex
from retention.archive.target import NOTHING_RESTORED, get_storage
from retention.archive.unindexed import REBUILD, unindexed_covering, unindexed_message
from retention.day_ranges import check_begun
from retention.models import ArchiveObject, RetentionRun
from retention.schema import DAILY_RP
from retention.tiers.layout import expand
from retention.timeutil import utc_date, utc_midnight

logger = logging.getLogger(__name__)

# The rows `table_readings` turns into Python objects at a time.
READING_BATCH_ROWS = 5000


def objects_covering(start_date: date, end_date: date) -> list[ArchiveObject]:
    return list(
        ArchiveObject.objects.filter(
            expired__isnull=True,
            verified__isnull=False,
            start_date__lte=end_date,
            end_date__gte=start_date,
        ).order_by("start_date")
    )


def _as_date(value: date | datetime | str, name: str) -> date:
    """A restore's first or last day: a date, an aware time's UTC day, or text read as every
    day is (enrich.api.params.as_day); a ValueError naming `name` says what is wrong."""
    if isinstance(value, datetime):
        value = utc_date(value)
    try:
        return as_day(name, value.isoformat() if isinstance(value, date) else value)
    except Refused as exc:
        raise ValueError(f"{name} {exc.text}") from None


def _archive_table(obj: ArchiveObject, data: bytes, storage: ArchiveStorage) -> pa.Table:
    """The object's rows, refused (VerificationError naming it) when they are no archive
    file: a file the index took in that restore could neither sort nor write to InfluxDB."""
    try:
        table = fmt.from_parquet(data)
    except (pa.ArrowException, OSError) as exc:
        problems = [f"not readable as Parquet ({exc})"]
    else:
        problems = fmt.table_problems(table)
    if problems:
        raise VerificationError(
            f"{obj.key} in {storage.location} is no archive file: {'; '.join(problems)}. "
            "Nothing was restored; replace it from a copy (or delete its ArchiveObject row)."
        )
    return table


def _range(start_date: date | str, end_date: date | str) -> tuple[date, date]:
    """The first and last day of a restore; a ValueError naming the parameter if it is none."""
    start, end = _as_date(start_date, "start_date"), _as_date(end_date, "end_date")
    if end < start:
        raise ValueError(f"end_date {end} is before start_date {start}: give the range in order.")
    check_begun(start, "start_date")
    return start, end


def restore_from_archive(
    start_date: date | str,
    end_date: date | str,
    *,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """The archived daily rows with start_date <= day <= end_date (both inclusive), as a
    pyarrow Table (`.to_pandas()` with pandas installed). Downloads only the objects that
    cover the range, each checked against its recorded SHA-256. Files of the range in the
    store that the index does not know are not read: logged at WARNING, naming them and the
    command that indexes them (`read_archive`)."""
    read = read_archive(start_date, end_date, storage=storage, progress=progress)
    if read.unindexed:
        logger.warning("restore: %s", read.unindexed)
    return read.table


def read_archive(
    start_date: date | str,
    end_date: date | str,
    *,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
) -> Restored:
    """`restore_from_archive`'s rows, the files read and what it says of the files of the
    range the index does not know (`unindexed`, "" when there are none): a restore finds files
    through the index only, so their rows are left out, as if never archived, until
    `manage.py rebuild_archive_index` indexes them (the database came back from a backup older
    than the archive run that wrote them, or the rebuild refused them)."""
    start, end = _range(start_date, end_date)
    storage = storage or get_storage(NOTHING_RESTORED)
    unindexed = unindexed_covering(storage, start, end)
    covering = objects_covering(start, end)
    low = pa.scalar(utc_midnight(start), type=fmt.TIME_TYPE)
    high = pa.scalar(utc_midnight(end + timedelta(days=1)), type=fmt.TIME_TYPE)
    tables = []
    for obj in progress(covering) if progress else covering:
        data = storage.get(obj.key)
        if (actual := sha256_hex(data)) != obj.checksum:
            raise VerificationError(_mismatch(obj, actual, storage))
        table = _archive_table(obj, data, storage)
        mask = pc.and_(pc.greater_equal(table["time"], low), pc.less(table["time"], high))
        # File by file: expanded, a row is some 3 KB of Python objects, and a whole range at
        # once some 250 MB for a year of a home of 200 entities.
        tables.append(_expanded(table.filter(mask)))
    table = fmt.concat(tables)
    table = table.select(_layout({f.name: f.type for f in table.schema}))
    their = "its rows" if len(unindexed) == 1 else "their rows"
    said = unindexed_message(unindexed, f"{their} of {start}..{end} were not restored",
                             "and restore again") if unindexed else ""  # fmt: skip
    return Restored(table, start, end, [obj.key for obj in covering], said)


def _mismatch(obj: ArchiveObject, actual: str, storage: ArchiveStorage) -> str:
    """Why the bytes of `obj`'s file are not the ones its row records: a later version an
    archive run wrote (a merge of late rows, naming the SHA-256 it `replaces`), which the
    index rebuild records, or a damaged or replaced object."""
    said = f"{obj.key} in {storage.location} does not match its recorded SHA-256 {obj.checksum}"
    if merged_version(storage, obj.key, obj.checksum) == actual:
        return (
            f"{said}: it is a later version an archive run wrote (late rows merged into it), "
            "which the index does not record (the database may have come back from a backup "
            f"older than that run). Not restored. Run {REBUILD}, which records it, and restore "
            "again."
        )
    return f"{said}; the object is damaged or was replaced. Not restored."


@contextmanager
def restore_lock(owner: str) -> Iterator[ArchiveLock]:
    """The archive's lock for a restore (retention.archive.lock), its value naming `owner`:
    held from listing the files to the last write, because an archive run beside it may replace
    (a merge) or delete (an expiry) a file the restore listed, and an index rebuild lists only
    the files it has indexed so far. Taken by another run: ArchiveBusy naming the holder
    (Transient: a queued restore is tried again later)."""
    with archive_lock(owner=owner) as lock:
        if lock is None:
            why = "an archive run may replace or delete the files it would read"
            raise ArchiveBusy(f"{waits_for('a restore', why)}. Nothing was restored.")
        yield lock


def _renewing(lock: ArchiveLock, progress: Progress | None) -> Progress:
    """`progress`, renewing the lock before each file (LockLost when it was lost meanwhile)."""

    def each(items: list[ArchiveObject]) -> Iterator[ArchiveObject]:
        for item in progress(items) if progress else items:
            lock.renew()
            yield item

    return each


def restore_under_lock(
    start_date: date | str,
    end_date: date | str,
    owner: str,
    *,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
) -> Restored:
    """`restore_from_archive` holding the archive's lock (`restore_lock`, its value naming
    `owner`) while it lists and downloads the files: what `manage.py restore_from_archive
    --output` writes. The range is checked before the lock is taken."""
    start, end = _range(start_date, end_date)
    with restore_lock(owner) as lock:
        return read_archive(start, end, storage=storage, progress=_renewing(lock, progress))


@dataclass
class Restored:
    """What `restore_under_lock` read: the rows of start_date..end_date and the files."""

    table: pa.Table
    start_date: date
    end_date: date
    objects: list[str]
    unindexed: str = ""  # what `read_archive` says of the range's files the index lacks


def _expanded(table: pa.Table) -> pa.Table:
    """The rows with the fields the tiers leave out of a stored row put back, as enrich's
    readers see them (`retention.tiers.layout.expand`: a power row's total_energy, a meter's
    max_value, gap_count 0, a weather attribute's coverage seconds)."""
    types = {f.name: f.type for f in table.schema if f.name not in fmt.REQUIRED_COLUMNS}
    rows = []
    for row in fmt.table_rows(table):
        fields = {k: v for k, v in row.items() if k not in fmt.REQUIRED_COLUMNS}
        full = expand(DAILY_RP, fields, row["kind"])
        for name in full.keys() - types.keys():
            types[name] = pa.float64()  # a derived attribute coverage no row of a file kept
        rows.append({name: row[name] for name in fmt.REQUIRED_COLUMNS} | full)
    return fmt.rows_to_table(rows, _layout(types))


def _layout(types: dict[str, pa.DataType]) -> dict[str, pa.DataType]:
    """The columns `types` in the files' order (the required ones, the known fields, then the
    others by name), not in a set's order, which changes from one process to the next: a
    range restored twice gives one schema."""
    layout = {name: types[name] for name in fmt.REQUIRED_COLUMNS if name in types}
    layout |= {name: types[name] for name in fmt.KNOWN_FIELDS if name in types}
    return layout | {name: types[name] for name in sorted(types) if name not in layout}


def table_readings(table: pa.Table) -> Iterator[Reading]:
    """The rows as `entity_aggregates` readings (tags entity_id, kind; None fields left out),
    made a batch of rows at a time, not all of a range's at once."""
    for batch in table.to_batches(max_chunksize=READING_BATCH_ROWS):
        for row in fmt.table_rows(batch):
            tags = {name: row.pop(name) for name in fmt.TAG_COLUMNS}
            moment = row.pop("time")
            yield Reading(MEASUREMENT, row, moment, tags)


@dataclass
class RestoreReport:
    run_id: int
    database: str
    start_date: date
    end_date: date
    objects: list[str]
    records: int
    days: int  # the UTC days of the range the archive held rows for: those restored
    unindexed: str = ""  # files of the range the index lacks, not read (`read_archive`)

    @property
    def days_asked(self) -> int:
        """The days of the range, start_date to end_date, both inclusive."""
        return (self.end_date - self.start_date).days + 1

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["start_date"] = self.start_date.isoformat()
        data["end_date"] = self.end_date.isoformat()
        data["days_asked"] = self.days_asked
        return data


def days_held(table: pa.Table) -> int:
    """How many UTC days the rows of `table` (archived daily rows) are of."""
    return len({moment.date() for moment in table.column("time").to_pylist()})


def restore_to_influxdb(
    start_date: date | str,
    end_date: date | str,
    database: str | None = None,
    *,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
    run: RetentionRun | None = None,
    requeued: Callable[[BaseException, RetentionRun], bool] | None = None,
) -> RestoreReport:
    """Re-import the archived rows of a date range into `database` (default
    RESTORE_INFLUXDB_DATABASE, created if missing; see `retention.archive.restore_target` for which
    databases are allowed), measurement entity_aggregates; recorded in `run` (the one the API
    queued) or a new RetentionRun, whose details hold the report.

    It holds the archive's lock (`restore_lock`) from listing the files to the end: while
    another run holds it (an archive run, which may replace or delete the files; an index
    rebuild; another restore) it restores nothing and raises ArchiveBusy, naming the holder
    (Transient: the queued task tries again later). `requeued`: see `recorded_run`."""
    start, end = _range(start_date, end_date)  # before the run is recorded
    database = restore_database(database)  # refuses Home Assistant's, the tiers', enrich's
    ts = get_timeseries()
    with recorded_run(
        RetentionRun.Operation.RESTORE,
        run,
        requeued=requeued,
        range_start=utc_midnight(start),
        range_end=utc_midnight(end),
    ) as run:
        with restore_lock(f"restore run {run.pk}") as lock:
            progress = _renewing(lock, progress)
            read = read_archive(start, end, storage=storage, progress=progress)
            faults.point("restore.after_download")
            lock.renew()
            ts.create_database(database)
            written = ts.write(database, table_readings(read.table))
            make_sure_shown(ts, database, read.table, written, table_readings)
        run.records_processed = written
        days = days_held(read.table)
        report = RestoreReport(run.pk, database, start, end, read.objects, written, days,
                               read.unindexed)  # fmt: skip
        run.details = {**(run.details or {}), **report.as_dict()}  # keeps who queued it
        return report
