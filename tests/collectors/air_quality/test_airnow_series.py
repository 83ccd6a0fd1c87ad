"""AirNow's points in InfluxDB: one per location, parameter and hour, whatever the category
(`category` is a tag) — through the pipeline, the replay server and the real InfluxDB."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from enrich.models import Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR = datetime(2026, 10, 8, 10, 0, tzinfo=UTC)  # 03:00 PDT


def answer(server, ozone_aqi: int, ozone_hour: str, ozone_category: str) -> list:
    """The fixture's PM2.5 62 and PM10 20 at 03:00 PDT, with ozone as given."""
    rows = copy.deepcopy(server.load_fixture("airnow/observation_current.json"))
    ozone = next(r for r in rows if r["parameterName"] == "O3")
    ozone |= {"nowcastAQI": ozone_aqi, "hourObserved": ozone_hour}
    ozone["aqiCategoryName"] = ozone_category
    return rows


def overall_points(ts, database):
    query = """SELECT "aqi", "ozone" FROM "air_quality" WHERE "parameter" = 'overall' GROUP BY *"""
    return [(r.time, r.tags["category"], r.values["aqi"], r.values["ozone"])
            for r in ts.query(database, query)]  # fmt: skip


def test_an_hour_written_again_with_another_category_keeps_one_point(
    isolated, settings, replay_server
):
    # 10:35: ozone still reports the 02:00 PDT hour (AQI 105, Unhealthy for Sensitive Groups);
    # the overall of 10:00Z is its 105. 10:50: ozone's 03:00 PDT hour is in, AQI 40: the
    # overall of 10:00Z is Moderate 62 (PM2.5). Before, both overall points stayed at 10:00Z,
    # in two category series: max("aqi") of the hour read 105.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    lagging = answer(replay_server, 105, "02:00", "Unhealthy for Sensitive Groups")
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=lagging, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer(replay_server, 40, "03:00", "Good"))
    database = settings.INFLUXDB_DATABASE

    assert pipeline.collect(config, now=HOUR + timedelta(minutes=35)).status == "ok"
    assert overall_points(isolated, database) == [
        (HOUR, "Unhealthy for Sensitive Groups", 105.0, 105.0)
    ]
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the fetch a retry or a shorter interval makes
    assert pipeline.collect(config, now=HOUR + timedelta(minutes=50)).status == "ok"

    assert overall_points(isolated, database) == [(HOUR, "Moderate", 62.0, 40.0)]
    hourly = isolated.query(
        database,
        """SELECT max("aqi"), count("aqi") FROM "air_quality" WHERE "parameter" = 'overall'
        AND time >= '2026-10-08T10:00:00Z' AND time < '2026-10-08T11:00:00Z' GROUP BY time(1h)""",
    )
    assert [(r.values["max"], r.values["count"]) for r in hourly] == [(62.0, 1)]
    # The ozone of each hour once, in its own category: 02:00 PDT (09:00Z) and 03:00 PDT.
    ozone = isolated.query(
        database, """SELECT "aqi" FROM "air_quality" WHERE "parameter" = 'O3' GROUP BY *"""
    )
    assert sorted((r.time, r.tags["category"], r.values["aqi"]) for r in ozone) == [
        (HOUR - timedelta(hours=1), "Unhealthy for Sensitive Groups", 105.0),
        (HOUR, "Good", 40.0),
    ]
