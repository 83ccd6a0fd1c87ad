"""Celery task of the archive (beat entry "Archive to S3", Sundays 03:00, queue retention)."""

from celery import shared_task

from enrich.timeseries import InfluxUnavailable
from retention.archive import run_archive
from retention.models import RetentionRun
from retention.s3 import StorageUnavailable
from retention.task_records import recorded


@shared_task(
    **recorded("retention.archive", RetentionRun.Operation.ARCHIVE),
    # Transient outages only; every step is idempotent, so a retry continues where it was.
    autoretry_for=(StorageUnavailable, InfluxUnavailable),
    retry_backoff=60,
    retry_jitter=True,
    max_retries=3,
)
def archive(dry_run: bool = False, run_id: int | None = None) -> dict:
    """Archive the daily aggregates that are due and expire old objects (or, with dry_run,
    report what it would do); returns the report. `run_id`: the RetentionRun the API created
    for this task, so whoever queued it can follow it (GET /retention/runs/<id>)."""
    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    return run_archive(dry_run=dry_run, run=run).as_dict()
