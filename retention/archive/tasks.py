"""Celery task of the archive (beat entry "Archive to S3", Sundays 03:00, queue retention)."""

from celery import shared_task

from enrich.errors import Transient
from retention.archive.run import run_archive
from retention.models import RetentionRun
from retention.task_records import recorded, retry_transient


@shared_task(
    **recorded("retention.archive", RetentionRun.Operation.ARCHIVE),
    bind=True,
    max_retries=3,
)
def archive(self, dry_run: bool = False, run_id: int | None = None) -> dict:
    """Archive the daily aggregates that are due and expire old objects (or, with dry_run,
    report what it would do); returns the report. `run_id`: the RetentionRun the API created
    for this task, so whoever queued it can follow it (GET /retention/runs/<id>)."""
    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    try:
        return run_archive(dry_run=dry_run, run=run).as_dict()
    except Transient as exc:
        # S3 or InfluxDB out of reach: every step is idempotent, so a retry continues where
        # this one stopped.
        retry_transient(self, exc, dry_run=dry_run, run_id=run_id)
