"""Tasks run by a real worker while PostgreSQL is out of reach: a TCP proxy
(tests.support.proxy) in front of the test database, closed under the worker and opened again.
Each task that needs the database fails with DatabaseUnavailable, saying so in its result; the
worker's log says it in one line a task (the first an ERROR with the whole error, the others a
WARNING), without a traceback, and once when a task gets through again; the worker runs the
tasks sent after, without a restart. Each failed task logged Celery's "raised unexpected:
OperationalError" and a traceback of some 90 lines."""

import re

import pytest

from config.celery import app
from tests.support.proxy import database_proxy
from tests.support.worker import celery_worker, logged, output

pytestmark = pytest.mark.django_db(transaction=True)
# A minute task (its own `throws`) and a task with the app's task class's.
TASKS = ("collectors.write_current_prices", "collectors.dispatch_carbon_intensity")


def _ran(times: int) -> list:
    """What each of TASKS returned (or the error it failed with), `times` over."""
    results = [app.send_task(name) for _ in range(times) for name in TASKS]
    return [result.get(timeout=60, propagate=False) for result in results]


def test_tasks_fail_in_one_line_each_while_the_database_is_out_of_reach():
    with database_proxy() as (proxy, url), celery_worker("database-down", DATABASE_URL=url) as w:
        up = _ran(1)
        proxy.close()
        down = _ran(2)
        proxy.open()
        back, log = _ran(1), output(w)

    assert not any(isinstance(r, Exception) for r in up + back), (up, back, log)
    assert [type(r).__name__ for r in down] == ["DatabaseUnavailable"] * 4, (down, log)
    assert all(str(r).startswith("The database (DATABASE_URL) cannot be reached: connection "
                                 "failed: ") for r in down), down  # fmt: skip
    assert "Traceback" not in log and "raised unexpected" not in log, log
    [error] = [e for e in logged(log, "ERROR") if "database" in e]
    assert error.startswith(
        f"{TASKS[0]}: the database (DATABASE_URL) cannot be reached; each task that needs it "
        "fails, in one line, until it answers again (beat sends the periodic ones again when "
        f'due): connection failed: connection to server at "127.0.0.1", port {proxy.port} failed'
    ), error
    still = [w for w in logged(log, "WARNING") if "database" in w]
    since = r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"
    assert [re.sub(since, "(since …)", w) for w in still] == [
        f"{name}: the database still cannot be reached (since …); the task fails"
        for name in (*TASKS[1:], *TASKS)
    ], log
    assert [i for i in logged(log, "INFO") if "answers again" in i] == [
        f"{TASKS[0]}: the database answers again"
    ], log
