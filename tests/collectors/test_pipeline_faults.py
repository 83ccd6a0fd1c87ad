"""Pipeline faults on real services: an API budget shared by two worker processes, and an API
that hangs longer than the HTTP timeout.

AirNow stands in for any provider (account-wide budget, one call per fetch); every zip code
is its own target, answered with its own reporting area so the points show who wrote them.
"""

import os
import re
import socket
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import pipeline
from collectors.models import CollectorRun
from config.celery import app
from enrich.models import Site
from enrich.readings import Reading
from enrich.redis.budget import Budget
from enrich.redis.cache import ResponseCache
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.isolation import own_storage
from tests.support.replay import load_fixture
from tests.support.worker import celery_worker, output

pytestmark = pytest.mark.influxdb
ZIP_CODES = ("98101", "98102", "98103", "98104", "98105", "98106")
BUDGET = 3  # calls per hour, fewer than the targets
HOUR = datetime(2026, 10, 8, 10, tzinfo=UTC)  # the fixture's observation


@pytest.fixture
def isolated(settings):
    """Own InfluxDB database and Redis key prefix per test (also given to the workers)."""
    with own_storage(settings, "faults") as ts:
        yield ts


def area(zip_code: str) -> str:
    return f"Reporting area {zip_code}"


def answer_for(zip_code: str) -> list[dict]:
    observations = load_fixture("airnow/observation_current.json")
    return [{**o, "reportingAreaName": area(zip_code)} for o in observations]


def locations_written(ts, database: str) -> Counter:
    rows = ts.query(database, 'SELECT "aqi" FROM "air_quality" GROUP BY "location"')
    return Counter(row.tags["location"] for row in rows)


def wait_until_ready(*nodes: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(nodes)
    while waiting and time.monotonic() < deadline:
        for reply in app.control.ping(destination=sorted(waiting), timeout=0.5):
            waiting -= set(reply)
    if waiting:
        pytest.fail(f"workers not ready within {timeout} s: {sorted(waiting)}")


@pytest.mark.django_db(transaction=True)
def test_budget_is_shared_by_two_worker_processes(isolated, settings, replay_server):
    for zip_code in ZIP_CODES:
        # Slow enough that both workers are busy at once.
        replay_server.add(
            "GET",
            AIRNOW_CURRENT_PATH,
            json=answer_for(zip_code),
            query={"zipCode": zip_code},
            delay=0.3,
        )
        site = Site.objects.create(name=f"home {zip_code}", latitude=47.6, longitude=-122.3)
        configs.airnow(
            site,
            replay_server.url,
            api_key="AIRNOW-KEY-123",
            options={"zip_code": zip_code, "budget": f"{BUDGET}/hour"},
            interval_seconds=3600,
        )
        # An earlier answer, older than the 1 h TTL: what a skipped target serves.
        ResponseCache().put(
            "air_quality",
            "airnow",
            f"zip-{zip_code}",
            {"aqi": 40.0, "location": area(zip_code)},
            fetched_at=datetime.now(UTC) - timedelta(hours=2),
        )
    # Debian's InfluxDB 1.6 can lose points of writes racing into a shard it is creating (each
    # answered 204; gone for good once the cache is saved): the shard of the answers' hour is
    # made first, by a point of another measurement, so the workers' writes meet no such race.
    isolated.write(settings.INFLUXDB_DATABASE, [Reading("shard_made", {"n": 1}, HOUR)])
    env = {
        "INFLUXDB_DATABASE": settings.INFLUXDB_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }
    host = socket.gethostname()
    with (
        celery_worker("faults-a", **env) as first,
        celery_worker("faults-b", **env) as second,
    ):
        pid = os.getpid()
        wait_until_ready(f"faults-a-{pid}@{host}", f"faults-b-{pid}@{host}")
        assert app.send_task("collectors.dispatch_air_quality").get(timeout=60) == len(ZIP_CODES)
        deadline = time.monotonic() + 60
        while CollectorRun.objects.count() < len(ZIP_CODES) and time.monotonic() < deadline:
            time.sleep(0.1)
        logs = {"a": output(first), "b": output(second)}
    runs = list(CollectorRun.objects.all())
    assert len(runs) == len(ZIP_CODES), logs

    # Both processes ran collect tasks, so the budget really was contended across them.
    received = {
        name: set(re.findall(r"Task collectors\.collect\[([0-9a-f-]+)\] received", text))
        for name, text in logs.items()
    }
    assert received["a"] and received["b"], logs
    assert {run.task_id for run in runs} == received["a"] | received["b"]

    # Exactly BUDGET calls reached the API, whichever worker made them.
    calls = replay_server.calls("GET", AIRNOW_CURRENT_PATH)
    assert len(calls) == BUDGET
    assert len(replay_server.requests) == BUDGET
    assert Counter(run.status for run in runs) == {"ok": BUDGET, "budget": len(ZIP_CODES) - BUDGET}
    ok = {run.target for run in runs if run.status == "ok"}
    assert {f"zip-{call.query['zipCode']}" for call in calls} == ok

    # The skipped targets served their earlier answer, stale, and wrote nothing.
    for run in runs:
        if run.status == "budget":
            assert run.served.startswith("last good answer from") and "stale" in run.served
            assert run.points_written == 0 and run.error == ""
            last_good = ResponseCache().last_good("air_quality", "airnow", run.target)
            assert last_good.stale and last_good.value["aqi"] == 40.0
    written = locations_written(isolated, settings.INFLUXDB_DATABASE)
    assert set(written) == {area(target.removeprefix("zip-")) for target in ok}
    assert sum(written.values()) == sum(run.points_written for run in runs if run.status == "ok")
    budget = Budget.from_spec("airnow", f"{BUDGET}/hour")
    assert budget.remaining() == 0 and budget.retry_after() > 3000


@pytest.mark.django_db
def test_hang_longer_than_the_timeout_serves_last_good_within_the_bound(
    isolated, settings, replay_server
):
    settings.HTTP_TIMEOUT_SECONDS = 0.5
    settings.HTTP_MAX_RETRIES = 0
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(
        site, replay_server.url, api_key="AIRNOW-KEY-123", interval_seconds=3600
    )
    replay_server.add(
        "GET", AIRNOW_CURRENT_PATH, json=load_fixture("airnow/observation_current.json")
    )
    earlier = datetime.now(UTC) - timedelta(hours=2)  # older than the 1 h TTL
    first = pipeline.collect(config, now=earlier)
    assert first.status == "ok"
    points_before = sum(locations_written(isolated, settings.INFLUXDB_DATABASE).values())
    assert points_before == first.points_written

    replay_server.reset()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, delay=30, json=[])  # answers far too late
    started = time.monotonic()
    outcome = pipeline.collect(config)
    elapsed = time.monotonic() - started

    assert elapsed < 3, f"the run took {elapsed:.1f} s with a 0.5 s timeout"
    assert len(replay_server.requests) == 1  # HTTP_MAX_RETRIES=0: no second attempt
    assert outcome.status == "failed" and outcome.transient
    assert outcome.error.startswith("TransientError: ")
    assert "no answer within 0.5 s" in outcome.error
    assert outcome.served.startswith(f"last good answer from {earlier.isoformat()}")
    run = CollectorRun.objects.filter(started__gt=earlier).get()
    assert (run.status, run.points_written, run.target) == ("failed", 0, "47.60,-122.33")
    assert "TransientError" in run.error and run.duration_ms < 3000
    assert sum(locations_written(isolated, settings.INFLUXDB_DATABASE).values()) == points_before

    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("viewer"))
    body = client.get(f"/api/enrichment/current?site={site.pk}").json()
    [entry] = body["sources"]["air_quality"]["providers"]
    assert entry["stale"] is True
    assert 2 * 3600 - 5 <= entry["age_seconds"] <= 2 * 3600 + 60
    assert entry["fetched_at"] == earlier.isoformat()
    assert entry["value"]["aqi"] == 62.0 and entry["time"] == "2026-10-08T10:00:00+00:00"
    assert entry["last_run"]["status"] == "failed"
    assert "TransientError" in entry["last_run"]["error"]
