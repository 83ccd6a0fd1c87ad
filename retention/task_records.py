"""The Celery task class of retention tasks that keep a run record (RetentionRun).

A delivery refused as poisoned (enrich.deliveries: its worker died under it too often) marks
the task's run record failed: the one the API created and passed as `run_id`, else a new one
of the task's `operation`, so the failure shows where every retention run is looked up.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, NoReturn

from django.conf import settings

from enrich.deliveries import GuardedTask
from enrich.errors import Transient
from retention.models import RetentionRun

logger = logging.getLogger("retention.tiers.tasks")


class RecordedTask(GuardedTask):
    operation: str = ""

    def poisoned(self, message: str, args: tuple, kwargs: dict) -> None:
        run_id = kwargs.get("run_id")
        run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
        now = datetime.now(UTC)
        if run is None:
            run = RetentionRun(operation=self.operation, started=now)
        run.status = RetentionRun.Status.FAILED
        run.errors = "\n".join(filter(None, [run.errors, message]))
        run.finished = now
        run.details = {**(run.details or {}), "task_id": self.request.id, "poisoned": True}
        run.save()


def retry_transient(task: Any, exc: Exception, **kwargs: Any) -> NoReturn:
    """The one way retention tasks retry: a `Transient` error (InfluxDB, Redis or S3 out of
    reach) is tried again after RETENTION_RETRY_SECONDS (300), then twice that, ..., at most
    `task.max_retries` times, with the task's `kwargs`; anything else fails the task at once.
    Restarts and upgrades of a service take minutes, hence the long first wait."""
    if not isinstance(exc, Transient) or task.request.retries >= task.max_retries:
        raise exc
    countdown = settings.RETENTION_RETRY_SECONDS * 2**task.request.retries
    logger.warning(
        "%s: %s: %s; retry %d of %d in %d s",
        task.name,
        type(exc).__name__,
        exc,
        task.request.retries + 1,
        task.max_retries,
        countdown,
    )
    raise task.retry(countdown=countdown, kwargs=kwargs) from exc


def recorded(name: str, operation: str) -> dict[str, Any]:
    """`@shared_task(**recorded(name, operation), ...)`: a long retention task with a run record,
    acknowledged when it ends, its time limits from settings.TASK_TIME_LIMITS (which the
    broker's visibility timeout is derived from)."""
    soft, hard = settings.TASK_TIME_LIMITS[name]
    return {
        "name": name,
        "base": RecordedTask,
        "operation": operation,
        "acks_late": True,
        "soft_time_limit": soft,
        "time_limit": hard,
    }
