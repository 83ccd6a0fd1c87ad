"""How an archive run and a restore are recorded (`recorded_run`): a RetentionRun, running
while the block runs, then ok, failed with the error, or waiting for its task's retry; and an
archived file, in the index and in InfluxDB (`record_file`, `write_metadata_point`)."""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.conf import settings
from django.utils import timezone

from enrich.database_down import ERRORS, out_of_reach, reached
from enrich.influx import TimeSeries
from enrich.readings import Reading
from enrich.redis.lock import tried_again
from retention.archive.store import ArchiveStorage, sha256_hex
from retention.liveness import alive, retry_unrecorded, stopped_message
from retention.models import ArchiveObject, RetentionRun
from retention.schema import ARCHIVE_METADATA_MEASUREMENT
from retention.timeutil import utc_midnight

MB = 1_000_000


@contextmanager
def recorded_run(
    operation: str,
    run: RetentionRun | None = None,
    *,
    requeued: Callable[[BaseException, RetentionRun], bool] | None = None,
    **fields: Any,
) -> Iterator[RetentionRun]:
    """A RetentionRun row for the block (`run`, one the API created, or a new one): running
    (shown alive: retention.liveness), then ok or failed with the error. An error for which
    `requeued(exc, run)` is true (its task tries again: retention.task_records.requeued; a lock
    lost with no run holding it is a LockGone there) leaves the run waiting in the queue, as
    that function recorded it, not failed. The database out of reach is a DatabaseUnavailable
    (enrich.database_down.reached): tried again so, the run's record cannot say it waits, and
    the retry's message carries it (retention.task_records.carried)."""
    run = run or RetentionRun(
        operation=operation, status=RetentionRun.Status.RUNNING, started=timezone.now(), **fields
    )
    began = clock.monotonic()
    retried = requeued is not None  # the database out of reach: DatabaseUnavailable, in a task
    with reached(retried), alive(run):
        try:
            with reached(retried):
                yield run
        except BaseException as caught:
            # The lock lost with no run holding it (its key gone): a task tries the run again
            # (enrich.redis.lock.tried_again); lost to another run, it stops.
            exc = tried_again(caught) if requeued is not None else caught
            if requeued is None or not requeued(exc, run):  # else it waits for its retry
                run.status = RetentionRun.Status.FAILED
                why = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, SystemExit):  # the process told to stop (a shutdown, a timeout)
                    why = stopped_message(operation)
                run.errors = "\n".join(filter(None, [run.errors, why]))
            if exc is caught:
                raise
            raise exc from caught
        else:
            if run.status == RetentionRun.Status.RUNNING:
                run.status = RetentionRun.Status.FAILED if run.errors else RetentionRun.Status.OK
        finally:
            waits = run.status == RetentionRun.Status.RUNNING  # requeued
            run.finished = None if waits else timezone.now()
            run.duration_seconds = clock.monotonic() - began
            if run.storage_before_bytes is not None and run.storage_after_bytes is not None:
                # As measured, like the tier runs': negative while InfluxDB has not compacted.
                freed = run.storage_before_bytes - run.storage_after_bytes
                run.storage_freed_mb = freed / MB
            try:
                run.save()
            except ERRORS as exc:  # the database out of reach: its retry carries the run
                if not (waits and out_of_reach(exc)):
                    raise
                retry_unrecorded(run)


def record_file(
    storage: ArchiveStorage,
    key: str,
    span: tuple[date, date],
    data: bytes,
    ts: TimeSeries,
    checksum: str = "",
    **fields: Any,
) -> ArchiveObject:
    """Record a verified file in the index (its ArchiveObject, present: not expired) and its
    `archive_metadata` point. `fields`: record_count, compression, storage_class, created and
    source_deleted, as the file is; `checksum`: the data's SHA-256 where the caller has it."""
    obj, _ = ArchiveObject.objects.update_or_create(
        key=key,
        defaults={
            "target": storage.target,
            "bucket": storage.location,
            "start_date": span[0],
            "end_date": span[1],
            "file_size": len(data),
            "checksum": checksum or sha256_hex(data),
            "verified": timezone.now(),
            "expired": None,
            **fields,
        },
    )
    write_metadata_point(obj, ts)
    return obj


def write_metadata_point(obj: ArchiveObject, ts: TimeSeries) -> None:
    """The archived file's `archive_metadata` point (in INFLUXDB_DATABASE)."""
    reading = Reading(
        ARCHIVE_METADATA_MEASUREMENT,
        {
            "s3_key": obj.key,
            "start_date": obj.start_date.isoformat(),
            "end_date": obj.end_date.isoformat(),
            "record_count": int(obj.record_count),
            "file_size_mb": obj.file_size / MB,
            "checksum": obj.checksum,
            "storage_class": obj.storage_class or obj.target,
        },
        utc_midnight(obj.start_date),
        {"s3_key": obj.key, "target": obj.target},
    )
    ts.write(settings.INFLUXDB_DATABASE, [reading])
