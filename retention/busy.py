"""A scheduled retention run that finds the lock it needs taken: what it says and when its work
comes next. The archive's runs (retention.archive.run: the archive's lock, held by another
archive run, an index rebuild or a restore) and the tier runs (retention.tiers.runner: a tier's
lock, held by a run started by hand, an hourly run folding late points into daily rows or the
archive deleting a file's rows) take it up the same way.

Inside the Celery task (the beat schedule's run; for the archive also one the API queued) the
run raises a RunBusy and the task tries it again in the same run
(retention.task_records.retry_transient: after RETENTION_RETRY_SECONDS, then twice that, 3
times), which waits in the queue meanwhile, `details.retries` naming the holder; a lock still
taken after the last retry fails the run (an alert) saying when the next scheduled run comes.
Run by a command (and a tier run the API queued) it is recorded skipped. The scheduled run
retries rather than being skipped, since a skipped one would leave its work to the next: a week
later for the archive, a night for a tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from enrich.beat_scheduler import unloadable_crontabs
from enrich.errors import Transient
from retention.models import RetentionRun


class RunBusy(Transient):
    """Another run holds the lock this run needs: tried again later, in the same run."""


Busy = TypeVar("Busy", bound=RunBusy)


@dataclass(frozen=True)
class Waits:
    """How a kind of run that waits for its lock says it: its Celery `task` (as the beat's
    entries name it), what its next run `does` ("archives what is due") and why nothing is lost
    meanwhile (`kept`, a sentence)."""

    task: str
    does: str
    kept: str


def scheduled_run(operation: str, queued_by: str | None = None) -> RetentionRun:
    """The run of a task queued without one (the beat schedule's, or its entry's sent by the
    admin's "Run selected tasks", whose header `queued_by` names the user: enrich.admin_beat):
    like a run the API queued, one that waits for a retry waits in the queue
    (retention.queued.waiting) and goes on in the same run: one record for all its attempts,
    not a new run for each retry."""
    now = timezone.now()
    return RetentionRun(
        operation=operation,
        status=RetentionRun.Status.RUNNING,
        started=now,
        # `scheduled` tells the beat's from a run an API user named "schedule" queued; a run
        # sent from the admin waits for its lock as the beat's does.
        details={
            "queued_by": queued_by or "schedule",
            "queued_at": now.isoformat(),
            "scheduled": True,
        },
    )


def next_scheduled_run(task: str) -> datetime | None:
    """When the beat schedule next starts `task` (its enabled entries for the task, as edited in
    the admin), or None when none is enabled, or the beat leaves each out (its crontab's time
    zone cannot be loaded here: enrich.beat_scheduler)."""
    now = timezone.now()
    times = []
    left_out = list(unloadable_crontabs())
    for entry in PeriodicTask.objects.filter(task=task, enabled=True).exclude(crontab__in=left_out):
        # From now, not from `last_run_at`: the beat saves that minutes after it sent the run
        # that finds the lock taken, so it may still be the period before's.
        times.append(max(now, now + entry.schedule.remaining_estimate(now)))
    if not times:
        return None
    # To the nearest minute (what the admin shows): the estimate falls a moment short of it.
    return (min(times) + timedelta(seconds=30)).replace(second=0, microsecond=0)


def next_run(waits: Waits) -> str:
    """When the work comes next: "the next scheduled run (Sun 2026-12-13 03:00 UTC) archives what
    is due", or that no run is scheduled and why."""
    when = next_scheduled_run(waits.task)
    if when is not None:
        return f"the next scheduled run ({when.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC) {waits.does}"
    rows = PeriodicTask.objects.filter(task=waits.task).order_by("name")
    entries = ", ".join(rows.values_list("name", flat=True))
    zones = unloadable_crontabs()
    if left_out := list(rows.filter(enabled=True, crontab__in=list(zones))):
        names, zone = ", ".join(t.name for t in left_out), zones[left_out[0].crontab_id]
        why = (f"the beat leaves out the entry {names}: its crontab's time zone {zone!r} cannot "
               "be loaded on this host; choose its time zone in admin → Crontabs")  # fmt: skip
    elif entries:
        why = f"the beat entry {entries} is disabled"
    else:
        why = f"no beat entry runs {waits.task}"
    return f"no run is scheduled that {waits.does} ({why})"


def comes_next(waits: Waits) -> str:
    """When the work comes next and why nothing is lost meanwhile (`next_run`, then `kept`)."""
    return f"{next_run(waits)}. {waits.kept}"


def busy(error: type[Busy], held: str, waits: Waits) -> Busy:
    """What the task's run raises (`held`: whose the lock is, "the archive's lock is held by
    ..."): it is tried again, then fails saying what comes next."""
    return error(
        f"{held}; nothing done yet. Tried again in the same run when a retry is due "
        f"(details.retries); if the lock is still taken after the last retry, {comes_next(waits)}"
    )


def skipped(held: str, waits: Waits) -> str:
    """What a run outside the task (a command) records as it is skipped."""
    return f"{held}; nothing done: run it again once that run has finished, or {comes_next(waits)}"
