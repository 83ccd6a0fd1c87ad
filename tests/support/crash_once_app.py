"""The project's Celery app, its worker armed to die once: the first task to start after the
test set the Redis key `crash_once_key()` arms ENRICH_FAULT_INJECT (retention.faults) with the
key's value for its own run and deletes the key, so its worker process dies at that point
(SIGKILL, as the out-of-memory killer would) and the delivery that follows runs unharmed. A
worker started with `celery -A tests.support.crash_once_app` does it; the project's never do."""

import os

from celery.signals import task_prerun

from enrich.redis.client import get_redis, make_key
from retention import faults
from tests.support.prefork_app import app

__all__ = ("app", "crash_once_key")


def crash_once_key() -> str:
    return make_key("test", "crash-once")


@task_prerun.connect
def _arm_once(**_: object) -> None:
    point = get_redis().getdel(crash_once_key())
    if point:
        os.environ[faults.ENV] = point
    else:
        os.environ.pop(faults.ENV, None)
