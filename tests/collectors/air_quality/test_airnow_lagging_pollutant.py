"""A pollutant AirNow publishes after beat's :35 fetch is stored with its hour all the same.

Each pollutant comes from its own monitor, published minutes apart: the 10:35 answer may give
PM2.5 of 10:00 but ozone still of 09:00. That answer is of the hour begun, so the :55 run made
no call, and ozone's 10:00 observation, published at 10:50, was in no later answer (the 11:35
one gives 11:00): no ozone point of 10:00, and the 10:00 overall made again without it. The
:55 run asks again, once, when a pollutant the hour before had lags the hour begun in the
cached answer (`lagging`, collectors.freshness); a monitor stopped hours ago costs no call.
Beat's runs go through the real pipeline, the replay server and InfluxDB.
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


def rows_at(server, moment: datetime, published: list[tuple]) -> list[dict]:
    """AirNow's answer at `moment`: each pollutant's latest hour published by then, with its
    AQI and category (`published`: (parameter, hour, when published, AQI, category))."""
    latest: dict[str, tuple] = {}
    for parameter, hour, at, aqi, category in sorted(published, key=lambda p: p[1]):
        if at <= moment:
            latest[parameter] = (hour, aqi, category)
    rows = []
    for parameter, (hour, aqi, category) in latest.items():
        [row] = [r for r in observed_in(server, hour) if r["parameterName"] == parameter]
        rows.append(copy.deepcopy(row) | {"nowcastAQI": aqi, "aqiCategoryName": category})
    return rows


def stored(ts, database: str) -> dict:
    """Every air_quality point: {(time, parameter): (aqi, category, ozone sub-index)}."""
    rows = list(ts.query(database, 'SELECT "aqi", "ozone" FROM "air_quality" GROUP BY *'))
    assert {(r.tags["location"], r.tags["lookup"]) for r in rows} == {(AREA, LOOKUP)}
    return {
        (r.time, r.tags["parameter"]): (r.values["aqi"], r.tags["category"], r.values["ozone"])
        for r in rows
    }


def test_a_pollutant_airnow_publishes_after_the_35_fetch_is_stored(
    isolated, settings, replay_server
):
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) + HOUR  # "10:00"
    before, after = hour - HOUR, hour + HOUR  # "09:00", "11:00"
    # PM2.5 on time; ozone's 10:00 at 10:50, after the :35 fetch; PM10's monitor stopped at
    # 08:00 (AirNow keeps answering with it: it lags too, but no hour before had it)
    published = [
        ("PM10", before - HOUR, before - HOUR, 20.0, "Good"),
        ("O3", before, before + timedelta(minutes=20), 35.0, "Good"),
        ("PM2.5", hour, hour + timedelta(minutes=20), 57.0, "Moderate"),
        ("O3", hour, hour + timedelta(minutes=50), 80.0, "Moderate"),
        ("PM2.5", after, after + timedelta(minutes=20), 63.0, "Moderate"),
        ("O3", after, after + timedelta(minutes=20), 44.0, "Good"),
    ]
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    configs.airnow(site, replay_server.url)

    calls, lagging = [], []
    for moment in beat_runs(hour, after + HOUR):  # 10:35, 10:55, 11:35, 11:55
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows_at(replay_server, moment,
                                                                   published))  # fmt: skip
        for chosen in tasks.configs_by_target("air_quality").values():  # the dispatch's collects
            pipeline.collect(chosen, now=moment, dispatched=moment)
        calls.append(len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)))
        replay_server.reset()
        served = ResponseCache().get("air_quality", "airnow", LOOKUP).value
        lagging.append(served.get("lagging"))

    # the 10:35 answer says ozone lags; the :55 run asks again, once; the 11:55 run does not,
    # for PM10 of 08:00 alone
    assert lagging == [["O3"], None, None, None]
    assert calls == [1, 1, 1, 0]
    assert sorted(CollectorRun.objects.values_list("started", "status")) == [
        (hour + timedelta(minutes=35), "ok"),
        (hour + timedelta(minutes=55), "ok"),
        (after + timedelta(minutes=35), "ok"),
        (after + timedelta(minutes=55), "cached"),
    ]
    # ozone's 10:00 with AirNow's value, and the 10:00 overall counting it (made again at
    # 11:35 from the points stored for 10:00); PM10's stopped monitor counted in no overall
    assert stored(isolated, settings.INFLUXDB_DATABASE) == {
        (before - HOUR, "PM10"): (20.0, "Good", None),
        (before, "O3"): (35.0, "Good", None),
        (hour, "PM2.5"): (57.0, "Moderate", None),
        (hour, "O3"): (80.0, "Moderate", None),
        (hour, "overall"): (80.0, "Moderate", 80.0),
        (after, "PM2.5"): (63.0, "Moderate", None),
        (after, "O3"): (44.0, "Good", None),
        (after, "overall"): (63.0, "Moderate", 44.0),
    }
    served = ResponseCache().get("air_quality", "airnow", LOOKUP).value
    assert (served["time"], served["aqi"], served.get("lagging")) == (after.isoformat(), 63.0, None)
