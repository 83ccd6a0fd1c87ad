"""Thin Celery tasks of the retention tiers (beat: 02:00 hourly, 02:30 daily; see
config/schedule.py). The work and its bookkeeping are in `retention.tiers.runner`."""

from datetime import date

from celery import shared_task

from enrich.errors import Transient
from retention.models import RetentionRun
from retention.task_records import recorded, retry_transient
from retention.tiers import runner as tiers


def _run(
    task, function, run_id: int | None, start: str | None, end: str | None, dry_run: bool
) -> dict:
    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    try:
        run = function(
            date.fromisoformat(start) if start else None,
            date.fromisoformat(end) if end else None,
            run=run,
            dry_run=dry_run,
        )
    except Transient as exc:
        # A retry is a new run record; the failed one stays as history.
        retry_transient(task, exc, run_id=None, start=start, end=end, dry_run=dry_run)
    return {"run_id": run.pk, "status": run.status, "summary": tiers.summary(run)}


@shared_task(
    **recorded("retention.downsample_hourly", RetentionRun.Operation.DOWNSAMPLE_HOURLY),
    bind=True,
    max_retries=3,
)
def downsample_hourly(
    self,
    run_id: int | None = None,
    start: str | None = None,
    end: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Raw -> hourly; `start`/`end` are ISO dates (end exclusive), `run_id` a RetentionRun
    created by the API for this task; `dry_run` reports what a run would do, changing nothing
    (the API queues dry runs too: they read every entity's points of every day due)."""
    return _run(self, tiers.downsample_hourly, run_id, start, end, dry_run)


@shared_task(
    **recorded("retention.downsample_daily", RetentionRun.Operation.DOWNSAMPLE_DAILY),
    bind=True,
    max_retries=3,
)
def downsample_daily(
    self,
    run_id: int | None = None,
    start: str | None = None,
    end: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Hourly -> daily; arguments as for downsample_hourly."""
    return _run(self, tiers.downsample_daily, run_id, start, end, dry_run)
