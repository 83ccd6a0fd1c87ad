"""The run of a materialized view: every refresh, rebuild and follow-up of registry edits is
one RetentionRun with operation "view_refresh" (`run_view`). It computes the rows, makes sure
the view's lock is still held (`retention.rollups.lock`), writes them (`tables.upsert`) and
records what it wrote, what it read and what it skipped or kept, and why (`details.skipped`,
the errors); a run that fails records why, writing nothing."""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime

from enrich.errors import Permanent, Transient
from enrich.wording import counted
from retention import faults
from retention.liveness import alive
from retention.models import RetentionRun
from retention.rollups.lock import ViewLock, failure
from retention.rollups.rows import Outcome
from retention.rollups.tables import upsert

# The views' log lines (a run failed, the rows written) under the views' one name.
logger = logging.getLogger("retention.rollups.materialized")


def run_view(
    name: str,
    mode: str,
    start: datetime | None,
    end: datetime,
    now: datetime,
    work: Callable[[], Outcome],
    run: RetentionRun | None = None,
    *,
    held: ViewLock,
) -> RetentionRun:
    """Compute the rows (`work`) and upsert them, delete the outcome's stale ones, once sure
    the view's lock is still `held`; recorded in `run` (one the API created) or a new run."""
    began = clock.monotonic()
    run = run or RetentionRun(operation=RetentionRun.Operation.VIEW_REFRESH)
    run.started, run.range_start, run.range_end = datetime.now(UTC), start, end
    run.details = {**run.details, "view": name, "mode": mode}
    with alive(run):  # saved, and shown alive until its last save (retention.liveness)
        try:
            outcome = work()
            faults.point("view.before_write")
            held.keep(run)  # Redis out of reach, the lock another's or gone: nothing written
            written = upsert(name, outcome.rows, outcome.stale)
        except Exception as exc:
            run.status = RetentionRun.Status.FAILED
            run.errors = failure(exc, name, mode)
            _finish(run, began)
            exc.view_run = run  # the run it stopped (rollups.lock.failed_run)
            if isinstance(exc, Transient | Permanent):  # a door's: a service or a setting
                logger.error("view %s %s failed: %s", name, mode, exc)
            else:  # a bug: its traceback
                logger.exception("view %s %s failed", name, mode)
            raise
        _succeeded(run, name, mode, outcome, written, now, began)
    return run


def _succeeded(
    run: RetentionRun,
    name: str,
    mode: str,
    outcome: Outcome,
    written: int,
    now: datetime,
    began: float,
) -> None:
    run.status = RetentionRun.Status.OK
    run.records_processed = written
    run.records_deleted = len(outcome.stale)
    run.details = {
        **run.details,
        "view": name,
        "mode": mode,
        "rows_written": written,
        "partial_rows": sum(1 for row in outcome.rows if row.partial),
        "sources": dict(outcome.sources),
        "skipped": outcome.skipped[:100],
        "skipped_count": len(outcome.skipped),
        "now": now.isoformat(),
    }
    if outcome.skipped:
        run.errors = "\n".join(outcome.skipped[:20])
    _finish(run, began)
    logger.info("view %s %s: %s written", name, mode, counted(written, "row"))


def _finish(run: RetentionRun, began: float) -> None:
    run.finished = datetime.now(UTC)
    run.duration_seconds = clock.monotonic() - began
    run.save()
