"""The test Celery worker itself (tests.support.worker): it is stopped only once it runs no
task, also when a test reads its output at once after a run record said the task ended."""

import time

import pytest

from config.celery import app
from tests.support.worker import celery_worker, output, until

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_output_is_read_once_the_running_task_has_ended():
    """A task still running when the test asks for the output: the worker is stopped after it
    ended, not in the middle (stopped in the moment its result is on its way, a worker waits
    out the task's hard time limit, minutes to hours, and fails the test at 30 s)."""
    with celery_worker("sleepy", app="tests.support.sleepy_app", pool="prefork") as worker:
        result = app.send_task("tests.sleep_for", args=[3])
        inspect = app.control.inspect([worker.node], timeout=1, limit=1)
        until(lambda: (inspect.active() or {}).get(worker.node), worker, seconds=60)
        asked = time.monotonic()
        log = output(worker)
        stopped_after = time.monotonic() - asked
    assert result.get(timeout=5) == 3
    ended = log.index(f"Task tests.sleep_for[{result.id}] succeeded")
    assert ended < log.index("Warm shutdown"), log
    assert stopped_after < 30, log
