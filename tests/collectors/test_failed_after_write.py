"""A run that fails after its points are in InfluxDB (Redis gone before its answer is cached,
or the adapter's after-write step refused) is recorded as failed with the points it wrote, its
error and message saying they were written and what failed after: the admin's runs list,
/api/enrichment/current and the status page read that record. Real PostgreSQL and InfluxDB
(through a proxy, tests.support.lossy_influx), a Redis of the test's own (tests.support.
redis_server) stopped the moment InfluxDB accepted the write; AirNow on the replay server."""

import copy
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from collectors import pipeline
from collectors.models import CollectorRun
from enrich.influx import reset_timeseries
from enrich.models import Site
from enrich.readings import Reading
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.lossy_influx import lossy_influx
from tests.support.redis_server import OwnRedis

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
NOW = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)  # the fixture's observation is 10:00Z
HOUR, BEFORE = datetime(2026, 10, 8, 10, tzinfo=UTC), datetime(2026, 10, 8, 9, tzinfo=UTC)
AREA = "Seattle-Bellevue-Kent Valley"  # the fixture's reporting area
LOOKUP = "47.60,-122.33"  # what the fetches ask AirNow for: the site's position, two decimals


@pytest.fixture
def own_redis(isolated, settings):
    """REDIS_URL a redis-server of the test's own while the test runs (the shared one again
    before `isolated` removes its keys)."""
    own, shared = OwnRedis(), settings.REDIS_URL
    settings.REDIS_URL = own.url
    try:
        yield own
    finally:
        settings.REDIS_URL = shared
        own.stop()


@pytest.fixture
def proxy(isolated, settings):
    """The process's InfluxDB gateway through the proxy (straight to InfluxDB again before
    `isolated` drops its database)."""
    with lossy_influx(settings.INFLUXDB_URL) as lossy:
        direct, settings.INFLUXDB_URL = settings.INFLUXDB_URL, lossy.url
        reset_timeseries()
        try:
            yield lossy
        finally:
            settings.INFLUXDB_URL = direct
            reset_timeseries()


def stored(ts, database) -> int:
    return len(list(ts.query(database, 'SELECT * FROM "air_quality" GROUP BY *')))


def test_redis_gone_after_the_write_is_a_failed_run_with_the_points_it_wrote(
    isolated, own_redis, proxy, settings, replay_server, admin_client
):
    # Before, the run read "failed", 0 points written, "CacheUnavailable: ...": the admin,
    # the API and the status page said nothing was written, with 4 points in InfluxDB.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    answer = replay_server.load_fixture("airnow/observation_current.json")
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    proxy.on_write = own_redis.stop  # InfluxDB has the points; Redis is gone

    outcome = pipeline.collect(config, now=NOW)

    written = stored(isolated, settings.INFLUXDB_DATABASE)
    assert written == 4  # the overall and one point per pollutant of the fixture
    run = CollectorRun.objects.get()
    assert (run.status, run.points_written) == ("failed", written)
    assert (outcome.points_written, outcome.by_measurement) == (4, {"air_quality": 4})
    assert outcome.transient  # Redis out of reach: the task tries again
    note = "4 points written to InfluxDB, then caching the answer failed: "
    assert run.error.startswith(f"{note}CacheUnavailable: "), run.error
    assert run.message.startswith(f"{note}The response cache is unavailable: cannot reach "
                                  f"Redis at REDIS_URL={own_redis.url} ("), run.message  # fmt: skip
    assert run.served == "nothing (Redis unavailable)"

    page = admin_client.get(reverse("admin:collectors_collectorrun_changelist")).content.decode()
    assert '<td class="field-points_written">4</td>' in page
    assert f"{note}CacheUnavailable" in page
    own_redis.start()  # back, empty: the API reads the run's record
    shown = admin_client.get("/api/enrichment/current", {"site": site.pk}).json()
    [airnow] = shown["sources"]["air_quality"]["providers"]
    assert airnow["last_run"]["status_label"] == "failed"
    # the status page shows it, without Redis' address (the admin shows it whole, as above)
    assert airnow["last_run"]["message"].startswith(
        f"{note}The response cache is unavailable: cannot reach Redis at REDIS_URL=[hidden] ("
    ), airnow["last_run"]["message"]
    assert own_redis.url.split("/")[2] not in str(shown), shown


def observed(parameter: str, aqi: float, tags: dict | None = None) -> Reading:
    """A point of BEFORE as an earlier AirNow fetch stored it ("Good": category 1)."""
    tags = tags or {"location": AREA, "category": "Good", "provider": "airnow", "lookup": LOOKUP}
    fields = {"aqi": aqi, "category_number": 1.0}
    return Reading("air_quality", fields, BEFORE, {**tags, "parameter": parameter})


def test_an_after_write_step_refused_by_influxdb_is_a_failed_run_with_the_points_it_wrote(
    isolated, settings, replay_server
):
    # 09Z as stored: PM2.5 50, PM10 20 and their overall; in the same shard another writer's
    # point holds `pm10` as a string. The 10:40 fetch brings PM2.5 of 10Z and ozone of 09Z
    # (lagging), no PM10: its 3 points are written; AirNow's after-write step then makes the
    # overall of 09Z again, with a pm10 sub-index, which InfluxDB refuses (field type
    # conflict). Before, the run read "failed", 0 points written.
    database = settings.INFLUXDB_DATABASE
    other = {"location": "Elsewhere", "category": "Good", "provider": "other"}
    isolated.write(database, [observed("PM2.5", 50.0), observed("PM10", 20.0),
                              observed("overall", 50.0),
                              Reading("air_quality", {"pm10": "n/a"}, BEFORE, other)])  # fmt: skip
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    rows = copy.deepcopy(replay_server.load_fixture("airnow/observation_current.json"))
    rows = [r for r in rows if r["parameterName"] != "PM10"]
    next(r for r in rows if r["parameterName"] == "O3")["hourObserved"] = "02:00"
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows)

    outcome = pipeline.collect(config, now=NOW)

    fetched = isolated.query(
        database, 'SELECT "aqi" FROM "air_quality" WHERE "provider" = \'airnow\' GROUP BY *'
    )
    stored_now = {(r.time, r.tags["parameter"]) for r in fetched}
    assert {(BEFORE, "O3"), (HOUR, "PM2.5"), (HOUR, "overall")} <= stored_now  # the fetch's 3
    run = CollectorRun.objects.get()
    assert (run.status, run.points_written) == ("failed", 3)
    assert (outcome.by_measurement, outcome.transient) == ({"air_quality": 3}, False)
    note = "3 points written to InfluxDB, then airnow's after-write step failed: "
    assert run.error.startswith(f"{note}InfluxWriteError: InfluxDB rejected a write of 1 "
                                "points"), run.error  # fmt: skip
    assert "field type conflict" in run.error
    assert run.message.startswith(f"{note}InfluxDB rejected a write of 1 points"), run.message
    assert run.served.startswith("last good answer from 2026-10-08T10:40:00+00:00")
