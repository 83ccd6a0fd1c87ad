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
    return sorted((r.time, r.tags["category"], r.values["aqi"], r.values["ozone"])
                  for r in ts.query(database, query))  # fmt: skip


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


def test_the_overall_of_an_hour_is_corrected_when_a_lagging_pollutant_reports_it(
    isolated, settings, replay_server
):
    # At 09:35Z ozone has not reported 02:00 PDT (09Z) yet: the overall of 09Z counts its
    # 01:00 PDT 90. At 10:35Z ozone's 02:00 PDT is 30: the overall of 09Z is the maximum over
    # that hour's observations, PM2.5's 50, no longer an ozone value of the hour before.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    earlier = answer(replay_server, 90, "01:00", "Moderate")
    for row in earlier:
        if row["parameterName"] != "O3":
            row["hourObserved"] = "02:00"
    earlier[0] |= {"nowcastAQI": 50, "aqiCategoryName": "Good"}  # PM2.5
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=earlier, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer(replay_server, 30, "02:00", "Good"))
    database, before = settings.INFLUXDB_DATABASE, HOUR - timedelta(hours=1)

    assert pipeline.collect(config, now=before + timedelta(minutes=35)).status == "ok"
    assert overall_points(isolated, database) == [(before, "Moderate", 90.0, 90.0)]
    assert pipeline.collect(config, now=HOUR + timedelta(minutes=35)).status == "ok"

    assert overall_points(isolated, database) == [
        (before, "Good", 50.0, 30.0),  # PM2.5 50, PM10 20, ozone 30: all of 09Z
        (HOUR, "Moderate", 62.0, 30.0),  # ozone has not reported 10Z yet: its 09Z counts
    ]
    fields = isolated.query(
        database,
        """SELECT * FROM "air_quality" WHERE "parameter" = 'overall' AND time <= $t""",
        params={"t": before},
    )
    (row,) = fields
    assert {k: v for k, v in row.values.items() if k in ("aqi", "pm25", "pm10", "ozone")} == {
        "aqi": 50,
        "pm25": 50,
        "pm10": 20,
        "ozone": 30,
    }
    assert row.values["category_number"] == 1


@pytest.mark.parametrize("left_out", ["AQI -1", "row gone"])
def test_an_hour_written_again_without_a_pollutant_keeps_none_of_its_fields(
    isolated, settings, replay_server, left_out
):
    # 10:35: PM2.5 62, O3 35 and PM10 80 at 03:00 PDT: the overall of 10:00Z is PM10's 80,
    # Moderate. 10:50: AirNow has no PM10 value for that hour any more (AQI -1, "no value", or
    # no PM10 row): the overall is PM2.5's 62, Moderate again: one series, so InfluxDB merged
    # the two points and the hour's overall kept pm10 80 above its aqi 62.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    first = answer(replay_server, 35, "03:00", "Good")
    assert first[2]["parameterName"] == "PM10"
    first[2] |= {"nowcastAQI": 80, "aqiCategoryName": "Moderate"}
    second = copy.deepcopy(first)
    if left_out == "AQI -1":
        second[2] |= {"nowcastAQI": -1, "aqiCategoryName": "Unavailable"}
    else:
        del second[2]
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=first, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=second)
    database = settings.INFLUXDB_DATABASE
    query = """SELECT * FROM "air_quality" WHERE "parameter" = 'overall' GROUP BY *"""

    assert pipeline.collect(config, now=HOUR + timedelta(minutes=35)).status == "ok"
    [stored] = isolated.query(database, query)
    assert {k: v for k, v in stored.values.items() if v is not None} == {
        "aqi": 80, "category_number": 2, "pm25": 62, "ozone": 35, "pm10": 80
    }  # fmt: skip
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the fetch a retry or a shorter interval makes
    assert pipeline.collect(config, now=HOUR + timedelta(minutes=50)).status == "ok"

    [stored] = isolated.query(database, query)
    assert (stored.time, stored.tags["category"]) == (HOUR, "Moderate")
    assert {k: v for k, v in stored.values.items() if v is not None} == {
        "aqi": 62, "category_number": 2, "pm25": 62, "ozone": 35
    }  # fmt: skip


@pytest.mark.parametrize("ozone_lags", [False, True])
def test_a_past_hour_counts_a_pollutant_its_last_answer_left_out_whatever_the_next_brings(
    isolated, settings, replay_server, ozone_lags
):
    # 10:35: PM2.5 62, O3 35, PM10 80 at 03:00 PDT (10Z). 10:50: no PM10 row (not withdrawn:
    # its point stays): the overall of 10Z is 62. 11:35: every pollutant at 04:00 PDT (11Z),
    # or ozone still at 10Z. 10Z is past: its overall is the maximum over its observations,
    # PM10's 80. It stayed 62 when no pollutant lagged, and turned 80 when ozone did.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    first = answer(replay_server, 35, "03:00", "Good")
    first[2] |= {"nowcastAQI": 80, "aqiCategoryName": "Moderate"}  # PM10
    second = copy.deepcopy(first[:2])
    third = copy.deepcopy(first)
    for row in third:
        row |= {"hourObserved": "04:00", "nowcastAQI": 30, "aqiCategoryName": "Good"}
    if ozone_lags:
        third[1] |= {"hourObserved": "03:00", "nowcastAQI": 35}
    for body in (first, second):
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=body, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=third)
    database, later = settings.INFLUXDB_DATABASE, HOUR + timedelta(hours=1)

    for minutes in (35, 50):
        for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
            get_redis().delete(key)  # the fetch a retry or a shorter interval makes
        assert pipeline.collect(config, now=HOUR + timedelta(minutes=minutes)).status == "ok"
    assert overall_points(isolated, database) == [(HOUR, "Moderate", 62.0, 35.0)]
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)
    assert pipeline.collect(config, now=later + timedelta(minutes=35)).status == "ok"

    query = """SELECT * FROM "air_quality" WHERE "parameter" = 'overall' AND time = $t"""
    [past] = isolated.query(database, query, params={"t": HOUR})
    assert {k: v for k, v in past.values.items() if k in ("aqi", "pm25", "pm10", "ozone")} == {
        "aqi": 80, "pm25": 62, "pm10": 80, "ozone": 35
    }  # fmt: skip


def test_a_pollutant_point_a_later_answer_no_longer_lists_leaves_the_past_hours_overall(
    isolated, settings, replay_server
):
    # 10:40: ozone 120 at 03:00 PDT (10Z), a mis-dated row. 10:50: ozone's latest is 02:00
    # PDT (9Z), 35: AirNow has no ozone of 10Z. 11:40: PM2.5 and ozone at 04:00 PDT (11Z),
    # PM10 still at 10Z. The ozone 120 stayed at 10Z, and the overall of 10Z, made again from
    # the points stored at it, read 120 (Unhealthy for Sensitive Groups) for an hour whose
    # observations AirNow gives are PM2.5 62 and PM10 20.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    later = answer(replay_server, 30, "04:00", "Good")
    later[0] |= {"hourObserved": "04:00", "nowcastAQI": 40, "aqiCategoryName": "Good"}
    for body in (
        answer(replay_server, 120, "03:00", "Unhealthy for Sensitive Groups"),
        answer(replay_server, 35, "02:00", "Good"),
    ):
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=body, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=later)
    database, before = settings.INFLUXDB_DATABASE, HOUR - timedelta(hours=1)

    for moment in (HOUR + timedelta(minutes=40), HOUR + timedelta(minutes=50)):
        for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
            get_redis().delete(key)  # the fetch a retry or a shorter interval makes
        assert pipeline.collect(config, now=moment).status == "ok"
    ozone = """SELECT "aqi" FROM "air_quality" WHERE "parameter" = 'O3' GROUP BY *"""
    assert [(r.time, r.values["aqi"]) for r in isolated.query(database, ozone)] == [(before, 35.0)]
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)
    assert pipeline.collect(config, now=HOUR + timedelta(hours=1, minutes=40)).status == "ok"

    query = """SELECT * FROM "air_quality" WHERE "parameter" = 'overall' AND time = $t
    GROUP BY *"""
    [past] = isolated.query(database, query, params={"t": HOUR})
    assert past.tags["category"] == "Moderate"
    assert {k: v for k, v in past.values.items() if k in ("aqi", "pm25", "pm10", "ozone")} == {
        "aqi": 62, "pm25": 62, "pm10": 20, "ozone": None
    }  # fmt: skip
