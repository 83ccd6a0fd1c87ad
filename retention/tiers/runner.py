"""Tier execution: raw -> hourly (hot -> warm) and hourly -> daily (warm -> cold).

`downsample_hourly()` and `downsample_daily()` each record one `RetentionRun`. Tiers: retention
policies `enrich_hourly` and `enrich_daily` (duration INF: our verified process deletes, never
a retention policy) of TIER_DATABASE, measurement `entity_aggregates`, tags `entity_id` and
`kind`. One UTC day is one resumable chunk (`retention.tiers.chunks`). Where the work is:

- `retention.tiers.hourly`: raw -> hourly, a day at a time (write, verify, delete);
- `retention.tiers.late`: late points, raw points of days already downsampled
  (`retention.tiers.late_days`: the run's pass over them);
- `retention.tiers.daily`: hourly -> daily, a day at a time;
- `retention.tiers.stepwise` and `retention.tiers.aggregate` (the math), `retention.tiers.rows`
  (rows written and read), `retention.tiers.dryrun` (what a run would do); raw points are read
  in W and kWh, each by its own unit (`retention.entities.units`).

Safety: `check_retention_policies()` (`retention.tiers.safety`) refuses to run when a retention
policy (bucket) would drop raw data before it is downsampled, or tier rows before their
horizon; a policy that passes but drops data before the run takes it (`retention.tiers.slack`:
the raw one short of a week of failed nightly runs, any with a duration while the tier's beat
entry is disabled) lets the run go on, noted in `details.warnings` and its summary, and
alerted. A Redis lock per tier keeps two runs of a tier apart: the scheduled run finding it
taken raises `TierBusy` (retention.busy); another run records status "skipped" and who holds it.

InfluxDB (or Redis) out of reach raises its `Transient` error (the lock's Redis errors become a
`RedisUnavailable`); nothing of a day not yet verified was deleted (deletes come last, a week
of verified days at a time). In a Celery task (`requeued`, every run of the tasks: scheduled or
queued by the API, dry or not) the run waits in the queue while its task tries it again in the
same run (`details.retries` says why and when), which resumes the days in progress
(`retention.tiers.chunks`) and reports what every attempt did (`details.earlier` meanwhile,
folded into the counts at the end); it fails, with its one alert, only once the retries are
spent, or at once when its retry cannot be queued (retention.task_records). The database out of
reach (PostgreSQL restarting) is a `Transient` error too in a task (`DatabaseUnavailable`), tried
again the same way: the run's record cannot say it waits then, so the retry's message carries its
`details.retries` (retention.tiers.tasks) and retention.liveness shows it alive until the retry
is due (`retry_unrecorded`); the retry resumes the days as the row last saved them
(`save_so_far`: after each day), as after a crash. Its lock lost with no
run holding it (`LockLost` naming no holder: its key gone) stops it as well, and in a task is
tried again the same way (a `LockGone`: enrich.redis.lock.tried_again); lost to another run, it
stops for good. A command's run (no `requeued`) fails at once.

Crash points for the tests (`hourly:after_write`, `daily:before_rewrite`, ...): `retention.faults`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from enrich.database_down import DatabaseUnavailable, reached
from enrich.errors import Transient
from enrich.influx import InfluxUnavailable, TimeseriesError
from enrich.redis.client import reachable
from enrich.redis.lock import LockGone, RunLock, tried_again
from retention.busy import busy
from retention.liveness import alive, retry_unrecorded
from retention.models import RetentionRun
from retention.pacing import run_pacing
from retention.stats import conditions, settle
from retention.tiers.chunks import (
    EARLIER,
    WAITS,
    LockLost,
    Outcome,
    TierBusy,
    fold_so_far,
    lock_taken,
    record,
    run_lock,
    save_so_far,
    still_held,
)
from retention.tiers.daily import DailyTier
from retention.tiers.dryrun import dry_run_daily, dry_run_hourly, nothing_tiered
from retention.tiers.hourly import HourlyTier
from retention.tiers.late_days import fold_late_points
from retention.tiers.safety import (
    TierError,
    check_retention_policies,
    ensure_tiers,
    nothing_due,
)
from retention.tiers.slack import HOURLY, RAW, Step
from retention.tiers.storage import storage_bytes
from retention.tiers.summary import summary
from retention.timeutil import utc_midnight

logger = logging.getLogger("retention.tiers.runner")

Progress = Callable[[int, int, str], None]  # (days done, days in all, what is being done)
Requeued = Callable[[BaseException, RetentionRun], bool]  # retention.task_records.requeued
LOCK = "The lock of the tier runs"  # what Redis out of reach leaves the run without
SPENT = "retries were spent (details.retries); the next run resumes where it stopped."
# The services a run's failure names when out of reach: (the subject, it is back).
UNREACHABLE = {
    InfluxUnavailable: ("InfluxDB", "InfluxDB"),
    DatabaseUnavailable: ("The database", "the database"),
}


# --- Runs ----------------------------------------------------------------------------------------
Tier = type[HourlyTier] | type[DailyTier]
# What a run of each tier records as its operation, and how it dry-runs.
OPERATIONS: dict[Tier, tuple[str, Callable]] = {
    HourlyTier: (RetentionRun.Operation.DOWNSAMPLE_HOURLY, dry_run_hourly),
    DailyTier: (RetentionRun.Operation.DOWNSAMPLE_DAILY, dry_run_daily),
}


# The step each tier is (retention.tiers.slack): the policy whose warnings its runs note.
SLACK: dict[Tier, Step] = {HourlyTier: RAW, DailyTier: HOURLY}


# What a dry run reports when it has something to do, or says why it has nothing to.
DRY_RUN_SAYS_WHY = ("days_in_range", "waiting", "nothing_tiered", "creates_retention_policies")


def downsample_hourly(
    start: date | None = None, end: date | None = None, **options: Any
) -> RetentionRun:
    """Raw -> hourly for the UTC days in [start, end); `downsample` tells the options."""
    return downsample(HourlyTier, start, end, **options)


def downsample_daily(
    start: date | None = None, end: date | None = None, **options: Any
) -> RetentionRun:
    """Hourly -> daily for the UTC days in [start, end); `downsample` tells the options."""
    return downsample(DailyTier, start, end, **options)


def downsample(
    kind: Tier,
    start: date | None = None,
    end: date | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    run: RetentionRun | None = None,
    progress: Progress | None = None,
    requeued: Requeued | None = None,
    lock_waits: bool = False,
) -> RetentionRun:
    """Run the tier `kind` for the UTC days in [start, end) (default: everything before the
    horizon at `now`); see the module docstring. `dry_run`: only report what would be done;
    `run`: the run record to use (the API's queued one, or one waiting for its retry), else a
    new one; `progress(days done, days in all, label)`. Returns the recorded run; raises a
    Transient error (InfluxUnavailable; after recording it) so the caller can retry: the run
    waits while `requeued(exc, run)` says its task tries again, else it fails. With
    `lock_waits` (the scheduled run) the tier's lock held by another run raises TierBusy,
    tried again the same way; else the run is skipped."""
    began = time.monotonic()
    if run is None:
        run = RetentionRun(operation=OPERATIONS[kind][0], started=datetime.now(UTC))
    run.status = RetentionRun.Status.RUNNING
    run.range_start = utc_midnight(start) if start else None
    run.range_end = utc_midnight(end) if end else None
    if dry_run:  # not the last real run while it runs (retention.stats.history.last_run)
        run.details = {**run.details, "dry_run": True}
    fold_so_far(run)  # an attempt whose process died in this run (a redelivered task)
    asked = len(run.details.get("retries", []))
    try:
        with (
            reached(requeued is not None),
            alive(run),
        ):  # saved, and shown alive until its last save (liveness)
            when = now or datetime.now(UTC)
            return _run(kind, run, start, end, when, began, dry_run, progress, requeued, lock_waits)
    except DatabaseUnavailable as exc:  # at its first save or its last: the record stays as it was
        if (
            run.status != RetentionRun.Status.FAILED
            and len(run.details.get("retries", [])) == asked
        ):
            if _waits(exc, run, requeued):
                retry_unrecorded(run)
        raise


def _run(
    kind: Tier,
    run: RetentionRun,
    start: date | None,
    end: date | None,
    now: datetime,
    began: float,
    dry_run: bool,
    progress: Progress | None,
    requeued: Requeued | None,
    lock_waits: bool,
) -> RetentionRun:
    operation, dry = OPERATIONS[kind]
    lock: RunLock | None = None
    tier: HourlyTier | DailyTier | None = None
    try:
        # Redis out of reach under the tier's lock: its client's errors, as a RedisUnavailable
        with reachable(LOCK), reached(requeued is not None):
            problems = check_retention_policies()
            if problems:
                run.status = RetentionRun.Status.FAILED
                run.errors = "Refused to run: " + "\n".join(problems)
                return run
            conditions.note_slack(run, SLACK[kind])  # its policy's warnings, and their alert
            tier = kind(start, end, now)
            if dry_run:
                report = dry(tier, progress)
                if not any(map(report.get, DRY_RUN_SAYS_WHY)):
                    # "0 raw points of 0 days" says nothing of why: as the run's note does
                    report["nothing_due"] = nothing_due(operation, tier.horizon, _asked(tier))
                run.details = {**run.details, **report}  # keeps who queued it
                run.records_processed = run.details.get(
                    "raw_points", run.details.get("hourly_rows", 0)
                )
                run.status = RetentionRun.Status.DRY_RUN
                return run
            lock = run_lock(operation, owner=f"{run.get_operation_display()} run {run.pk}")
            if not lock.acquire():
                held, lock = lock_taken(operation, lock.holder()), None
                if lock_waits:  # the scheduled run: tried again in this run
                    raise busy(TierBusy, held, WAITS[operation])
                run.status = RetentionRun.Status.SKIPPED
                run.details = {**run.details, "reason": held}
                return run
            # A policy an earlier run created, dropped since: its loss recorded and alerted
            conditions.note_created_again(run, ensure_tiers())
            if run.storage_before_bytes is None:  # else measured by an earlier attempt of the run
                run.storage_before_bytes = storage_bytes()
            shards = settle.shard_sizes()
            if isinstance(tier, HourlyTier) and not tier.entities:
                if nothing := nothing_tiered(dry_run=False):  # else each was left out, and noted
                    tier.outcome.waiting.append(nothing)
                    # The summary says it too, at INFO: with LOG_LEVEL=warning this is the only
                    # line telling that the scheduled runs downsample nothing.
                    logger.warning("downsample_hourly: %s", nothing)
            days = tier.work_days()
            still_held(lock)  # finding the days reads each entity's first sample: it can take long
            with run_pacing():  # millions of points become objects in three threads
                for n, day in enumerate(days):
                    tier.process_day(day, lock)
                    save_so_far(run, tier.outcome)  # what a run whose process dies did
                    if progress:
                        progress(n + 1, len(days), day.isoformat())
                tier.finish(lock)
                if isinstance(tier, HourlyTier):
                    fold_late_points(tier, lock, run.pk)
            run.storage_after_bytes = storage_bytes(settle=True)
            settle.record(run, shards, tier.outcome.days)
            run.status = RetentionRun.Status.OK
            return run
    except (Transient, LockLost) as caught:  # out of reach; the lock taken, lost or gone
        exc = tried_again(caught) if requeued else caught  # a task's lock no run holds: retried
        if not isinstance(exc, Transient):  # lost to another run: it stops, not tried again
            run.status, run.errors = RetentionRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
            return run
        _waits(exc, run, requeued)
        if exc is caught:
            raise
        raise exc from caught
    except (TierError, TimeseriesError, ValueError) as exc:
        run.status = RetentionRun.Status.FAILED
        run.errors = f"{type(exc).__name__}: {exc}"
        return run
    except BaseException as exc:  # e.g. Celery's time limit: record it, then let it through
        run.status = RetentionRun.Status.FAILED
        run.errors = (
            f"{type(exc).__name__}: {exc or 'interrupted'}. Days already deleted stay done; "
            "the next run resumes the days in progress (verified days waiting for their delete "
            "included)."
        )
        raise
    finally:
        if lock is not None:
            lock.release_quietly()
        _finish(run, tier, began)


def _asked(tier: HourlyTier | DailyTier) -> tuple[date, date | None] | None:
    """The days a run was given (its start, and its end if any), None for the whole range."""
    return None if tier.start is None else (tier.start, tier.asked_end)


def _waits(exc: Transient, run: RetentionRun, requeued: Requeued | None) -> bool:
    """Whether the run waits in the queue, running, for its task to try `exc` again; else it
    failed by it."""
    if requeued is not None and requeued(exc, run):
        return True
    run.status = RetentionRun.Status.FAILED
    run.errors = failed_by(exc, retried=requeued is not None)
    return False


def failed_by(exc: Transient, retried: bool) -> str:
    """What a run failed by `exc` records: after the last retry of its task (`retried`), or at
    once (a command's)."""
    if isinstance(exc, LockGone) and retried:
        return f"{type(exc).__name__}: {exc}; the run was tried again until its {SPENT}"
    service = next((said for kind, said in UNREACHABLE.items() if isinstance(exc, kind)), None)
    if service is None:
        return f"{type(exc).__name__}: {exc}"
    then = (
        f"the run was tried again until its {SPENT}"
        if retried
        else f"run it again once {service[1]} is back: it resumes where it stopped."
    )
    return (
        f"{service[0]} became unreachable: {exc} Nothing was deleted for a day whose rows were "
        f"not verified; {then}"
    )


def _finish(run: RetentionRun, tier: HourlyTier | DailyTier | None, began: float) -> None:
    if isinstance(tier, HourlyTier):
        tier.close()
    waits = run.status == RetentionRun.Status.RUNNING  # for its retry (retention.busy)
    run.finished = None if waits else datetime.now(UTC)
    run.duration_seconds = round(time.monotonic() - began, 3)
    # What the run's earlier attempts did: its retry resumes their days and counts on.
    earlier = run.details.pop(EARLIER, None)
    outcome = tier.outcome.after(earlier) if tier is not None else Outcome.saved_as(earlier)
    if waits:
        if outcome is not None:
            run.details[EARLIER] = outcome.as_saved()
        try:
            with reached():
                run.save()  # its task's retry logs why
        except DatabaseUnavailable:  # the retry resumes what the row kept (module docstring)
            retry_unrecorded(run)
        return
    if outcome is not None and run.status != RetentionRun.Status.DRY_RUN:
        record(run, outcome)
        if tier is not None:
            run.details["horizon"] = tier.horizon.isoformat()
            nothing = not (run.details.get("days") or run.details.get("waiting"))
            if nothing and run.status == RetentionRun.Status.OK:
                # "0 days, 0 entities, ..." says nothing of why: the note does (the API shows it too)
                run.details["note"] = nothing_due(run.operation, tier.horizon, _asked(tier))
    before, after = run.storage_before_bytes, run.storage_after_bytes
    if before is not None and after is not None:
        run.storage_freed_mb = round((before - after) / 1e6, 3)
        run.details["reduction_percent"] = (
            round(100 * (before - after) / before, 2) if before else 0.0
        )
    run.save()
    if outcome is not None and isinstance(tier, HourlyTier) and not run.details.get("dry_run"):
        # The entities it left out, alerted; cleared once none is, every point read.
        conditions.sync_left_out(run, outcome.left_out, all_read=not tier.late_unread)
    logger.log(logging.ERROR if run.status == RetentionRun.Status.FAILED else logging.INFO,
               "%s", summary(run))  # fmt: skip
