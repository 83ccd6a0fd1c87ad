"""Poison tasks stop: a task whose worker dies under it is run at most 1 + TASK_MAX_REDELIVERIES
times.

With `acks_late` and `task_reject_on_worker_lost` (config/celery.py) a task whose worker process
dies (out of memory, SIGKILL) goes back to the queue and is delivered again, which is right for
a crash but loops forever when the task itself kills its worker. So every delivery is counted
in Redis (per task id and retry number: a deliberate `retry()` starts a new count); one beyond
the limit is not run. It fails with `PoisonedTask` instead, which the result backend records
(and Flower shows), is acknowledged so the broker forgets it, and calls the task's `poisoned()`
hook so a task with a run record can mark that record failed (retention.task_records).

`GuardedTask` is the Celery app's task class, so every task of the project has the guard, and
says the database out of reach in one line (enrich.database_down.task_outage).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_task
from django.conf import settings

from enrich.database_down import DatabaseUnavailable, task_outage
from enrich.redis.client import CONNECTION_ERRORS, get_redis, make_key, own_redis

logger = logging.getLogger(__name__)


class PoisonedTask(RuntimeError):
    """The task was delivered more often than allowed without finishing; it was not run."""


def current_task_id() -> str | None:
    """The id of the Celery task running this code (the same in every delivery and retry of
    it), or None outside a task."""
    return getattr(current_task.request, "id", None) if current_task else None


def delivery_key(task_id: str, retries: int) -> str:
    return make_key("deliveries", task_id, str(retries))


def count_delivery(task_id: str, retries: int = 0) -> int:
    """Record one more delivery of the task; returns how many there were so far."""
    key = delivery_key(task_id, retries)
    # The count must survive every redelivery: Redis restores an unacknowledged task after
    # the visibility timeout, so keep it for one such wait per allowed delivery, and then some.
    ttl = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] * (
        settings.TASK_MAX_REDELIVERIES + 2
    )
    pipe = get_redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, ttl)
    return int(pipe.execute()[0])


def uncount_delivery(task_id: str, retries: int = 0) -> None:
    """Take back the delivery counted last: the worker returns the task to its queue itself (it
    is stopping, enrich.worker_stop), so it did not die under it. With a client of its own (the
    caller is a signal handler); an unreachable Redis leaves the count as it is."""
    client = own_redis()
    try:
        if client.decr(delivery_key(task_id, retries)) <= 0:
            client.delete(delivery_key(task_id, retries))
    except CONNECTION_ERRORS as exc:
        logger.warning("[%s]: delivery not taken back: %s", task_id, exc)
    finally:
        client.close()


# Whether this process said that Redis cannot count deliveries, since a count last succeeded:
# once, not for every task run while Redis is out of reach (each run's own line says that).
_said_uncounted = False


def _uncounted(exc: Exception) -> None:
    global _said_uncounted
    if not _said_uncounted:
        _said_uncounted = True
        logger.warning("Task deliveries are not counted while Redis cannot be reached (a task "
                       "whose worker dies under it may run more than 1 + TASK_MAX_REDELIVERIES "
                       "times; said once until Redis answers again): %s", exc)  # fmt: skip


def _counted() -> None:
    global _said_uncounted
    _said_uncounted = False


class GuardedTask(Task):
    """Counts deliveries and refuses the one past the limit (see the module docstring)."""

    throws = (DatabaseUnavailable,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with task_outage(self.name):
            return self._guarded(*args, **kwargs)

    def _guarded(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.id and not request.called_directly:
            try:
                deliveries = count_delivery(request.id, request.retries or 0)
            except CONNECTION_ERRORS as exc:
                # Not knowing the count is no reason to lose the work: run it.
                _uncounted(exc)
                deliveries = 1
            else:
                _counted()
            allowed = 1 + settings.TASK_MAX_REDELIVERIES
            if deliveries > allowed:
                message = (
                    f"{self.name} [{request.id}] was delivered {deliveries} times without "
                    f"finishing: its worker died each time (out of memory or killed). It is "
                    f"not run again (TASK_MAX_REDELIVERIES={settings.TASK_MAX_REDELIVERIES}); "
                    "find what kills the worker in its log, then start the work anew."
                )
                logger.error("%s", message)
                self.poisoned(message, args, kwargs)
                raise PoisonedTask(message)
            self.delivered(deliveries, kwargs)
        return super().__call__(*args, **kwargs)

    def delivered(self, deliveries: int, kwargs: dict) -> None:
        """Called before the task runs, with how many deliveries it had (more than 1: the
        earlier ones' workers died); tasks with run records close the ones left running."""

    def poisoned(self, message: str, args: tuple, kwargs: dict) -> None:
        """Called when a delivery is refused; tasks with a run record mark it failed."""
