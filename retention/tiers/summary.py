"""A tier run's one-line summary (`summary`: logged at the end of each run, printed by the
commands, the task's result) and what a run did in words (`counts`)."""

from django.conf import settings

from enrich.wording import counted
from retention.models import RetentionRun
from retention.tiers.dryrun import quiet_days

SUMMARY_NOTES = 5  # the summary line names the first notes; the run's details.waiting all


def _storage(run: RetentionRun, percent: float) -> str:
    """Storage before and after the run. Grown (InfluxDB keeps the deleted points as
    tombstones and the new rows in its WAL until it compacts), it says how much more and when
    the figure that counts is measured (retention.stats.settle), not a negative "freed"."""
    sizes = (
        f"storage {run.storage_before_bytes / 1e6:.2f} MB -> {run.storage_after_bytes / 1e6:.2f} MB"
    )
    if run.storage_after_bytes <= run.storage_before_bytes:
        return f"{sizes} (freed {run.storage_freed_mb:.2f} MB, {percent:.1f} %)"
    grown = (run.storage_after_bytes - run.storage_before_bytes) / 1e6
    return (
        f"{sizes} ({grown:.2f} MB more until InfluxDB compacts the shards; what the run freed "
        f"is measured again once the run is {settings.RETENTION_SETTLE_HOURS:g} h old, by the "
        'daily task "Settle tier runs\' storage")'
    )


# What a run of each tier reads and writes, in words.
_WHAT = {
    RetentionRun.Operation.DOWNSAMPLE_HOURLY: ("raw point", "hourly row"),
    RetentionRun.Operation.DOWNSAMPLE_DAILY: ("hourly row", "daily row"),
}


def counts(run: RetentionRun) -> str:
    """What a run (not a dry run) did: "2 days, 1 entity, 16 raw points -> 48 hourly rows, 0
    deleted" (its summary says it; a command stopped part-way tells it)."""
    details = run.details or {}
    read, wrote = _WHAT.get(run.operation, ("record", "row"))
    return (
        f"{counted(len(details.get('days', [])), 'day')}, "
        f"{counted(details.get('entities', 0), 'entity', 'entities')}, "
        f"{counted(run.records_processed, read)} -> "
        f"{counted(details.get('rows_written', 0), wrote)}, {run.records_deleted:,} deleted"
    )


def summary(run: RetentionRun) -> str:
    """The run's one-line summary (logged at the end of each run, printed by the commands,
    the task's result), ending with what the run or dry run leaves out and why (`waiting`: the
    first SUMMARY_NOTES notes, then how many more the run's details hold)."""
    what = _WHAT.get(run.operation, ("record", "row"))
    details = run.details or {}
    days = counted(len(details.get("days", [])), "day")
    # In the admin's words ("raw -> hourly run 12: dry run"), as its runs list says them.
    parts = [f"{run.get_operation_display()} run {run.pk}: {run.get_status_display()}"]
    if run.status == RetentionRun.Status.SKIPPED:
        parts.append(details.get("reason", ""))
    elif run.status == RetentionRun.Status.DRY_RUN:
        freed = details.get("expected_freed_bytes")
        kept = details.get("kept_raw_points") or 0
        deleted = details.get("would_delete_points", run.records_processed)
        if kept and details.get("tier") == "hourly":
            stay = "stays" if kept == 1 else "stay"
            kept_text = f" ({counted(kept, 'raw state')} of sparse entities {stay} raw)"
        else:
            states = "a raw state" if kept == 1 else "raw states"
            kept_text = f" ({kept:,} of them {states} kept by the hourly tier)" if kept else ""
        parts.append(
            f"would aggregate {counted(run.records_processed, what[0])} of {days} and delete "
            f"{counted(deleted, 'point')}{kept_text}"
            + (f", about {freed / 1e6:.2f} MB back" if freed else "")
        )
        parts.append(quiet_days(details))  # the days of the range it does not list
        if creates := details.get("creates_retention_policies"):  # a fresh install
            parts.append(f"first it would create the retention policies {', '.join(creates)}")
        parts.append(details.get("nothing_tiered", ""))  # discovery never ran, say so
        parts.append(details.get("nothing_due", ""))  # every day is done: when the next is
    else:
        parts.append(counts(run))
        if details.get("late_points"):
            parts.append(f"{counted(details['late_points'], 'late point')} folded in")
        if run.storage_before_bytes is not None and run.storage_after_bytes is not None:
            parts.append(_storage(run, details.get("reduction_percent", 0)))
        parts.append(details.get("note", ""))  # no day was due: why, and when the next is
    if run.status != RetentionRun.Status.SKIPPED:  # it did nothing: nothing was left out
        # What the run leaves (or would leave) out and why: no tiered entity, entity ids it
        # cannot read, days taken again later; else a run's "0 entities" says no why. Notes
        # are per entity: the line names the first few, the run's details keep them all.
        waiting = details.get("waiting") or []
        parts.extend(waiting[:SUMMARY_NOTES])
        if len(waiting) > SUMMARY_NOTES:
            more = len(waiting) - SUMMARY_NOTES
            parts.append(f"… and {more} more (see the run's details.waiting)")
    parts.extend(details.get("warnings") or [])  # e.g. a raw policy short of failed nights
    if run.errors:
        parts.append(f"errors: {run.errors}")
    parts.append(f"{run.duration_seconds or 0:.1f} s")
    return "; ".join(p for p in parts if p)
