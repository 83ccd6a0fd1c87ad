"""The Celery task class of retention tasks that keep a run record (RetentionRun).

A delivery refused as poisoned (enrich.deliveries: its worker died under it too often) marks
the task's run record failed: the one the API created and passed as `run_id`, else a new one
of the task's `operation`, so the failure shows where every retention run is looked up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from enrich.deliveries import GuardedTask
from retention.models import RetentionRun


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
