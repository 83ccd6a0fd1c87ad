"""The Celery task class of retention tasks that keep a run record (RetentionRun).

A run recorded inside a task names the task (`details["task_id"]`). A task whose worker died
under it (SIGKILL, out of memory, a worker restarted without waiting) is delivered again with
the same id; that delivery first closes the runs the dead one left "running" (failed: the
worker died), which would otherwise stay "running" for ever and, after
ALERT_MAX_DURATION_SECONDS, be reported as a run that hangs. The run the API created
(`run_id`) is the redelivery's own: it goes on in it, also when it was closed as dead
meanwhile (retention.liveness closes a run whose process stopped showing it alive: a worker
killed as a whole is delivered again only after the broker's visibility timeout). Each delivery
handed a `run_id` shows that run alive from its start.

A delivery refused as poisoned (enrich.deliveries: its worker died under it too often) marks
the task's run record failed: the one the API created and passed as `run_id`, else a new one
of the task's `operation`, so the failure shows where every retention run is looked up.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from celery.exceptions import Reject, Retry
from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

from enrich.database_down import DatabaseUnavailable, reached
from enrich.deliveries import GuardedTask, current_task_id
from enrich.errors import Transient
from enrich.redis.client import redacted_url
from retention import liveness, lost
from retention.busy import Waits, comes_next, scheduled_run
from retention.models import RetentionRun
from retention.tiers.chunks import EARLIER, SO_FAR

logger = logging.getLogger("retention.tiers.tasks")

WORKER_DIED = (
    "The worker running it died (killed, out of memory, or restarted without waiting for it) "
    "before the run finished. Celery delivered the task again: delivery {delivery} resumes "
    "the work{where}."
)
NOT_QUEUED = (
    "{error} Not tried again: its retry ({retry}) could not be queued: the Celery broker at "
    "{broker} is out of reach too ({cause}); {then}"
)


@receiver(pre_save, sender=RetentionRun)
def _name_the_task(sender: type, instance: RetentionRun, **_: Any) -> None:
    """A run recorded for the first time inside a Celery task names the task."""
    task_id = current_task_id() if instance._state.adding else None
    if task_id:
        instance.details = {"task_id": task_id, **(instance.details or {})}


def close_dead_runs(task_id: str, message: str, keep: int | None = None) -> int:
    """Mark failed, with `message`, the runs an earlier delivery of the task left "running"
    (but `keep`, the run this delivery goes on in); how many."""
    dead = RetentionRun.objects.filter(
        status=RetentionRun.Status.RUNNING, details__task_id=task_id
    ).exclude(pk=keep)
    closed = [
        liveness.close(pk, message, worker_lost=True) for pk in dead.values_list("pk", flat=True)
    ]
    return sum(run is not None for run in closed)


def resumed(run_id: int, delivery: int) -> None:
    """The run the API queued, closed as dead (retention.liveness) before this delivery of its
    task came, is running again: the delivery goes on in it, as in one that came sooner."""
    run = RetentionRun.objects.filter(
        pk=run_id, status=RetentionRun.Status.FAILED, details__process_died=True
    ).first()
    if run is None:
        return
    run.status, run.finished = RetentionRun.Status.RUNNING, None
    run.errors = f"{run.errors}\nDelivery {delivery} of its Celery task resumes the run."
    run.details = {k: v for k, v in run.details.items() if k != "process_died"}
    run.save()


def taken_up(run_id: int) -> None:
    """The run the API queued starts its work: `started` becomes now and the moment it was
    queued moves to `details["queued_at"]`, so its time is counted from its start, not from
    the wait behind other work. A later delivery of the same attempt leaves it; a retry, back in
    the queue without `queued_at` (`requeued`), is taken up again the same way."""
    run = RetentionRun.objects.filter(pk=run_id, status=RetentionRun.Status.RUNNING).first()
    if run is None or "queued_at" in (run.details or {}):
        return
    run.details = {**(run.details or {}), "queued_at": run.started.isoformat()}
    run.started = datetime.now(UTC)
    run.save(update_fields=["started", "details"])


class RecordedTask(GuardedTask):
    operation: str = ""
    waits: Waits | None = None  # when its work comes next (retention.busy), if the beat runs it

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A delivery handed the run the API queued shows it alive (retention.liveness) from
        before the run leaves the queue to the end of the delivery."""
        run_id = kwargs.get("run_id")
        if not run_id:
            return super().__call__(*args, **kwargs)
        with liveness.kept_alive(run_id):
            return super().__call__(*args, **kwargs)

    def delivered(self, deliveries: int, kwargs: dict) -> None:
        # The database out of reach: the task meets it too, and tries it again when it may
        with suppress(DatabaseUnavailable), reached():
            self._delivered(deliveries, kwargs)

    def _delivered(self, deliveries: int, kwargs: dict) -> None:
        if kwargs.get("run_id"):
            taken_up(kwargs["run_id"])
        if deliveries > 1:
            run_id = kwargs.get("run_id")
            if run_id:
                resumed(run_id, deliveries)
            where = f" in run {run_id}" if run_id else " in a new run"
            message = WORKER_DIED.format(delivery=deliveries, where=where)
            close_dead_runs(self.request.id, message, keep=run_id)

    def poisoned(self, message: str, args: tuple, kwargs: dict) -> None:
        run_id = kwargs.get("run_id")
        closed = close_dead_runs(self.request.id, message, keep=run_id)
        run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
        now = datetime.now(UTC)
        if run is None and closed:
            return  # the runs the dead deliveries left say it
        if run is None:
            run = RetentionRun(operation=self.operation, started=now)
        run.status = RetentionRun.Status.FAILED
        run.errors = "\n".join(filter(None, [run.errors, message]))
        run.finished = now
        run.details = {**(run.details or {}), "task_id": self.request.id, "poisoned": True}
        run.save()


def retried(task: Any, exc: BaseException) -> bool:
    """Whether `retry_transient` tries `exc` again."""
    return isinstance(exc, Transient) and task.request.retries < task.max_retries


def _countdown(task: Any) -> float:
    return settings.RETENTION_RETRY_SECONDS * 2**task.request.retries


def _retry(task: Any) -> str:
    """The retry about to be queued, as `details.retries` names it: "1 of 3"."""
    return f"{task.request.retries + 1} of {task.max_retries}"


def requeued(task: Any, exc: BaseException, run: RetentionRun) -> bool:
    """Whether `retry_transient` will try `exc` again; if so the run the API queued goes back to
    waiting in the queue (status running, no `queued_at`: retention.queued.waiting), so whoever
    follows it sees it is not over, and `details["retries"]` says why and when it is tried again.
    The next delivery takes it up as the first did (`taken_up`)."""
    if not retried(task, exc):
        return False
    again = datetime.now(UTC) + timedelta(seconds=_countdown(task))
    # Until the retry is sent, the Redis holding it is not known (retention.lost).
    details = {k: v for k, v in (run.details or {}).items() if k not in ("queued_at", "queued_in")}
    details["retries"] = [
        *details.get("retries", []),
        {
            "error": f"{type(exc).__name__}: {exc}",
            "retry": _retry(task),
            "at": again.isoformat(timespec="seconds"),
        },
    ]
    run.status, run.details = RetentionRun.Status.RUNNING, details
    return True


# What a run failed after its last retry says (before what to do).
SPENT = "the run was tried again until its retries were spent (details.retries)."


def carried(details: dict, unsaved: dict | None) -> dict:
    """The run's `details` with what its retry's message carries (`unsaved`: the database out of
    reach kept no record of it, retention.tiers.tasks): the `retries` the row lacks, and what
    the attempts did (EARLIER), which holds what the row saved of the last one (SO_FAR)."""
    if not unsaved:
        return details
    held = details.get("retries") or []
    named = {entry.get("retry") for entry in held}
    retries = [*held, *(r for r in unsaved.get("retries", []) if r.get("retry") not in named)]
    if EARLIER in unsaved:
        details = {**{k: v for k, v in details.items() if k != SO_FAR}, EARLIER: unsaved[EARLIER]}
    return {**details, "retries": retries}


def unsaved(details: dict) -> dict:
    """What a retry's message carries of the run's `details` (`carried`)."""
    return {key: details[key] for key in ("retries", EARLIER) if key in details}


def task_run(task: Any, run_id: int | None, operation: str, unsaved: dict | None) -> RetentionRun:
    """The run the retention task works in: `run_id` (one the API queued, or the run a retry
    goes on with), else the beat's new one (retention.busy), its details with what the retry's
    message carries (`carried`); the database out of reach is a DatabaseUnavailable."""
    with reached():
        run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    run = run or scheduled_run(operation, task.request.get("queued_by"))
    run.details = carried(run.details, unsaved)
    return run


def unread(task: Any, exc: BaseException, run_id: int, operation: str, unsaved: dict | None
           ) -> RetentionRun:  # fmt: skip
    """The run `run_id` that the database out of reach (`exc`) kept the task from reading: as
    its retry's message carries it, and waiting for the task's next retry (`requeued`)."""
    run = RetentionRun(pk=run_id, operation=operation, details=carried({}, unsaved))
    requeued(task, exc, run)
    return run


def carried_over(task: Any, exc: BaseException, run: RetentionRun, failure: str) -> dict:
    """What the retry's message carries of `run` (its `unsaved` details: retry_transient's
    kwargs) when the database out of reach (`exc`) may have kept no record of it (`carried`);
    not tried again, its `failure` is kept for retention.liveness to record once the database
    answers."""
    if not isinstance(exc, DatabaseUnavailable) or run.pk is None:
        return {}
    if not retried(task, exc):
        liveness.ends_unrecorded(run.pk, failure, unsaved(run.details))
        return {}
    return {"unsaved": unsaved(run.details)}


def retry_transient(task: Any, exc: Exception, **kwargs: Any) -> NoReturn:
    """The one way retention tasks retry: a `Transient` error (InfluxDB, Redis or S3 out of
    reach) is tried again after RETENTION_RETRY_SECONDS (300), then twice that, ..., at most
    `task.max_retries` times, with the task's `kwargs`; anything else fails the task at once.
    Restarts and upgrades of a service take minutes, hence the long first wait. A retry keeps no
    expiry: the beat's (config/schedule.py) drops a run that could not start in time, and a
    retry due after it would be dropped unseen, leaving a run waiting for it for ever. A retry the
    broker cannot take (Redis out of reach) fails the run `run_id` at once (`_not_retried`); one
    queued is recorded in it, with the Redis holding it (retention.lost closes the run if a Redis
    restart loses it)."""
    if not retried(task, exc):
        raise exc
    countdown = _countdown(task)
    logger.warning(
        "%s: %s: %s; retry %d of %d in %g s",
        task.name,
        type(exc).__name__,
        exc,
        task.request.retries + 1,
        task.max_retries,
        countdown,
    )
    try:
        raise task.retry(countdown=countdown, kwargs=kwargs, expires=None) from exc
    except Reject as refused:  # Celery could not send the retry (the broker out of reach)
        _not_retried(task, exc, refused.reason, kwargs.get("run_id"))
        raise exc from refused.reason
    except Retry:  # sent (not when run eagerly: then nothing is queued)
        if kwargs.get("run_id") and not task.request.is_eager:
            if isinstance(exc, DatabaseUnavailable):  # its record may not say it waits
                due = datetime.now(UTC) + timedelta(seconds=countdown)
                liveness.waits_unrecorded(kwargs["run_id"], due)
            lost.sent(kwargs["run_id"], task.app, retry=_retry(task))
        raise


def _not_retried(task: Any, exc: Exception, cause: Any, run_id: int | None) -> None:
    """The retry of `exc` could not be queued (`cause`): the run `run_id`, waiting for it in the
    queue, would wait for ever (retention.liveness closes no run waiting for a retry); it fails
    now, saying why and when its work comes next (`task.waits`, as retention.busy says it, else
    what retention.liveness tells a dead run's reader to do)."""
    logger.error("%s: retry not queued: %s: %s", task.name, type(cause).__name__, cause)
    if not run_id:
        return
    waits = getattr(task, "waits", None)
    then = comes_next(waits) if waits else liveness.then(task.operation)
    message = NOT_QUEUED.format(
        error=f"{type(exc).__name__}: {exc}",
        retry=_retry(task),
        broker=redacted_url(task.app.conf.broker_url),
        cause=f"{type(cause).__name__}: {cause}",
        then=then,
    )
    liveness.close(run_id, message, retry_not_queued=True)


def recorded(name: str, operation: str, waits: Waits | None = None) -> dict[str, Any]:
    """`@shared_task(**recorded(name, operation), ...)`: a long retention task with a run record,
    acknowledged when it ends, its time limits from settings.TASK_TIME_LIMITS (which the
    broker's visibility timeout is derived from); `waits`: when the beat runs its work next."""
    soft, hard = settings.TASK_TIME_LIMITS[name]
    return {
        "name": name,
        "base": RecordedTask,
        "operation": operation,
        "waits": waits,
        "acks_late": True,
        "soft_time_limit": soft,
        "time_limit": hard,
    }
