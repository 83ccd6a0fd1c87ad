"""Beat's dispatch task through the real Redis broker to a real worker: the expected points
land in InfluxDB and the run is recorded."""

import time
import uuid

import pytest

from collectors.models import CollectorRun
from config.celery import app
from enrich.influx import get_timeseries
from enrich.models import Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.worker import celery_worker, output, wait_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]


def test_dispatch_to_worker_writes_points(replay_server, settings):
    tag = uuid.uuid4().hex[:10]
    database, prefix = f"test_e2e_{tag}", f"test-e2e-{tag}"
    ts = get_timeseries()
    ts.create_database(database)
    replay_server.add(
        "GET",
        AIRNOW_CURRENT_PATH,
        json=replay_server.load_fixture("airnow/observation_current.json"),
    )
    for n in range(3):  # three homes in one place: one API call
        site = Site.objects.create(name=f"home {n}", latitude=47.6021, longitude=-122.3290)
        configs.airnow(site, replay_server.url)
    try:
        with celery_worker(INFLUXDB_DATABASE=database, REDIS_KEY_PREFIX=prefix) as worker:
            assert app.send_task("collectors.dispatch_air_quality").get(timeout=60) == 1
            deadline = time.monotonic() + 60
            while not CollectorRun.objects.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            run = CollectorRun.objects.first()
            if run is None:
                pytest.fail(f"no run recorded; worker output:\n{output(worker)}")
        assert (run.status, run.target) == ("ok", "47.60,-122.33"), run.error
        assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 1
        rows = list(ts.query(database, 'SELECT "aqi" FROM "air_quality" GROUP BY "parameter"'))
        by_parameter = {r.tags["parameter"]: r.values["aqi"] for r in rows}
        assert by_parameter["overall"] == max(v for k, v in by_parameter.items() if k != "overall")
        assert len(rows) == run.points_written
    finally:
        ts.drop_database(database)
        for key in get_redis().scan_iter(f"{prefix}:*"):
            get_redis().delete(key)


def test_a_collection_stopped_by_its_time_limit_is_a_recorded_failure(replay_server, settings):
    # The soft time limit (a SoftTimeLimitExceeded out of the HTTP call) is no failure the
    # pipeline expects: the task failed in Flower and no run said so.
    tag = uuid.uuid4().hex[:10]
    prefix = f"test-e2e-{tag}"
    replay_server.add(
        "GET",
        AIRNOW_CURRENT_PATH,
        json=replay_server.load_fixture("airnow/observation_current.json"),
        delay=3,
    )
    site = Site.objects.create(name="slow home", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url)
    try:
        with celery_worker(
            pool="prefork", REDIS_KEY_PREFIX=prefix, HTTP_TIMEOUT_SECONDS="20"
        ) as worker:
            result = app.send_task(
                "collectors.collect", args=[config.pk], soft_time_limit=1, time_limit=10
            )
            result.get(timeout=60, propagate=False)
            assert result.state == "FAILURE", output(worker)
            wait_idle(worker)
        (run,) = CollectorRun.objects.all()
        assert (run.status, run.provider, run.task_id) == ("failed", "airnow", result.id)
        assert run.error.startswith("SoftTimeLimitExceeded: the task's time limit ran out")
        assert run.error.endswith("(the collection stopped here: see the worker's log)")
        # what the status page's last-run cell says (it said no reason), without the class
        stopped = (
            "the task's time limit ran out (the collection stopped here: see the worker's log)"
        )
        assert run.message == stopped, run.message
    finally:
        for key in get_redis().scan_iter(f"{prefix}:*"):
            get_redis().delete(key)
