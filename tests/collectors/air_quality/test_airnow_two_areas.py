"""Two reporting areas in one AirNow answer: the current service looks up the closest reading
of each pollutant ("lookupBehavior": "Closest Reading By Pollutant", external_apis.md §8), so
ozone may come from another area than PM2.5. One overall point per hour and lookup stays in
InfluxDB, whichever area it is tagged with — through the pipeline, the replay server and the
real InfluxDB."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.ha_mqtt.entities import air_quality_states, source_entry
from enrich.models import Site
from enrich.redis.cache import ResponseCache
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR = datetime(2026, 10, 8, 10, 0, tzinfo=UTC)  # 03:00 PDT
SEATTLE, TACOMA = "Seattle-Bellevue-Kent Valley", "Tacoma-Puyallup"
CATEGORY = {50: "Good", 100: "Moderate", 150: "Unhealthy for Sensitive Groups"}


def row(parameter: str, area: str, hour: str, aqi: int) -> dict:
    category = next(name for upper, name in CATEGORY.items() if aqi <= upper)
    return {
        "dateObserved": "2026-10-08", "hourObserved": hour, "localTimeZone": "PDT",
        "reportingAreaName": area, "siteID": "530330030", "siteName": "a monitor",
        "parameterName": parameter, "nowcastAQI": aqi, "aqiCategoryName": category,
        "reportingAgency": "Washington Department of Ecology",
        "lookupBehavior": "Closest Reading By Pollutant", "consideredMonitors": "All",
        "lookupBoundary": "50 Miles",
    }  # fmt: skip


def test_the_overall_of_an_hour_made_again_with_another_area_replaces_the_first(
    isolated, settings, replay_server
):
    # 10:35Z: Tacoma's ozone has not reported 03:00 PDT yet (02:00 PDT: 120, Unhealthy for
    # Sensitive Groups); Seattle's PM2.5 of 03:00 PDT is 40. The overall of 10Z counts the
    # lagging ozone: 120. 11:35Z: ozone's 03:00 PDT is 30, so the overall of 10Z is made again
    # from that hour's observations: 40. One area each, so the overall's area is a tie: the
    # one made again was tagged Seattle, the first Tacoma, and both stayed in the hour —
    # max("aqi") of 10Z read the 120 that no observation of the hour had.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    first = [row("O3", TACOMA, "02:00", 120), row("PM2.5", SEATTLE, "03:00", 40)]
    second = [row("O3", TACOMA, "03:00", 30), row("PM2.5", SEATTLE, "04:00", 45)]
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=first, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=second, times=1)
    database = settings.INFLUXDB_DATABASE

    assert pipeline.collect(config, now=HOUR + timedelta(minutes=35)).status == "ok"
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the hour is over: the next fetch calls AirNow
    result = pipeline.collect(config, now=HOUR + timedelta(minutes=95))
    assert result.status == "ok"

    overall = isolated.query(
        database,
        """SELECT "aqi", "ozone", "pm25" FROM "air_quality" WHERE "parameter" = 'overall'
        GROUP BY *""",
    )
    points = sorted(
        (r.time, r.tags["location"], r.values["aqi"], r.values["ozone"], r.values["pm25"])
        for r in overall
    )
    assert points == [
        (HOUR, SEATTLE, 40.0, 30.0, 40.0),  # PM2.5's 40 is the hour's AQI, and Seattle's
        (HOUR + timedelta(hours=1), SEATTLE, 45.0, 30.0, 45.0),
    ]
    hourly = isolated.query(
        database,
        """SELECT max("aqi"), count("aqi") FROM "air_quality" WHERE "parameter" = 'overall'
        AND time >= $start AND time < $end GROUP BY time(1h)""",
        params={"start": HOUR, "end": HOUR + timedelta(hours=2)},
    )
    assert [(r.values["max"], r.values["count"]) for r in hourly] == [(40.0, 1), (45.0, 1)]


def test_the_area_served_is_that_of_the_aqi_served_when_two_areas_answer_alike(
    isolated, replay_server
):
    # One pollutant from each area: the area served was the first row's, whatever the AQI —
    # Tacoma beside Seattle's PM2.5 of 62, though Tacoma's ozone was 35.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    answer = [row("O3", TACOMA, "03:00", 35), row("PM2.5", SEATTLE, "03:00", 62)]
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)

    assert pipeline.collect(config, now=HOUR + timedelta(minutes=35)).status == "ok"

    entry = source_entry([config], ResponseCache())  # what GET /api/enrichment/current serves
    value = entry["value"]
    assert (value["aqi"], value["location"], value["ozone"], value["pm25"]) == (
        62.0, SEATTLE, 35.0, 62.0,
    )  # fmt: skip
    assert entry["time"] == HOUR.isoformat()
    for state in air_quality_states(entry):  # Home Assistant's
        assert state.attributes["location"] == SEATTLE


def test_a_past_hour_made_again_counts_the_pollutant_of_an_area_the_next_answer_left_out(
    isolated, settings, replay_server
):
    # 10:35Z: Seattle's PM2.5 60 and PM10 20, Tacoma's ozone 120 at 03:00 PDT: the overall of
    # 10Z is 120, tagged Seattle (two of three pollutants). 11:35Z: no ozone row (its monitor
    # is off; not withdrawn): the overall of 10Z, made again from the points stored for it,
    # was made of Seattle's alone and said 60, though Tacoma's 120 of that hour stays stored.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    first = [
        row("PM2.5", SEATTLE, "03:00", 60), row("PM10", SEATTLE, "03:00", 20),
        row("O3", TACOMA, "03:00", 120),
    ]  # fmt: skip
    second = [row("PM2.5", SEATTLE, "04:00", 45), row("PM10", SEATTLE, "04:00", 20)]
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=first, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=second, times=1)

    assert pipeline.collect(config, now=HOUR + timedelta(minutes=35)).status == "ok"
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the hour is over: the next fetch calls AirNow
    assert pipeline.collect(config, now=HOUR + timedelta(minutes=95)).status == "ok"

    rows = isolated.query(
        settings.INFLUXDB_DATABASE,
        """SELECT "aqi", "ozone" FROM "air_quality" WHERE "parameter" = 'overall' GROUP BY *""",
    )
    assert sorted(
        (r.time, r.tags["location"], r.values["aqi"], r.values["ozone"]) for r in rows
    ) == [
        (HOUR, SEATTLE, 120.0, 120.0),  # the hour's observations: Tacoma's ozone the worst
        (HOUR + timedelta(hours=1), SEATTLE, 45.0, None),
    ]
    entry = source_entry([config], ResponseCache())
    assert (entry["value"]["aqi"], entry["time"]) == (45.0, (HOUR + timedelta(hours=1)).isoformat())
    assert "ozone" not in entry["value"]  # an ozone of 10Z is no value of 11Z
