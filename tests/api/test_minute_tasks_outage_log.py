"""What a worker's log says while the minute tasks (collectors.write_current_prices and
write_current_forecasts) cannot reach InfluxDB (a port nothing listens on): one ERROR line per
task when it goes, naming the address tried, and one line when it answers again. The price
task failed with an ERROR and a full traceback every minute, the forecast task logged a
WARNING per carbon target every minute, for the length of the outage. Each still fails while
it cannot write (its result, as Flower shows it, names the error): beat runs it again the next
minute."""

import pytest
from django.conf import settings

from config.celery import app
from tests.support.ports import free_port
from tests.support.worker import celery_worker, logged, output

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]
TASKS = ("collectors.write_current_prices", "collectors.write_current_forecasts")


def minutes(url: str, times: int, node: str) -> tuple[list[tuple[str, str]], str]:
    """Each minute task run `times` times by a worker reaching InfluxDB at `url`: the states
    of their results and the worker's output."""
    env = {
        "INFLUXDB_URL": url,
        "INFLUXDB_TIMEOUT": "1",
        "INFLUXDB_DATABASE": settings.INFLUXDB_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }
    results = []
    with celery_worker(node, **env) as worker:
        for _ in range(times):
            for name in TASKS:
                result = app.send_task(name)
                result.get(timeout=60, propagate=False)
                results.append((result.state, str(result.result)))
        return results, output(worker)


def test_an_outage_is_logged_once_per_task_and_each_run_still_fails(collected, own_storage):
    gone = f"http://127.0.0.1:{free_port()}"
    results, log = minutes(gone, 3, "outage")
    assert all(state == "FAILURE" for state, _ in results), results
    assert all(why.startswith(f"Cannot reach InfluxDB at {gone}") for _, why in results), results
    assert "Traceback" not in log and logged(log, "WARNING") == [], log
    errors = logged(log, "ERROR")
    assert [e.split(":")[0] for e in errors] == ["write_current_prices", "write_current_forecasts"]
    assert all(f"Cannot reach InfluxDB at {gone}" in e for e in errors), errors

    results, log = minutes(settings.INFLUXDB_URL, 2, "back")
    assert [state for state, _ in results] == ["SUCCESS"] * 4, results
    assert logged(log, "ERROR") == [] and logged(log, "WARNING") == [], log
    back = [line for line in logged(log, "INFO") if "answers again" in line]
    assert back == [
        "write_current_prices: InfluxDB answers again",
        "write_current_forecasts: InfluxDB answers again",
    ], log

    results, log = minutes(gone, 1, "again")  # the next outage is said again
    assert len(logged(log, "ERROR")) == 2 and "Traceback" not in log, log
