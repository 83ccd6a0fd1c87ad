"""An archive run that finds the archive's lock taken (retention.archive.lock: held by another
archive run, an index rebuild or a restore): what it says and when archiving comes next.

Inside the Celery task (the beat schedule's weekly run, or one the API queued) the run raises
ArchiveBusy and the task tries it again in the same run (retention.task_records.retry_transient:
after RETENTION_RETRY_SECONDS, then twice that, 3 times), which waits in the queue meanwhile,
`details.retries` naming the holder; a lock still taken after the last retry fails the run
(an alert) saying when the next scheduled run comes. Run by the command it is recorded skipped.
Before, the scheduled run was skipped for the week. Nothing is lost meanwhile: the daily tier
keeps every row until an archive run has verified its file (its retention policy is INF, or long
enough: retention.tiers.safety).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from retention.archive.errors import ArchiveBusy
from retention.archive.lock import archive_lock_holder

TASK = "retention.archive"
KEPT = "the daily tier keeps the rows due until an archive run has verified their file"


def next_scheduled_run() -> datetime | None:
    """When the beat schedule next starts an archive run (its enabled entries for the task, as
    edited in the admin), or None when none is enabled."""
    now = timezone.now()
    times = []
    for task in PeriodicTask.objects.filter(task=TASK, enabled=True):
        # From now, not from `last_run_at`: the beat saves that minutes after it sent the run
        # that finds the lock taken, so it may still be the week before's.
        times.append(max(now, now + task.schedule.remaining_estimate(now)))
    if not times:
        return None
    # To the nearest minute (what the admin shows): the estimate falls a moment short of it.
    return (min(times) + timedelta(seconds=30)).replace(second=0, microsecond=0)


def _next() -> str:
    when = next_scheduled_run()
    if when is None:
        return "no archive run is scheduled (the beat entry Archive to S3 is disabled)"
    return f"the next scheduled run ({when.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC)"


def busy() -> ArchiveBusy:
    """What the task's run raises: it is tried again, then fails saying what comes next."""
    holder = archive_lock_holder() or "another run"
    return ArchiveBusy(
        f"the archive's lock is held by {holder}; nothing done yet. Tried again in the same "
        f"run when a retry is due (details.retries); if the lock is still taken after the last "
        f"retry, {_next()} archives what is due. Nothing is lost meanwhile: {KEPT}."
    )


def skipped() -> str:
    """What a run outside the task (the command) records as it is skipped."""
    holder = archive_lock_holder() or "another run"
    return (
        f"the archive's lock is held by {holder}; nothing done: run it again once that run has "
        f"finished, or {_next()} archives what is due. Nothing is lost meanwhile: {KEPT}."
    )
