"""The archive run (`run_archive`): daily aggregates older than RETENTION_DAILY_DAYS -> Parquet
on S3 (or a named local directory: retention.archive.target), verified before InfluxDB forgets
them. What is due and how rows are grouped into files: `retention.archive.plan`; restore:
`retention.archive.restore`.

Per planned file: encode -> upload (storage class S3_STORAGE_CLASS, server-side
encryption S3_SSE, SHA-256 in the metadata and as S3's ChecksumSHA256) -> verify (HEAD: size
and checksum; GET: SHA-256 of the bytes and the row count of the parsed file) -> ArchiveObject
row + `archive_metadata` point -> re-read the rows and check each is in the file -> delete the
rows from InfluxDB (the two under the daily tier's lock: `daily_writes_paused`) -> check none is
left. Every read is checked against InfluxDB's own
per-field counts of the range (`retention.archive.reader.read_complete_rows`), so a short query
answer is never archived as the whole, nor deleted; and what each file holds is checked against
the daily tier's record of the rows it wrote (`check_recorded`), before the file is uploaded
or adopted: InfluxDB 1.x can hide a series from answers and counts alike. Any failure stops
that file before the delete; the next run continues from what is there (an object that exists
is adopted when it holds the rows; one that never passed verification is replaced; a verified
one younger than 90 days is never rewritten; a merge uploaded but not recorded names the
recorded file in its metadata `replaces` and is adopted; a file the index does not know is
neither replaced nor overlapped: `retention.archive.unindexed`). The daily tier's policy
dropping rows before a run can take them (`retention.tiers.slack`) is noted in the run's
`details.warnings` and alerted, as the tier runs note theirs; the run goes on.

Expiry: objects whose data ended more than ARCHIVE_RETENTION_YEARS ago (and at least 90 days old)
are deleted and marked `expired`; `check_lifecycle` reports whether the bucket also expires them,
and warns when a versioned bucket keeps what is deleted or replaced as noncurrent versions for ever.

Redis out of reach (the archive's lock, the daily tier's: `retention.archive.lock`) stops the
run at once, before the next step, and so do InfluxDB or S3 out of reach in a task's run, which
its task tries again in the same run (a command's run records the file's error, goes on).
Crash points for the tests (`archive.after_upload`, `archive.before_delete`,
`archive.after_mark`, `archive.after_delete`): `retention.faults`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from enrich.database_down import reached
from enrich.errors import Transient
from enrich.influx import TimeSeries, get_timeseries
from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from retention import faults
from retention.archive import format as fmt
from retention.archive.errors import ArchiveBusy, ArchiveError, VerificationError
from retention.archive.lock import WAITS, archive_lock, daily_writes_paused, lock_held
from retention.archive.plan import (
    MIN_STORAGE_DAYS,
    ArchivePlan,
    PlannedObject,
    cutoff_day,
    nothing_due,
    plan_archive,
)
from retention.archive.reader import (
    check_recorded,
    count_rows,
    daily_bytes,
    daily_field_types,
)
from retention.archive.recorded import record_file, recorded_run
from retention.archive.source import delete_archived
from retention.archive.store import PREFIX, ArchiveStorage, StorageError, sha256_hex
from retention.archive.target import get_storage
from retention.archive.unindexed import ArchiveListing, check_unindexed, unindexed_ahead
from retention.archive.verify import checked_rows, holds, verify_object
from retention.busy import busy, skipped
from retention.models import ArchiveObject, RetentionRun
from retention.schema import DAILY_RP
from retention.stats.conditions import note_slack
from retention.tiers.slack import DAILY
from retention.timeutil import utc_midnight

logger = logging.getLogger(__name__)

KEPT_ROWS = "archived and verified; its rows stay in InfluxDB meanwhile"
# What the log says of a file that failed (retention.archive.source: `delete_sent`).
UNSENT = "archiving %s failed; nothing of it was deleted"
SENT = ("archiving %s failed once the delete of its rows was sent to InfluxDB (some or all may "
        "be gone; the file holds them, verified; the next run deletes what is left)")  # fmt: skip

T = TypeVar("T")
Progress = Callable[[list[T]], Iterable[T]]


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
    note: str = ""
    warnings: list[str] = field(default_factory=list)  # the daily tier's policy: note_slack
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
    requeued: Callable[[BaseException, RetentionRun], bool] | None = None,
) -> ArchiveReport:
    """Archive what is due, expire what is old; recorded as a RetentionRun (`run`, if the API
    created it; see module doc). `requeued`: see `recorded_run`."""
    ts = get_timeseries()
    now = now or timezone.now()
    with (
        recorded_run(
            RetentionRun.Operation.ARCHIVE, run, requeued=requeued, details={"dry_run": dry_run}
        ) as run,
        archive_lock(take=not dry_run, owner=f"archive run {run.pk}") as lock,
    ):
        note_slack(run, DAILY)  # also when no target is set: every run refuses then
        storage = storage or get_storage()  # no target: refused, recorded as a failed run
        report = ArchiveReport(run.pk, "", dry_run, cutoff_day(now), storage.target,
                               warnings=run.details.get("warnings", []))  # fmt: skip
        if lock is None:  # another archive run, an index rebuild or a restore
            if requeued is not None:
                raise busy(ArchiveBusy, lock_held(), WAITS)  # tried again: retention.busy
            run.status = report.status = RetentionRun.Status.SKIPPED
            report.errors.append(skipped(lock_held(), WAITS))
            run.errors = report.errors[0]
            run.details = {**run.details, **report.as_dict()}
            return report
        plan = plan_archive(now, ts, renew=lock.renew)
        run.range_end = utc_midnight(plan.cutoff)
        run.storage_before_bytes = daily_bytes(ts)
        report.waiting = [w.summary() for w in plan.waiting]
        report.errors.extend(plan.unreadable)
        if not plan.daily_tier:
            report.note = (
                f"nothing to archive yet: {settings.TIER_DATABASE}/{DAILY_RP} does not exist "
                "(the first downsample run creates it)"
            )
        elif not (plan.objects or plan.waiting or plan.unreadable):
            report.note = nothing_due(plan.cutoff)  # "0 files, 0 rows" alone says not why
        report.lifecycle = _lifecycle(storage)
        listing = ArchiveListing(storage)  # listed once for the run, not once per file
        lock.renew()
        if dry_run:
            _dry_run(plan, report, run, ts, listing)
            report.status = run.status = RetentionRun.Status.DRY_RUN
            run.details = {**run.details, **report.as_dict()}  # keeps who queued it
            return report
        items = progress(plan.objects) if progress else plan.objects
        for planned in items:
            lock.renew()
            try:
                with reached(requeued is not None):  # the database away: tried again
                    done = _archive_object(planned, listing, ts, report, now, lock.renew)
            except Exception as exc:
                # Redis out of reach (no lock held), or InfluxDB or S3 in a task's run: the run
                # stops, its task tries it again in the same run (the next attempt adopts what
                # is verified); the lock lost stops it, tried again only when no run holds it
                # (recorded_run). A command's run records the file's error and goes on.
                if isinstance(exc, (RedisUnavailable, LockLost)) or (
                    requeued is not None and isinstance(exc, Transient)
                ):
                    raise
                logger.exception(
                    SENT if getattr(exc, "delete_sent", False) else UNSENT, planned.key
                )
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
        run.storage_after_bytes = daily_bytes(ts)
        run.errors = "\n".join(report.errors)
        if plan.objects:
            run.range_start = utc_midnight(plan.objects[0].start)
        report.status = RetentionRun.Status.FAILED if report.errors else RetentionRun.Status.OK
        run.status = report.status
        run.details = {**run.details, **report.as_dict()}  # keeps who queued it
        return report


def _lifecycle(storage: ArchiveStorage) -> str:
    try:
        status = storage.check_lifecycle(PREFIX, settings.ARCHIVE_RETENTION_YEARS)
    except StorageError as exc:
        return f"could not read lifecycle rules: {exc}"
    if status.versions_kept:
        logger.warning("%s", status.message)
    return status.message


def _dry_run(
    plan: ArchivePlan,
    report: ArchiveReport,
    run: RetentionRun,
    ts: TimeSeries,
    listing: ArchiveListing,
) -> None:
    report.objects = [o.summary() for o in plan.objects]
    for planned in plan.objects:  # a file the real run refuses (unindexed, rows hidden) says so
        if planned.existing is None:  # leftovers of an archived range: checked with its file
            try:
                unindexed_ahead(listing, planned)
                check_recorded(planned.rows, planned.start, planned.end)
            except ArchiveError as exc:
                report.errors.append(f"{planned.key}: {exc}")
    report.expired = [o.key for o in plan.expire]
    report.records_archived = plan.records
    run.records_processed = plan.records
    # Expected bytes freed: the daily tier's measured bytes per row times the rows deleted.
    size = run.storage_before_bytes
    total = count_rows(None, None, ts) if plan.daily_tier else 0
    if size is not None and total:
        report.expected_bytes_freed = round(size / total * plan.records)
    run.storage_after_bytes = run.storage_before_bytes


def _archive_object(
    planned: PlannedObject,
    listing: ArchiveListing,
    ts: TimeSeries,
    report: ArchiveReport,
    now: datetime,
    renew: Callable[[], None],
) -> bool:
    """Upload (or adopt), verify, record, delete the source rows (`renew`: the lock, first,
    LockLost if it was lost meanwhile: the file stays verified, its rows for the next run).
    `listing`: the run's of the store's files. False when held back."""
    storage, data, rows, created, archived = listing.storage, planned.data, planned.rows, None, None
    trusted = planned.existing is not None and planned.existing.verified is not None
    stored: bytes | None = None  # the bytes of the object at the key, once read
    info = listing.head(planned.key)  # asked once a run, also by the checks of unindexed files
    if info is None and trusted:
        raise ArchiveError(
            f"{planned.key} is recorded as archived but is missing from {storage.location}; "
            "its rows stay in InfluxDB. Check the store (a lifecycle rule, or someone deleted "
            "it), then delete its ArchiveObject row to archive the range again."
        )
    if info is not None:
        stored = storage.get(planned.key)
        expected = planned.existing.checksum if trusted else info.metadata.get("sha256")
        if trusted and _merged_from(info.metadata, stored, expected):
            expected = sha256_hex(stored)  # uploaded, then the run stopped before recording it
        archived = checked_rows(stored, expected)
        if archived is None and trusted:
            raise VerificationError(
                f"{planned.key} in {storage.location} no longer matches its recorded SHA-256; "
                "the object is damaged. Its rows stay in InfluxDB; replace the object from a "
                "copy or delete its ArchiveObject row to archive the range again."
            )
        if archived is not None and holds(archived, rows):  # rows: planned.rows, read once
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
            rows = list((fmt.row_index(archived) | fmt.row_index(rows)).values())
            table = fmt.rows_to_table(rows, daily_field_types(ts))
            data = fmt.to_parquet(table, settings.ARCHIVE_COMPRESSION)
        # Else the object never passed verification (a crash, a corrupt upload): replace it.
    if created is None and planned.existing is None:  # no file the index lost is replaced
        check_unindexed(listing, planned, archived, stored)
    check_recorded(rows, planned.start, planned.end)  # what the file holds vs the tier's runs
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
                # A merge names the recorded file it holds, for a rerun after a crash.
                **({"replaces": planned.existing.checksum} if trusted else {}),
            },
        )
        report.bytes_uploaded += len(data)
        listing.forget(planned.key)
        created = info.last_modified
        faults.point("archive.after_upload")
    checksum = sha256_hex(data)
    verified_info = verify_object(storage, planned.key, checksum, len(data), len(rows))
    obj = record_file(
        storage,
        planned.key,
        (planned.start, planned.end),
        data,
        ts,
        record_count=len(rows),
        checksum=checksum,
        compression=settings.ARCHIVE_COMPRESSION,
        storage_class=verified_info.storage_class,
        created=created,
        # A merge's old days left InfluxDB with the file it replaces: they stay gone (the
        # admin keeps the row of their only copy) until the late rows' delete marks it anew.
        source_deleted=planned.existing.source_deleted if trusted else None,
    )
    report.objects.append(
        {**planned.summary(), "record_count": len(rows), "file_size": len(data), "sha256": checksum}
    )
    faults.point("archive.before_delete")
    with daily_writes_paused(f"archive run {report.run_id} deleting {obj.key}'s rows") as busy:
        if busy:
            why = f"{busy}, under which daily rows are written; the next run deletes them"
            report.held_back.append({**planned.summary(), "why": f"{KEPT_ROWS}: {why}"})
            return True
        renew()
        deleted = delete_archived(obj, rows, ts)
        if deleted is None:
            why = "its row was deleted (in the admin) meanwhile; the next run archives them"
            report.held_back.append({**planned.summary(), "why": f"{KEPT_ROWS}: {why}"})
            return True
        report.records_deleted += deleted
        faults.point("archive.after_delete")
    return True


def _merged_from(metadata: dict[str, str], stored: bytes, recorded: str) -> bool:
    """Whether the stored bytes are this run's merge of the recorded file (rows + late rows)."""
    return metadata.get("replaces") == recorded and metadata.get("sha256") == sha256_hex(stored)


def _expire(obj: ArchiveObject, storage: ArchiveStorage, now: datetime) -> None:
    storage.delete(obj.key)
    obj.expired = timezone.now()
    obj.save(update_fields=["expired"])
    logger.info("expired %s (data ended %s)", obj.key, obj.end_date)
