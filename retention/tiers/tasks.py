"""Thin Celery tasks of the retention tiers (beat: 02:00 hourly, 02:30 daily; see
config/schedule.py). The work and its bookkeeping are in `retention.tiers.runner`.

A run that meets InfluxDB or Redis out of reach (a `Transient` error: Home Assistant's
InfluxDB add-on restarting for its nightly backup, say) waits in the queue and is tried again
in the same run (retention.task_records.requeued), the beat's as well as one the API queued,
dry or not: it resumes the days in progress and fails, with one alert, only once the retries
are spent. So an attempt whose retry minutes later succeeds is not recorded failed (no alert),
and the retry is no new run: whoever polls the queued one sees it to its end.
So does a run whose tier's lock is gone, no run holding it (Redis restarted without it, or it
expired and nobody took it): it stops before deleting more and is tried again the same way.
PostgreSQL out of reach (a `DatabaseUnavailable`: its container updated, the NAS rebooting) is
tried again the same way, though the run's record cannot say so then: the retry's message carries
the run's `details.retries` and what its attempts did (`unsaved`), which the retry records
(retention.task_records.carried; retention.tiers.runner).
A retry the broker cannot take (Redis out of reach: the lock's store is the broker too) fails
the run at once, saying when the next scheduled run comes (retention.task_records), rather than
leaving it "running" as long as Redis is away.

The beat's run (no `run_id`) that finds its tier's lock taken waits the same way
(retention.busy): once a night, a run recorded skipped would leave its days to the next night. A run
the API queued is recorded skipped, as one of the commands."""

from collections.abc import Callable
from datetime import date
from functools import partial

from celery import Task, shared_task

from enrich.errors import Transient
from retention.models import RetentionRun
from retention.task_records import (
    carried_over,
    recorded,
    requeued,
    retry_transient,
    task_run,
    unread,
)
from retention.tiers import runner as tiers
from retention.tiers.chunks import WAITS


def _tier_task(name: str, operation: str, function: Callable[..., RetentionRun], what: str) -> Task:
    """The task `name` running the tier `function` of retention.tiers.runner, recorded as
    `operation`; `what` starts its docstring."""

    def task(
        self,
        run_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        dry_run: bool = False,
        unsaved: dict | None = None,
    ) -> dict:
        run = None
        try:
            run = task_run(self, run_id, operation, unsaved)
            run = function(
                date.fromisoformat(start) if start else None,
                date.fromisoformat(end) if end else None,
                run=run,
                dry_run=dry_run,
                requeued=partial(requeued, self),
                lock_waits=run.details.get("scheduled") is True,
            )
        except Transient as exc:  # the run waits for its retry, which goes on in the same run
            run = run or unread(self, exc, run_id, operation, unsaved)  # the database away
            carries = carried_over(self, exc, run, tiers.failed_by(exc, retried=True))
            retry_transient(self, exc, run_id=run.pk, start=start, end=end, dry_run=dry_run,
                            **carries)  # fmt: skip
        return {"run_id": run.pk, "status": run.status, "summary": tiers.summary(run)}

    task.__name__ = task.__qualname__ = function.__name__
    task.__doc__ = (
        f"{what}; `start`/`end` are ISO dates (end exclusive), `run_id` a RetentionRun created by "
        "the API for this task (the beat's run gets one here, and waits for its tier's lock: "
        "retention.busy; a run waits for its retry on InfluxDB, Redis or the database out of "
        "reach; `unsaved`: what a retry's message carries of it); `dry_run` reports what a run "
        "would do, changing nothing (the API queues dry runs too: they read every entity's "
        "points of every day due)."
    )
    options = recorded(name, operation, WAITS[operation])  # a retry not queued names WAITS
    return shared_task(**options, bind=True, max_retries=3)(task)


downsample_hourly = _tier_task(
    "retention.downsample_hourly",
    RetentionRun.Operation.DOWNSAMPLE_HOURLY,
    tiers.downsample_hourly,
    "Raw -> hourly",
)
downsample_daily = _tier_task(
    "retention.downsample_daily",
    RetentionRun.Operation.DOWNSAMPLE_DAILY,
    tiers.downsample_daily,
    "Hourly -> daily",
)
