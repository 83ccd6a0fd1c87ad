"""Work the API hands to a Celery worker instead of doing it in the request.

The endpoint records the run first (RetentionRun, status running) and passes its id to the task,
so the answer can name it: 202 with `task_id`, `run_id` and `poll` (GET /retention/runs/<run_id>,
which shows the status and, when done, the report). When the broker cannot be reached the run
is marked failed with the broker's error, and the answer is a 503 saying so and what to do,
without the broker's address (host and port): that, with the error, goes to the server log and
stays in the run's `errors`, as the InfluxDB 503s do (enrich.api.influx_down), which the admin
shows whole and the API without the address (enrich.addresses).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Task
from celery.result import AsyncResult, denied_join_result
from django.urls import reverse
from kombu.exceptions import OperationalError
from rest_framework.response import Response

from enrich.redis.client import redacted_url
from retention import lost
from retention.models import RetentionRun

logger = logging.getLogger(__name__)

# Why a task could not be queued, in words without the broker's address (host and port).
NOT_TAKEN = (
    "The task could not be queued: Redis, the Celery broker, does not take it (it is down, "
    "starting, or refuses the connection)"
)


def record_queued_run(operation: str, request: Any, **fields: Any) -> RetentionRun:
    return queued_run(operation, str(request.user), **fields)


def queued_run(operation: str, queued_by: str, **fields: Any) -> RetentionRun:
    """The run record of work about to be queued (status running until a worker ends it)."""
    details = {"queued_by": queued_by, **fields.pop("details", {})}
    return RetentionRun.objects.create(
        operation=operation,
        status=RetentionRun.Status.RUNNING,
        started=datetime.now(UTC),
        details=details,
        **fields,
    )


def send(task: Task, run: RetentionRun, **kwargs: Any) -> AsyncResult | None:
    """Queue `task(run_id=run.pk, **kwargs)`; None when the broker cannot be reached, or in a
    web request does not answer within its time (enrich.redis.transport): the run is then
    marked failed, saying so. The run records which Redis holds its message (retention.lost:
    a run whose message a Redis restart lost is closed)."""
    try:
        # Nobody waits for the task's result (the run says how it ended): Celery's result store
        # subscribed to it all the same, and Redis out of reach or hung, tried 20 times a
        # second apart (then a RuntimeError, a 500) before the broker was asked.
        with denied_join_result():
            result = task.apply_async(kwargs={"run_id": run.pk, **kwargs})
    except OperationalError as exc:
        run.status = RetentionRun.Status.FAILED
        run.errors = f"{NOT_TAKEN}: {str(exc).rstrip('.')}. Check that Redis is running."
        run.finished = datetime.now(UTC)
        run.save()
        return None
    lost.sent(run.pk, task.app)
    return result


def queue(task: Task, run: RetentionRun, request: Any, **kwargs: Any) -> Response:
    """Queue `task(run_id=run.pk, **kwargs)`; the 202 (or 503) answer described above."""
    result = send(task, run, **kwargs)
    if result is None:
        broker = redacted_url(task.app.conf.broker_url)  # a timeout's error names no address
        logger.error("run %s (%s), broker %s: %s", run.pk, task.name, broker, run.errors)
        return Response({"detail": _not_queued(run)}, status=503)
    poll = request.build_absolute_uri(reverse("retention-run", args=[run.pk]))
    return Response(
        {"task_id": result.id, "run_id": run.pk, "status": "queued", "poll": poll, **kwargs},
        status=202,
    )


def _not_queued(run: RetentionRun) -> str:
    return (
        f"{NOT_TAKEN}. Check that Redis is running, then ask again. Run {run.pk} is recorded "
        "failed; the server log names the address tried and the error."
    )


def waiting(run: RetentionRun) -> bool:
    """Whether `run` waits in the queue: one the API queued that no worker has started yet, or
    one waiting for its retry (retention.task_records.requeued). It holds no lock and counts no
    time: retention.task_records.taken_up moves `started` when a worker takes it up."""
    details = run.details or {}
    return run.status == RetentionRun.Status.RUNNING and (
        "queued_by" in details and "queued_at" not in details
    )
