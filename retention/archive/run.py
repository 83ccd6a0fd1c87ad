"""The archive: daily aggregates older than RETENTION_DAILY_DAYS -> Parquet on S3 (or a named
local directory: retention.archive.target), verified before InfluxDB forgets them; restore.

What gets archived (`plan_archive`)
- Rows of TIER_DATABASE.enrich_daily.entity_aggregates whose day is before the cutoff
  (today - RETENTION_DAILY_DAYS), in CLOSED periods (ARCHIVE_PERIOD: month, quarter or year)
  that lie wholly before the cutoff.
- Small periods: Glacier IR bills every object as at least 128 KB and for at least 90 days,
  and a month of daily rows of a home is ~20 KB. So consecutive periods of one calendar year
  are grouped into one file until the file reaches 128 KB (MIN_OBJECT_BYTES); the rest of a
  year is written once the year has closed (wholly before the cutoff), even if smaller. Until
  then those rows wait in InfluxDB. A file is therefore written once and never extended: no
  young object ever has to be rewritten.
- Key: `archives/{year}/data_{first day the file covers}.parquet` - deterministic, so a
  rerun finds the object (and its ArchiveObject row) instead of uploading again.

How (`run_archive`), per file: encode -> upload (storage class S3_STORAGE_CLASS, server-side
encryption S3_SSE, SHA-256 in the metadata and as S3's ChecksumSHA256) -> verify (HEAD: size
and checksum; GET: SHA-256 of the bytes and the row count of the parsed file) -> ArchiveObject
row + `archive_metadata` point -> re-read the rows and check each is in the file -> delete the
rows from InfluxDB -> check none is left. Every read is checked against InfluxDB's own
per-field counts of the range (`read_complete_rows`), so a short query answer is never
archived as the whole, nor deleted. Any failure stops that file before the delete; the
next run continues from what is there (an object that exists is adopted when it holds the
rows; one that never passed verification is replaced; a verified one younger than 90 days is
never rewritten).

Expiry: objects whose data ended more than ARCHIVE_RETENTION_YEARS ago (and at least 90 days old)
are deleted and marked `expired`; `check_lifecycle` reports whether the bucket also expires them.

Fault hook: with ENRICH_FAULT_INJECT naming a point (comma-separated), the process kills
itself there with SIGKILL, as a crashed worker would: `archive.after_upload`,
`archive.before_delete`, `archive.after_delete`. Unset, it does nothing.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import time as clock
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.utils import timezone

from enrich.influx import TimeSeries, get_timeseries, quote_ident
from enrich.readings import Reading
from enrich.time_span import SPAN, outside_span
from retention.archive import format as fmt
from retention.archive.lock import archive_lock as _archive_lock  # noqa: F401  (re-exported)
from retention.archive.lock import archive_lock_key  # noqa: F401  (re-exported)
from retention.archive.restore_target import restore_database
from retention.archive.store import ArchiveStorage, StorageError, sha256_hex
from retention.archive.target import get_storage
from retention.models import ArchiveObject, RetentionRun
from retention.schema import ARCHIVE_METADATA_MEASUREMENT, DAILY_RP, TIER_MEASUREMENT

if TYPE_CHECKING:
    from retention.archive.index import IndexReport

logger = logging.getLogger(__name__)

MEASUREMENT = TIER_MEASUREMENT
METADATA_MEASUREMENT = ARCHIVE_METADATA_MEASUREMENT
KEY_FORMAT = "archives/{year}/data_{start}.parquet"
MIN_OBJECT_BYTES = 128 * 1024  # Glacier IR's minimum billable object size
MIN_STORAGE_DAYS = 90  # Glacier IR bills deleting/overwriting younger objects to 90 days
MB = 1_000_000
FAULT_ENV = "ENRICH_FAULT_INJECT"

T = TypeVar("T")
Progress = Callable[[list[T]], Iterable[T]]


class ArchiveError(Exception):
    """An archive or restore step failed; nothing was deleted for the file concerned."""


class VerificationError(ArchiveError):
    """What was read back from the store is not what was uploaded."""


def fault_point(name: str) -> None:
    """Die here (SIGKILL) when ENRICH_FAULT_INJECT names this point; a no-op otherwise."""
    wanted = {n.strip() for n in os.environ.get(FAULT_ENV, "").split(",")}
    if name in wanted:
        logger.error("fault injection: killing the process at %s", name)
        os.kill(os.getpid(), signal.SIGKILL)


# --- Periods -------------------------------------------------------------------------------
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def period_start(day: date, period: str) -> date:
    months = PERIOD_MONTHS[period]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def next_period(start: date, period: str) -> date:
    month = start.month - 1 + PERIOD_MONTHS[period]
    return date(start.year + month // 12, month % 12 + 1, 1)


def archive_key(start: date) -> str:
    return KEY_FORMAT.format(year=start.year, start=start.isoformat())


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def cutoff_day(now: datetime | None = None) -> date:
    """Rows of days before this one are due for the archive."""
    today = (now or timezone.now()).astimezone(UTC).date()
    return today - timedelta(days=settings.RETENTION_DAILY_DAYS)


# --- Reading the daily tier ----------------------------------------------------------------
def _source() -> str:
    return f"{quote_ident(DAILY_RP)}.{quote_ident(MEASUREMENT)}"


def daily_field_types(ts: TimeSeries | None = None) -> dict[str, pa.DataType]:
    ts = ts or get_timeseries()
    influx: dict[str, str] = {}
    for row in ts.query(settings.TIER_DATABASE, f"SHOW FIELD KEYS FROM {_source()}"):
        key = row.values["fieldKey"]
        influx[key] = ",".join(
            sorted({*influx.get(key, "").split(","), row.values["fieldType"]} - {""})
        )
    return fmt.field_types(influx)


def read_daily_rows(start: date, end: date, ts: TimeSeries | None = None) -> list[fmt.Row]:
    """Daily rows with start <= day < end, as archive rows (None fields left out)."""
    ts = ts or get_timeseries()
    query = (
        f"SELECT * FROM {_source()} WHERE time >= $start AND time < $end "
        f'GROUP BY "entity_id", "kind"'
    )
    rows = []
    params = {"start": _midnight(start), "end": _midnight(end)}
    for row in ts.query(settings.TIER_DATABASE, query, params=params):
        values = {k: v for k, v in row.values.items() if v is not None and k not in fmt.TAG_COLUMNS}
        rows.append({"time": row.time, **row.tags, **values})
    return sorted(rows, key=fmt.sort_key)


def field_counts(start: date, end: date, ts: TimeSeries) -> dict[str, int]:
    """InfluxDB's own count of values per field in start <= day < end (fields it has none of
    are left out)."""
    query = f"SELECT count(*) FROM {_source()} WHERE time >= $start AND time < $end"
    params = {"start": _midnight(start), "end": _midnight(end)}
    counts: dict[str, int] = {}
    for row in ts.query(settings.TIER_DATABASE, query, params=params):
        for name, value in row.values.items():
            if name.startswith("count_") and value:
                counts[name.removeprefix("count_")] = int(value)
    return counts


def rows_field_counts(rows: Iterable[fmt.Row]) -> dict[str, int]:
    """Values per field of rows (None not counted), as `field_counts` reports them."""
    counts: dict[str, int] = {}
    for row in rows:
        for name, value in row.items():
            if value is not None and name != "time" and name not in fmt.TAG_COLUMNS:
                counts[name] = counts.get(name, 0) + 1
    return counts


READ_ATTEMPTS = 3


def read_complete_rows(start: date, end: date, ts: TimeSeries) -> list[fmt.Row]:
    """`read_daily_rows`, checked against InfluxDB's own per-field counts of the range.

    A row or field value that a query did not return would otherwise be missing from the
    file and then deleted with the range. On a mismatch the range is read again (up to
    READ_ATTEMPTS times); if it persists, ArchiveError: nothing of it is archived or deleted.
    """
    mismatch = ""
    for attempt in range(1, READ_ATTEMPTS + 1):
        rows = read_daily_rows(start, end, ts)
        expected, got = field_counts(start, end, ts), rows_field_counts(rows)
        if expected == got:
            return rows
        differ = sorted(n for n in expected.keys() | got.keys() if expected.get(n) != got.get(n))
        mismatch = ", ".join(
            f"{n}: {got.get(n, 0)} read, {expected.get(n, 0)} counted" for n in differ[:5]
        )
        logger.warning(
            "reading %s..%s of the daily tier (attempt %d of %d) returned other values than "
            "InfluxDB counts (%s)",
            start,
            end - timedelta(days=1),
            attempt,
            READ_ATTEMPTS,
            mismatch,
        )
    raise ArchiveError(
        f"InfluxDB returned other values for {start}..{end - timedelta(days=1)} than it counts "
        f"({mismatch}), {READ_ATTEMPTS} reads in a row; nothing of this range is archived or "
        "deleted. Writes may still be arriving there; otherwise restart influxd (InfluxDB 1.x "
        "can hide series until a restart) and run the archive again."
    )


def _first_day_before(cutoff: date, ts: TimeSeries) -> date | None:
    query = f"SELECT first(sample_count) FROM {_source()} WHERE time < $end"
    rows = list(ts.query(settings.TIER_DATABASE, query, params={"end": _midnight(cutoff)}))
    return rows[0].time.date() if rows and rows[0].time else None


def _count_rows(start: date | None, end: date | None, ts: TimeSeries) -> int:
    """Daily rows with start <= day < end (None: unbounded)."""
    terms, params = [], {}
    if start:
        terms.append("time >= $start")
        params["start"] = _midnight(start)
    if end:
        terms.append("time < $end")
        params["end"] = _midnight(end)
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    query = f"SELECT count(sample_count) FROM {_source()}{where}"
    rows = list(ts.query(settings.TIER_DATABASE, query, params=params or None))
    return int(rows[0].values["count"]) if rows else 0


def _daily_bytes(ts: TimeSeries) -> int | None:
    try:
        return ts.sizes().get((settings.TIER_DATABASE, DAILY_RP))
    except Exception as exc:  # sizes are a figure for the log, never a reason to stop
        logger.warning("cannot measure the daily tier's size: %s", exc)
        return None


# --- The plan ------------------------------------------------------------------------------
@dataclass
class PlannedObject:
    """One file to write (or, with `existing`, rows left in a range already archived)."""

    key: str
    start: date
    end: date  # last day covered, inclusive
    rows: list[fmt.Row] = field(repr=False)
    data: bytes = field(repr=False)
    why: str
    existing: ArchiveObject | None = None

    @property
    def record_count(self) -> int:
        return len(self.rows)

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "record_count": self.record_count,
            "file_size": len(self.data),
            "why": self.why,
        }


@dataclass
class Waiting:
    start: date
    end: date
    record_count: int
    file_size: int
    why: str

    def summary(self) -> dict[str, Any]:
        return {
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "record_count": self.record_count,
            "file_size": self.file_size,
            "why": self.why,
        }


@dataclass
class ArchivePlan:
    cutoff: date
    objects: list[PlannedObject]
    waiting: list[Waiting]
    expire: list[ArchiveObject]
    # Ranges InfluxDB did not return completely: planning stopped there, nothing of them
    # (nor of the file they would have joined) is archived by this run.
    unreadable: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(o.record_count for o in self.objects)


def _min_object_bytes() -> int:
    # Tests shrink it to exercise grouping with small data; production keeps Glacier's 128 KB.
    return int(getattr(settings, "ARCHIVE_MIN_OBJECT_BYTES", MIN_OBJECT_BYTES))


def plan_archive(
    now: datetime | None = None, ts: TimeSeries | None = None, renew: Callable = lambda: None
) -> ArchivePlan:
    """What a run would archive and expire now; reads only. `renew` (the run's lock) is called
    before each period is read."""
    ts = ts or get_timeseries()
    now = now or timezone.now()
    cutoff = cutoff_day(now)
    period = settings.ARCHIVE_PERIOD
    compression = settings.ARCHIVE_COMPRESSION
    types = daily_field_types(ts)
    minimum = _min_object_bytes()
    archived = list(ArchiveObject.objects.filter(expired__isnull=True))
    objects: list[PlannedObject] = []
    waiting: list[Waiting] = []
    leftovers: dict[int, list[fmt.Row]] = {}

    group: dict[str, Any] | None = None

    def close(why: str) -> None:
        nonlocal group
        if group is not None:
            start, end = group["start"], group["end"] - timedelta(days=1)
            objects.append(
                PlannedObject(archive_key(start), start, end, group["rows"], group["data"], why)
            )
        group = None

    unreadable: list[str] = []
    first = _first_day_before(cutoff, ts)
    unit = period_start(first, period) if first else None
    while unit is not None and next_period(unit, period) <= cutoff:
        unit_end = next_period(unit, period)
        renew()
        try:
            rows = read_complete_rows(unit, unit_end, ts)
        except ArchiveError as exc:
            unreadable.append(str(exc))
            group = None  # its year would be incomplete: it waits for the next run
            break
        owner = next((a for a in archived if a.start_date <= unit <= a.end_date), None)
        if owner is not None:
            close("the next period is already archived")
            if rows:
                leftovers.setdefault(owner.pk, []).extend(rows)
            unit = unit_end
            continue
        if group is not None and unit.year != group["start"].year:
            close(f"year {group['start'].year} closed")
        if rows or group is not None:
            group = group or {"start": unit, "rows": []}
            group["rows"].extend(rows)
            group["end"] = unit_end
            group["data"] = fmt.to_parquet(fmt.rows_to_table(group["rows"], types), compression)
            if len(group["data"]) >= minimum:
                close(f"reached {minimum} bytes")
        unit = unit_end
    if group is not None:
        year_end = date(group["start"].year + 1, 1, 1)
        if year_end <= cutoff:
            close(f"year {group['start'].year} closed")
        else:
            waiting.append(
                Waiting(
                    group["start"],
                    group["end"] - timedelta(days=1),
                    len(group["rows"]),
                    len(group["data"]),
                    f"{len(group['data'])} bytes, below the {minimum} bytes minimum object "
                    f"size; written when it grows past it or when {group['start'].year} "
                    f"closes (on {year_end + timedelta(days=settings.RETENTION_DAILY_DAYS)})",
                )
            )
            group = None
    by_pk = {a.pk: a for a in archived}
    for pk, rows in leftovers.items():
        owner = by_pk[pk]
        table = fmt.rows_to_table(rows, types)
        objects.append(
            PlannedObject(
                owner.key,
                owner.start_date,
                owner.end_date,
                rows,
                fmt.to_parquet(table, compression),
                "rows found again in an archived range",
                existing=owner,
            )
        )
    objects.sort(key=lambda o: o.start)
    return ArchivePlan(cutoff, objects, waiting, _due_for_expiry(now, archived), unreadable)


def _due_for_expiry(now: datetime, archived: list[ArchiveObject]) -> list[ArchiveObject]:
    years = settings.ARCHIVE_RETENTION_YEARS
    today = now.astimezone(UTC).date()
    try:
        limit = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        limit = today.replace(year=today.year - years, day=28)
    young = now - timedelta(days=MIN_STORAGE_DAYS)
    return [a for a in archived if a.end_date < limit and a.created <= young]


# --- Recording runs ------------------------------------------------------------------------
@contextmanager
def recorded_run(
    operation: str, run: RetentionRun | None = None, **fields: Any
) -> Iterator[RetentionRun]:
    """A RetentionRun row for the block (`run`, one the API created, or a new one): running,
    then ok or failed with the error."""
    run = run or RetentionRun.objects.create(
        operation=operation, status=RetentionRun.Status.RUNNING, started=timezone.now(), **fields
    )
    began = clock.monotonic()
    try:
        yield run
    except BaseException as exc:
        run.status = RetentionRun.Status.FAILED
        run.errors = "\n".join(filter(None, [run.errors, f"{type(exc).__name__}: {exc}"]))
        raise
    else:
        if run.status == RetentionRun.Status.RUNNING:
            run.status = RetentionRun.Status.FAILED if run.errors else RetentionRun.Status.OK
    finally:
        run.finished = timezone.now()
        run.duration_seconds = clock.monotonic() - began
        if run.storage_before_bytes is not None and run.storage_after_bytes is not None:
            freed = run.storage_before_bytes - run.storage_after_bytes
            run.storage_freed_mb = max(freed, 0) / MB
        run.save()


# --- Running -------------------------------------------------------------------------------
@dataclass
class ArchiveReport:
    run_id: int
    status: str
    dry_run: bool
    cutoff: date
    target: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    held_back: list[dict[str, Any]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    records_archived: int = 0
    records_deleted: int = 0
    bytes_uploaded: int = 0
    expected_bytes_freed: int | None = None
    lifecycle: str = ""
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["cutoff"] = self.cutoff.isoformat()
        return data


def run_archive(
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
    run: RetentionRun | None = None,
) -> ArchiveReport:
    """Archive what is due, expire what is old; recorded as a RetentionRun (`run`, if the API
    created it; see module doc)."""
    ts = get_timeseries()
    now = now or timezone.now()
    with (
        recorded_run(RetentionRun.Operation.ARCHIVE, run) as run,
        _archive_lock(take=not dry_run) as lock,
    ):
        storage = storage or get_storage()  # no target: refused, recorded as a failed run
        report = ArchiveReport(run.pk, "", dry_run, cutoff_day(now), storage.target)
        if lock is None:
            run.status = RetentionRun.Status.SKIPPED
            report.status = run.status
            report.errors.append("another archive run holds the lock; nothing done")
            return report
        plan = plan_archive(now, ts, renew=lock.renew)
        run.range_end = _midnight(plan.cutoff)
        run.storage_before_bytes = _daily_bytes(ts)
        report.waiting = [w.summary() for w in plan.waiting]
        report.errors.extend(plan.unreadable)
        report.lifecycle = _lifecycle(storage)
        lock.renew()
        if dry_run:
            _dry_run(plan, report, run, ts)
            report.status = run.status = RetentionRun.Status.DRY_RUN
            run.details = {**run.details, **report.as_dict()}  # keeps who queued it
            return report
        items = progress(plan.objects) if progress else plan.objects
        for planned in items:
            lock.renew()
            try:
                done = _archive_object(planned, storage, ts, report, now)
            except Exception as exc:
                logger.exception("archiving %s failed; nothing of it was deleted", planned.key)
                report.errors.append(f"{planned.key}: {type(exc).__name__}: {exc}")
                continue
            if done:
                report.records_archived += planned.record_count
        for obj in plan.expire:
            lock.renew()
            try:
                _expire(obj, storage, now)
                report.expired.append(obj.key)
            except StorageError as exc:
                report.errors.append(f"expiring {obj.key}: {exc}")
        run.records_processed = report.records_archived
        run.records_deleted = report.records_deleted
        run.storage_after_bytes = _daily_bytes(ts)
        run.errors = "\n".join(report.errors)
        if plan.objects:
            run.range_start = _midnight(plan.objects[0].start)
        report.status = RetentionRun.Status.FAILED if report.errors else RetentionRun.Status.OK
        run.status = report.status
        run.details = {**run.details, **report.as_dict()}  # keeps who queued it
        return report


def _lifecycle(storage: ArchiveStorage) -> str:
    try:
        return storage.check_lifecycle("archives/", settings.ARCHIVE_RETENTION_YEARS).message
    except StorageError as exc:
        return f"could not read lifecycle rules: {exc}"


def _dry_run(plan: ArchivePlan, report: ArchiveReport, run: RetentionRun, ts: TimeSeries) -> None:
    report.objects = [o.summary() for o in plan.objects]
    report.expired = [o.key for o in plan.expire]
    report.records_archived = plan.records
    run.records_processed = plan.records
    # Expected bytes freed: the daily tier's measured bytes per row times the rows deleted.
    size = run.storage_before_bytes
    total = _count_rows(None, None, ts)
    if size is not None and total:
        report.expected_bytes_freed = round(size / total * plan.records)
    run.storage_after_bytes = run.storage_before_bytes


def _archive_object(
    planned: PlannedObject,
    storage: ArchiveStorage,
    ts: TimeSeries,
    report: ArchiveReport,
    now: datetime,
) -> bool:
    """Upload (or adopt), verify, record, delete the source rows. False when held back."""
    data, rows, created = planned.data, planned.rows, None
    trusted = planned.existing is not None and planned.existing.verified is not None
    info = storage.head(planned.key)
    if info is None and trusted:
        raise ArchiveError(
            f"{planned.key} is recorded as archived but is missing from {storage.location}; "
            "its rows stay in InfluxDB. Check the store (a lifecycle rule, or someone deleted "
            "it), then delete its ArchiveObject row to archive the range again."
        )
    if info is not None:
        stored = storage.get(planned.key)
        expected = planned.existing.checksum if trusted else info.metadata.get("sha256")
        archived = _parsed_rows(stored) if sha256_hex(stored) == expected else None
        if archived is None and trusted:
            raise VerificationError(
                f"{planned.key} in {storage.location} no longer matches its recorded SHA-256; "
                "the object is damaged. Its rows stay in InfluxDB; replace the object from a "
                "copy or delete its ArchiveObject row to archive the range again."
            )
        if archived is not None and _holds(archived, planned.rows):
            data, rows, created = stored, archived, info.last_modified
            logger.info("%s already holds these rows: adopted, not uploaded", planned.key)
        elif archived is not None and trusted:
            if now - info.last_modified < timedelta(days=MIN_STORAGE_DAYS):
                report.held_back.append(
                    {
                        **planned.summary(),
                        "why": f"{planned.key} does not hold these rows and is younger than "
                        f"{MIN_STORAGE_DAYS} days: never rewritten; the rows stay in InfluxDB "
                        "until it is old enough",
                    }
                )
                return False
            rows = list((fmt.row_index(archived) | fmt.row_index(planned.rows)).values())
            table = fmt.rows_to_table(rows, daily_field_types(ts))
            data = fmt.to_parquet(table, settings.ARCHIVE_COMPRESSION)
        # Else the object never passed verification (a crash, a corrupt upload): replace it.
    if created is None:
        info = storage.put(
            planned.key,
            data,
            storage_class=settings.S3_STORAGE_CLASS if storage.target == "s3" else "",
            sse=settings.S3_SSE if storage.target == "s3" else "",
            metadata={
                "start_date": planned.start.isoformat(),
                "end_date": planned.end.isoformat(),
                "record_count": str(len(rows)),
                "compression": settings.ARCHIVE_COMPRESSION,
            },
        )
        report.bytes_uploaded += len(data)
        created = info.last_modified
        fault_point("archive.after_upload")
    checksum = sha256_hex(data)
    verified_info = verify_object(storage, planned.key, checksum, len(data), len(rows))
    obj, _ = ArchiveObject.objects.update_or_create(
        key=planned.key,
        defaults={
            "target": storage.target,
            "bucket": storage.location,
            "start_date": planned.start,
            "end_date": planned.end,
            "record_count": len(rows),
            "file_size": len(data),
            "checksum": checksum,
            "compression": settings.ARCHIVE_COMPRESSION,
            "storage_class": verified_info.storage_class,
            "created": created,
            "verified": timezone.now(),
            "source_deleted": None,
            "expired": None,
        },
    )
    _write_metadata_point(obj, ts)
    report.objects.append(
        {**planned.summary(), "record_count": len(rows), "file_size": len(data), "sha256": checksum}
    )
    fault_point("archive.before_delete")
    report.records_deleted += _delete_source(obj, rows, ts)
    fault_point("archive.after_delete")
    obj.source_deleted = timezone.now()
    obj.save(update_fields=["source_deleted"])
    return True


def _parsed_rows(data: bytes) -> list[fmt.Row] | None:
    try:
        return fmt.table_rows(fmt.from_parquet(data))
    except (pa.ArrowException, OSError):
        return None


def _holds(archived: list[fmt.Row], rows: list[fmt.Row]) -> bool:
    """Whether every row is in the archived rows, value for value."""
    index = fmt.row_index(archived)
    return all(index.get(key) == row for key, row in fmt.row_index(rows).items())


def verify_object(
    storage: ArchiveStorage, key: str, checksum: str, size: int, record_count: int
) -> Any:
    """Read the object back: size and checksum by HEAD, SHA-256 of the GET bytes, and the
    parsed file's row count. Raises VerificationError on any difference."""
    info = storage.head(key)
    if info is None:
        raise VerificationError(f"{key} is not in {storage.location} after the upload.")
    problems = []
    if info.size != size:
        problems.append(f"size {info.size} instead of {size} bytes")
    if info.metadata.get("sha256") != checksum:
        problems.append(f"metadata sha256 {info.metadata.get('sha256')!r} instead of {checksum}")
    if info.checksum_sha256:
        if base64.b64decode(info.checksum_sha256) != bytes.fromhex(checksum):
            problems.append("the store's ChecksumSHA256 does not match")
    body = storage.get(key)
    if sha256_hex(body) != checksum:
        problems.append(f"downloaded bytes have sha256 {sha256_hex(body)}")
    else:
        rows = fmt.from_parquet(body).num_rows
        if rows != record_count:
            problems.append(f"{rows} rows instead of {record_count}")
    if problems:
        raise VerificationError(
            f"{key} read back from {storage.location} differs from what was uploaded: "
            + "; ".join(problems)
            + ". Nothing was deleted from InfluxDB; the next run uploads it again."
        )
    return info


def _write_metadata_point(obj: ArchiveObject, ts: TimeSeries) -> None:
    reading = Reading(
        METADATA_MEASUREMENT,
        {
            "s3_key": obj.key,
            "start_date": obj.start_date.isoformat(),
            "end_date": obj.end_date.isoformat(),
            "record_count": int(obj.record_count),
            "file_size_mb": obj.file_size / MB,
            "checksum": obj.checksum,
            "storage_class": obj.storage_class or obj.target,
        },
        _midnight(obj.start_date),
        {"s3_key": obj.key, "target": obj.target},
    )
    ts.write(settings.INFLUXDB_DATABASE, [reading])


def _delete_source(obj: ArchiveObject, archived: list[fmt.Row], ts: TimeSeries) -> int:
    """Delete the archived range from the daily tier after checking every row there is in
    the file (rows written meanwhile stop the delete); return the rows deleted."""
    end = obj.end_date + timedelta(days=1)
    current = read_complete_rows(obj.start_date, end, ts)
    if not _holds(archived, current):
        raise ArchiveError(
            f"the daily tier has rows in {obj.start_date}..{obj.end_date} that {obj.key} does "
            "not hold (written after the file); nothing deleted, the next run archives them."
        )
    if current:
        ts.delete(
            settings.TIER_DATABASE,
            _midnight(obj.start_date),
            _midnight(end),
            measurement=MEASUREMENT,
            retention_policy=DAILY_RP,
        )
        left = _count_rows(obj.start_date, end, ts)
        if left:
            raise ArchiveError(
                f"{left} rows of {obj.key}'s range are still in InfluxDB after the delete."
            )
    return len(current)


def _expire(obj: ArchiveObject, storage: ArchiveStorage, now: datetime) -> None:
    storage.delete(obj.key)
    obj.expired = timezone.now()
    obj.save(update_fields=["expired"])
    logger.info("expired %s (data ended %s)", obj.key, obj.end_date)


# --- Restore -------------------------------------------------------------------------------
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
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date() if value.tzinfo else value.date()
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        day = None
    if day is None or outside_span(day):
        raise ValueError(f"{name}={value!r} is not a date; use YYYY-MM-DD, {SPAN}")
    return day


def restore_from_archive(
    start_date: date | str,
    end_date: date | str,
    *,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """The archived daily rows with start_date <= day <= end_date (both inclusive), as a
    pyarrow Table (`.to_pandas()` with pandas installed). Downloads only the objects that
    cover the range, each checked against its recorded SHA-256."""
    start, end = _as_date(start_date, "start_date"), _as_date(end_date, "end_date")
    if end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")
    storage = storage or get_storage()
    covering = objects_covering(start, end)
    tables = []
    for obj in progress(covering) if progress else covering:
        data = storage.get(obj.key)
        if sha256_hex(data) != obj.checksum:
            raise VerificationError(
                f"{obj.key} in {storage.location} does not match its recorded SHA-256 "
                f"{obj.checksum}; the object is damaged or was replaced. Not restored."
            )
        tables.append(fmt.from_parquet(data))
    table = fmt.concat(tables)
    low = pa.scalar(_midnight(start), type=fmt.TIME_TYPE)
    high = pa.scalar(_midnight(end + timedelta(days=1)), type=fmt.TIME_TYPE)
    mask = pc.and_(pc.greater_equal(table["time"], low), pc.less(table["time"], high))
    return table.filter(mask)


def table_readings(table: pa.Table) -> Iterator[Reading]:
    """The rows as `entity_aggregates` readings (tags entity_id, kind; None fields left out)."""
    for row in fmt.table_rows(table):
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

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["start_date"] = self.start_date.isoformat()
        data["end_date"] = self.end_date.isoformat()
        return data


def restore_to_influxdb(
    start_date: date | str,
    end_date: date | str,
    database: str | None = None,
    *,
    storage: ArchiveStorage | None = None,
    progress: Progress | None = None,
) -> RestoreReport:
    """Re-import the archived rows of a date range into `database` (default
    RESTORE_INFLUXDB_DATABASE, created if missing; see `retention.archive.restore_target` for which
    databases are allowed), measurement entity_aggregates."""
    start, end = _as_date(start_date, "start_date"), _as_date(end_date, "end_date")
    database = restore_database(database)  # refuses Home Assistant's, the tiers', enrich's
    ts = get_timeseries()
    with recorded_run(
        RetentionRun.Operation.RESTORE, range_start=_midnight(start), range_end=_midnight(end)
    ) as run:
        covering = [o.key for o in objects_covering(start, end)]
        table = restore_from_archive(start, end, storage=storage, progress=progress)
        ts.create_database(database)
        written = ts.write(database, table_readings(table))
        run.records_processed = written
        run.details = {"database": database, "objects": covering}
        return RestoreReport(run.pk, database, start, end, covering, written)


# --- Rebuilding the index ------------------------------------------------------------------
def rebuild_index(
    storage: ArchiveStorage | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """ArchiveObject rows for the store's objects that have none (after losing the database):
    each verified against its stored SHA-256 and read for its rows and days; see
    `retention.archive.index`. Existing rows are left alone; a rerun changes nothing."""
    # archive_index builds on this module's helpers, so it is imported when called.
    from retention.archive.index import rebuild

    return rebuild(storage, dry_run=dry_run, progress=progress)
