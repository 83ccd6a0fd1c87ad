"""Celery tasks of the archive (beat entry "Archive daily aggregates", Sundays 03:00, queue
retention) and of the restore that POST /retention/restore queues."""

from functools import partial

from celery import shared_task

from enrich.errors import Transient
from retention import liveness
from retention import task_records as records
from retention.archive.lock import WAITS
from retention.models import RetentionRun


@shared_task(
    **records.recorded("retention.archive", RetentionRun.Operation.ARCHIVE, WAITS),
    bind=True,
    max_retries=3,
)
def archive(
    self, dry_run: bool = False, run_id: int | None = None, unsaved: dict | None = None
) -> dict:
    """Archive the daily aggregates that are due and expire old objects (or, with dry_run,
    report what it would do); returns the report. `run_id`: the RetentionRun the API created
    for this task, so whoever queued it can follow it (GET /retention/runs/<run_id>); the schedule's
    gets one here. The archive's lock held by another run: tried again later in the same run
    (retention.busy). A retry that cannot be queued (Redis, the broker and the lock's store, out
    of reach) fails the run at once, naming the next scheduled run (`WAITS`). The database out
    of reach is tried again the same way, though the run's record cannot say so then: the
    retry's message carries what it could not (`unsaved`: retention.task_records.carried)."""
    from retention.archive.run import run_archive  # pyarrow: not at every worker's start

    operation = RetentionRun.Operation.ARCHIVE
    run = None
    try:
        run = records.task_run(self, run_id, operation, unsaved)
        return run_archive(
            dry_run=dry_run, run=run, requeued=partial(records.requeued, self)
        ).as_dict()
    except Transient as exc:
        # S3, InfluxDB, Redis or the database out of reach, the archive's lock taken
        # (retention.busy): every step is idempotent, so a retry continues, in the same run,
        # where this one stopped.
        run = run or records.unread(self, exc, run_id, operation, unsaved)  # the database away
        failure = f"{type(exc).__name__}: {exc}; {records.SPENT} {liveness.then(operation)}"
        carries = records.carried_over(self, exc, run, failure)
        records.retry_transient(self, exc, dry_run=dry_run, run_id=run.pk, **carries)


@shared_task(
    **records.recorded("retention.restore", RetentionRun.Operation.RESTORE),
    bind=True,
    max_retries=3,
)
def restore(self, start_date: str, end_date: str, database: str, run_id: int | None = None) -> dict:
    """Re-import the archived daily rows of start_date..end_date (ISO dates, both included)
    into `database`, in the run the API created (`run_id`); returns the report, which the
    run's details hold too. S3 or InfluxDB out of reach, or the archive's lock held by another
    run: tried again later in the same run (which waits in the queue meanwhile, saying why); a
    damaged archive file fails the run at once, naming it."""
    from retention.archive.restore import restore_to_influxdb  # pyarrow: as above

    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    kwargs = {"start_date": start_date, "end_date": end_date, "database": database}
    try:
        report = restore_to_influxdb(
            start_date,
            end_date,
            database,
            run=run,
            requeued=partial(records.requeued, self) if run is not None else None,
        )
    except Transient as exc:
        # Rows restored twice overwrite themselves: a retry restores the whole range again.
        records.retry_transient(self, exc, run_id=run_id, **kwargs)
    return report.as_dict()
