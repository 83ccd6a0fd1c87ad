"""What a worker's log says while the minute tasks (collectors.write_current_prices and
write_current_forecasts) cannot reach Redis, the store of their caches and of InfluxDB's
outage state (a redis-server of the test's own stopped under the worker, tests.support.
redis_outage; its Celery broker and results are the tests' Redis): one ERROR line per task when it
first meets the outage, naming REDIS_URL, one WARNING line per later run, no traceback, and
one line when Redis answers again, after which the tasks work by themselves. Each run failed
with an ERROR and a full traceback (write_current_prices' ending in redis-py's own
"ConnectionError: Error 111 ...", without REDIS_URL), after a WARNING per run that its
deliveries were not counted."""

import re

import pytest
from django.conf import settings

from config.celery import app
from tests.support.redis_outage import over_an_outage
from tests.support.worker import logged

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]
TASKS = ("collectors.write_current_prices", "collectors.write_current_forecasts")
SINCE = r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"
FAILS = "this run fails (its result says why; beat runs the task again the next minute)"


def minutes(times: int) -> list[tuple[str, str]]:
    """Each minute task sent `times` times: the states of their results and what they say."""
    results = []
    for _ in range(times):
        for name in TASKS:
            result = app.send_task(name)
            result.get(timeout=60, propagate=False)
            results.append((result.state, str(result.result)))
    return results


def test_a_redis_outage_is_one_line_a_run_and_the_tasks_resume(collected, own_storage):
    env = {"INFLUXDB_DATABASE": settings.INFLUXDB_DATABASE,
           "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX}  # fmt: skip
    outage = over_an_outage(minutes, "redis-down", env)
    log = outage.log
    assert [state for state, _ in outage.up] == ["SUCCESS"] * 2, log
    assert all(state == "FAILURE" for state, _ in outage.down), outage.down
    assert all(f"REDIS_URL={outage.url} (" in why for _, why in outage.down), outage.down
    assert [state for state, _ in outage.back] == ["SUCCESS"] * 4, outage.back
    assert "Traceback" not in log, log
    errors = logged(log, "ERROR")
    assert [e.split(":")[0] for e in errors] == ["write_current_prices", "write_current_forecasts"]
    for error in errors:
        said = f"Redis cannot be reached; {FAILS}, and each run says so in one line until Redis "
        assert said + "answers again: " in error, error
        assert f"cannot reach Redis at REDIS_URL={outage.url} (" in error, error
    still = [w for w in logged(log, "WARNING") if w.startswith("write_current_")]
    assert [w.split(":")[0] for w in still] == [t.split(".")[1] for t in TASKS] * 2, log
    assert all(re.fullmatch(rf"\w+: Redis still cannot be reached {SINCE}; " + re.escape(FAILS), w)
               for w in still), still  # fmt: skip
    uncounted = [w for w in logged(log, "WARNING") if "deliveries" in w]
    assert len(uncounted) == 1 and uncounted[0].startswith(
        "Task deliveries are not counted while Redis cannot be reached"
    ), log
    assert [i for i in logged(log, "INFO") if "answers again" in i] == [
        "write_current_prices: Redis answers again",
        "write_current_forecasts: Redis answers again",
    ], log
