"""An hour AirNow publishes after beat's :35 fetch is stored all the same.

AirNow publishes an hour's observations 10-30 min past it, sometimes later: the 10:35 answer
may still hold 09:00. Its current service gives each pollutant's latest hour only, so the
10:00 hour is in no later answer; it was in no point of InfluxDB, a hole in the hourly tiers
and in any chart of the day. Beat's runs of the air quality dispatch (config/schedule.py) go
through the real pipeline, the replay server and InfluxDB: a run whose target's answer holds
the hour that began before it makes no call (collectors.freshness), so the :55 run asks again
only where the :35 answer was behind. The cache time runs on the wall clock, so the hours are
the next ones: every answer is fresh by its age, and its hour decides.
"""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import Site
from enrich.redis.cache import ResponseCache
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, beat_runs, observed_in
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
AREA, LOOKUP = "Seattle-Bellevue-Kent Valley", "47.60,-122.33"
# The documented answer's ozone and PM10 (observation_current.json); PM2.5 its own each hour.
OZONE, PM10 = 35.0, 20.0


def answer(server, hour: datetime, pm25: float, category: str) -> list[dict]:
    """AirNow's answer for Seattle holding `hour`, with PM2.5's AQI and category as given."""
    rows = copy.deepcopy(observed_in(server, hour))
    for row in rows:
        if row["parameterName"] == "PM2.5":
            row |= {"nowcastAQI": pm25, "aqiCategoryName": category}
    return rows


def stored(ts, database: str) -> dict:
    """Every air_quality point: {(time, parameter): (aqi, category, location, lookup)}."""
    rows = ts.query(database, 'SELECT "aqi" FROM "air_quality" GROUP BY *')
    return {
        (r.time, r.tags["parameter"]): (r.values["aqi"], r.tags["category"],
                                        r.tags["location"], r.tags["lookup"])
        for r in rows
    }  # fmt: skip


def test_an_hour_airnow_publishes_after_the_35_fetch_is_stored(isolated, settings, replay_server):
    now = datetime.now(UTC)
    late = now.replace(minute=0, second=0, microsecond=0) + HOUR  # "10:00"
    before, after = late - HOUR, late + HOUR  # "09:00", "11:00"
    # (hour, when AirNow publishes it, its PM2.5): 10:00 at 10:50, after the :35 fetch
    published = [
        (before, before + timedelta(minutes=20), 41.0, "Good"),
        (late, late + timedelta(minutes=50), 57.0, "Moderate"),
        (after, after + timedelta(minutes=20), 63.0, "Moderate"),
    ]
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    configs.airnow(site, replay_server.url)

    calls, runs = 0, beat_runs(late, after + HOUR)
    for moment in runs:
        # AirNow answers with the latest hour it has published by then
        hour, _, pm25, category = max(p for p in published if p[1] <= moment)
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer(replay_server, hour, pm25,
                                                                   category))  # fmt: skip
        for chosen in tasks.configs_by_target("air_quality").values():  # the dispatch's collects
            pipeline.collect(chosen, now=moment, dispatched=moment)
        calls += len(replay_server.calls("GET", AIRNOW_CURRENT_PATH))
        replay_server.reset()

    # the late hour with AirNow's own values, each at its own hour; nothing else
    expected = {}
    for hour, _, pm25, category in published:
        expected |= {
            (hour, "PM2.5"): (pm25, category, AREA, LOOKUP),
            (hour, "O3"): (OZONE, "Good", AREA, LOOKUP),
            (hour, "PM10"): (PM10, "Good", AREA, LOOKUP),
            (hour, "overall"): (pm25, category, AREA, LOOKUP),
        }
    assert stored(isolated, settings.INFLUXDB_DATABASE) == expected
    # one call more, in the hour AirNow was late only: the :55 run after an on-time hour asks
    # nothing
    assert calls == 3
    assert sorted(CollectorRun.objects.values_list("started", "status")) == [
        (late + timedelta(minutes=35), "ok"),
        (late + timedelta(minutes=55), "ok"),
        (after + timedelta(minutes=35), "ok"),
        (after + timedelta(minutes=55), "cached"),
    ]
    served = ResponseCache().get("air_quality", "airnow", LOOKUP).value
    assert (served["time"], served["aqi"]) == (after.isoformat(), 63.0)
