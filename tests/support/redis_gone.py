"""A scheduled retention run whose Redis (a redis-server of the test's own: tests.support.
redis_server, the worker's Celery broker and the store of the run's locks) stops while the run is
paused (tests.support.pause_app, its keys in the test's Redis): the run, closed at once as one
whose retry could not be queued, as retention.task_records records it."""

import subprocess

from enrich.redis.client import get_redis
from retention.models import Alert, RetentionRun
from retention.stats.alerts import detect
from tests.support.pause_app import paused_key
from tests.support.redis_server import stopped
from tests.support.worker import until


def failed_as_redis_stopped(
    redis: subprocess.Popen, worker: subprocess.Popen, url: str, lock: str
) -> RetentionRun:
    """Once `worker`'s run has paused: stop `redis` (at `url`), let the run go on, and return it,
    checked failed with its alert, saying that `lock` is out of reach and that its retry could not
    be queued (what comes next, and what is kept meanwhile, are the test's to check)."""
    until(lambda: get_redis().get(paused_key()), worker, seconds=120)
    stopped(redis)
    get_redis().delete(paused_key())
    until(lambda: RetentionRun.objects.exclude(status="running").first(), worker, seconds=60)
    [run] = RetentionRun.objects.all()
    assert (run.status, run.details["queued_by"]) == ("failed", "schedule"), run.errors
    assert run.finished is not None and run.details.get("retry_not_queued") is True, run.errors
    assert run.errors.startswith(
        f"RedisUnavailable: {lock} is unavailable: cannot reach Redis at REDIS_URL={url} ("
    ), run.errors
    assert (
        "Not tried again: its retry (1 of 3) could not be queued: the Celery broker at "
        f"{url} is out of reach too (" in run.errors
    ), run.errors
    [alert] = detect()
    assert (alert.run_id, alert.kind) == (run.pk, Alert.Kind.FAILED)
    return run
