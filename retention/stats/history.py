"""Retention runs as the API shows them: one run's summary and the newest real run of an
operation (GET /retention/history, GET /retention/runs/<run_id>, the last runs of
GET /retention/stats)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from enrich.addresses import hidden
from retention.models import RetentionRun
from retention.stats import settle


def iso(moment: datetime | None) -> str | None:
    """`moment` in UTC as ISO 8601 with a `Z`, as every figure of the API shows times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def run_summary(run: RetentionRun) -> dict[str, Any]:
    """A run as the API shows it (units in the key names). `view`: the view a refresh or rebuild
    ran for (the refreshes of the views, one after another, read alike but for it); null for
    other runs. `errors` without the addresses of enrich's services (enrich.addresses)."""
    return {
        "run_id": run.pk,
        "operation_type": run.operation,
        "operation_label": run.get_operation_display(),  # the words of the admin and status page
        "view": run.view,
        "status": run.status,
        "status_label": run.get_status_display(),
        "started": iso(run.started),
        "finished": iso(run.finished),
        "duration_seconds": run.duration_seconds,
        "range_start": iso(run.range_start),
        "range_end": iso(run.range_end),
        "records_processed": run.records_processed,
        "records_deleted": run.records_deleted,
        "storage_freed_mb": settle.freed_mb(run),
        "storage_freed_immediate_mb": run.storage_freed_mb,
        "storage_settled": run.storage_settled_freed_mb is not None,
        "errors": hidden(run.errors),  # whole in the admin (enrich.addresses)
    }


def last_run(operation: str) -> dict[str, Any]:
    """Time and status of the newest real run (not a dry run, not skipped for the lock; a dry
    run still running says so in its details)."""
    run = (
        RetentionRun.objects.filter(operation=operation)
        .exclude(status__in=(RetentionRun.Status.DRY_RUN, RetentionRun.Status.SKIPPED))
        .exclude(details__has_key="dry_run", details__dry_run=True)  # SQLite has no contains
        .order_by("-started", "-pk")
        .first()
    )
    if run is None:
        label = RetentionRun.Operation(operation).label  # the admin's words: "hourly -> daily"
        return {"status": None, "reason": f"no {label} run has been recorded yet"}
    return run_summary(run)


__all__ = ["iso", "last_run", "run_summary"]
