"""An AirNow value withdrawn for its hour (a later answer gives AQI -1, "no value", for that
pollutant and hour: external_apis.md §8) leaves InfluxDB: the stored points, the overall
written at the fetch, the overall `correct_overall` writes later from the stored points and
the value served all agree. A pollutant merely missing from an answer (AirNow publishes
pollutants minutes apart) keeps its point. Through the pipeline, the replay server, the real
InfluxDB, GET /api/enrichment/current and Home Assistant's states.
"""

import copy
import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.air_quality.airnow import AirNowAdapter
from collectors.base import Credentials, SiteInfo, Window
from collectors.models import CollectorRun
from enrich.models import Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.air_quality import served
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR = datetime(2026, 10, 8, 10, tzinfo=UTC)  # 03:00 PDT: the fixture's hour
WITHDRAWN = {"nowcastAQI": -1, "aqiCategoryName": "Unavailable"}
SAID = "PM10 of 2026-10-08 03:00 PDT withdrawn: AQI -1 (no value) for the hour starting "


def rows(**changes: dict | None) -> list[dict]:
    """The documented Seattle answer (PM2.5 62, O3 35, PM10 20 at 03:00 PDT), the row of each
    parameter named in `changes` (PM2_5 for PM2.5) updated with its dict, or left out (None)."""
    answer = []
    for row in copy.deepcopy(load_fixture("airnow/observation_current.json")):
        change = changes.get(row["parameterName"].replace(".", "_"), {})
        if change is not None:
            answer.append(row | change)
    return answer


def good(aqi: int, hour: str = "03:00") -> dict:
    return {"nowcastAQI": aqi, "hourObserved": hour, "aqiCategoryName": "Good"}


def moderate(aqi: int, hour: str = "03:00") -> dict:
    return good(aqi, hour) | {"aqiCategoryName": "Moderate"}


def collect(config, settings, moment: datetime) -> CollectorRun:
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the fetch a retry or the next hour makes
    assert pipeline.collect(config, now=moment).status == "ok", moment
    return CollectorRun.objects.latest("id")


def points(influx, database: str, parameter: str) -> list[tuple]:
    """(time, category, fields) of every stored point of `parameter`."""
    query = 'SELECT * FROM "air_quality" WHERE "parameter" = $p GROUP BY *'
    fields = ("aqi", "category_number", "pm25", "pm10", "ozone")
    return sorted(
        (
            r.time,
            r.tags["category"],
            {k: r.values[k] for k in fields if r.values.get(k) is not None},
        )
        for r in influx.query(database, query, params={"p": parameter})
    )


def overall(hour: datetime, **indices: int) -> tuple:
    """The overall point of `hour` made of these sub-indices (Good to 50, then Moderate)."""
    aqi = max(indices.values())
    category, number = ("Good", 1) if aqi <= 50 else ("Moderate", 2)
    return hour, category, {"aqi": aqi, "category_number": number} | indices


def seattle(replay_server):
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    return configs.airnow(site, replay_server.url, interval_seconds=3600)


def test_a_withdrawn_value_leaves_the_hour_and_a_later_correction_keeps_it_out(
    isolated, settings, replay_server, monkeypatch, caplog
):
    # 10:35Z: PM2.5 62 and PM10 80 of 03:00 PDT (10Z), ozone still its 02:00 PDT 40: the
    # overall of 10Z is PM10's 80. 10:50Z: AirNow gives PM10 -1 for 03:00 PDT: the overall is
    # PM2.5's 62. 11:35Z: ozone's 03:00 PDT (45) comes with PM2.5's 04:00 PDT: the overall of
    # 10Z is made again from the points stored for it. Before, PM10's 80 stayed stored and
    # that correction made 10Z's overall 80 again.
    config = seattle(replay_server)
    answers = [
        rows(PM10=moderate(80), O3=good(40, "02:00")),
        rows(PM10=WITHDRAWN, O3=good(40, "02:00")),
        rows(PM2_5=moderate(55, "04:00"), O3=good(45), PM10=None),  # PM10 not reported yet
    ]
    for answer in answers:
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer, times=1)
    database = settings.INFLUXDB_DATABASE
    caplog.set_level(logging.INFO, logger="collectors")

    collect(config, settings, HOUR + timedelta(minutes=35))
    assert points(isolated, database, "PM10") == [
        (HOUR, "Moderate", {"aqi": 80, "category_number": 2})
    ]
    run = collect(config, settings, HOUR + timedelta(minutes=50))

    assert points(isolated, database, "PM10") == []
    assert points(isolated, database, "overall") == [overall(HOUR, pm25=62, ozone=40)]
    said = SAID + "2026-10-08T10:00:00+00:00"
    assert said in run.error
    [logged] = [r for r in caplog.records if r.name == "collectors.air_quality.airnow"]
    assert (logged.levelname, logged.getMessage()) == (
        "INFO",
        f"airnow: {said}; any point stored for it is deleted",
    )
    entry, aqi = served(config, monkeypatch, HOUR + timedelta(minutes=51))
    assert entry["time"] == HOUR.isoformat() and entry["value"]["aqi"] == 62.0
    assert "pm10" not in entry["value"]
    assert float(aqi.state) == 62.0 and "pm10" not in aqi.attributes

    run = collect(config, settings, HOUR + timedelta(minutes=95))

    assert points(isolated, database, "PM10") == []
    assert points(isolated, database, "overall") == [
        overall(HOUR, pm25=62, ozone=45),
        overall(HOUR + timedelta(hours=1), pm25=55, ozone=45),
    ]
    assert "withdrawn" not in run.error  # a pollutant not reported is not withdrawn


def test_a_lagging_pollutant_withdrawn_corrects_its_hour_before(
    isolated, settings, replay_server, monkeypatch
):
    # 10:35Z: everything of 03:00 PDT, PM10 80: the overall of 10Z is 80. 11:35Z: PM2.5 and
    # ozone of 04:00 PDT, and PM10 -1 for 03:00 PDT: its 80 goes, and 10Z's overall is made
    # again from what is stored for it, PM2.5's 62.
    config = seattle(replay_server)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(PM10=moderate(80)), times=1)
    later = rows(PM2_5=good(45, "04:00"), O3=good(30, "04:00"), PM10=WITHDRAWN)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=later, times=1)
    database = settings.INFLUXDB_DATABASE

    collect(config, settings, HOUR + timedelta(minutes=35))
    run = collect(config, settings, HOUR + timedelta(minutes=95))

    assert points(isolated, database, "PM10") == []
    assert points(isolated, database, "overall") == [
        overall(HOUR, pm25=62, ozone=35),
        overall(HOUR + timedelta(hours=1), pm25=45, ozone=30),
    ]
    assert SAID + "2026-10-08T10:00:00+00:00" in run.error
    entry, aqi = served(config, monkeypatch, HOUR + timedelta(minutes=96))
    assert entry["value"]["aqi"] == 45.0 and "pm10" not in entry["value"]
    assert float(aqi.state) == 45.0


def test_every_value_of_an_hour_withdrawn_takes_its_overall_too(isolated, settings, replay_server):
    # 10:35Z: PM2.5 62 and PM10 80 of 03:00 PDT, ozone's 02:00 PDT 40. 10:50Z: PM2.5 and PM10
    # -1 for 03:00 PDT: the answer's latest hour is ozone's 09Z; nothing of 10Z stands, its
    # overall neither.
    config = seattle(replay_server)
    first = rows(PM10=moderate(80), O3=good(40, "02:00"))
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=first, times=1)
    second = rows(PM2_5=WITHDRAWN, PM10=WITHDRAWN, O3=good(40, "02:00"))
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=second, times=1)
    database, before = settings.INFLUXDB_DATABASE, HOUR - timedelta(hours=1)

    collect(config, settings, HOUR + timedelta(minutes=35))
    collect(config, settings, HOUR + timedelta(minutes=50))

    assert points(isolated, database, "PM10") == points(isolated, database, "PM2.5") == []
    assert points(isolated, database, "overall") == [overall(before, ozone=40)]


def test_a_pollutant_missing_from_an_answer_keeps_its_point(isolated, settings, replay_server):
    config = seattle(replay_server)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(PM10=moderate(80)), times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(PM10=None), times=1)

    collect(config, settings, HOUR + timedelta(minutes=35))
    run = collect(config, settings, HOUR + timedelta(minutes=50))

    assert points(isolated, settings.INFLUXDB_DATABASE, "PM10") == [
        (HOUR, "Moderate", {"aqi": 80, "category_number": 2})
    ]
    assert "withdrawn" not in run.error


def test_a_classic_answer_withdraws_in_its_own_words(replay_server):
    # The classic service's "2026-05-01 " 15 PST (23:00Z), its PM2.5 -1.
    rows = copy.deepcopy(load_fixture("airnow/observation_classic.json"))
    rows[1] |= {"AQI": -1, "Category": {"Number": 7, "Name": "Unavailable"}}
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=404)
    replay_server.add("GET", "/aq/observation/latLong/current/", json=rows)
    now = datetime(2026, 5, 1, 23, 40, tzinfo=UTC)
    adapter, site = AirNowAdapter(), SiteInfo(name="LA", latitude=34.07, longitude=-118.23)
    credentials = Credentials(api_key="k", options={"base_url": replay_server.url})

    result = adapter.fetch(
        adapter.target(site, credentials), credentials, Window(now - timedelta(hours=1), now, now)
    )

    hour = datetime(2026, 5, 1, 23, tzinfo=UTC)
    assert result.notes == [
        "PM2.5 of 2026-05-01 15:00 PST withdrawn: AQI -1 (no value) for the hour starting "
        "2026-05-01T23:00:00+00:00; any point stored for it is deleted"
    ]
    withdrawn = [r for r in result.replaces if r.tags["parameter"] == "PM2.5"]
    assert [(r.tags["location"], r.start) for r in withdrawn] == [("Central LA CO", hour)]
    assert {r.tags["parameter"] for r in result.readings} == {"overall", "O3", "PM10"}


@pytest.mark.parametrize(
    "rows_of_pm10",
    [
        [moderate(80), WITHDRAWN],  # a value of the hour in the same answer stands
        [WITHDRAWN | {"hourObserved": "04:00"}],  # an hour not begun has nothing to withdraw
    ],
)
def test_no_value_beside_a_value_or_of_an_hour_not_begun_withdraws_nothing(
    replay_server, rows_of_pm10
):
    answer = rows(PM10=None) + [rows()[2] | change for change in rows_of_pm10]
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    now = HOUR + timedelta(minutes=40)
    adapter, site = AirNowAdapter(), SiteInfo(name="home", latitude=47.6, longitude=-122.33)
    credentials = Credentials(api_key="k", options={"base_url": replay_server.url})

    result = adapter.fetch(
        adapter.target(site, credentials), credentials, Window(now - timedelta(hours=1), now, now)
    )

    assert result.notes == []
    assert [r.tags["parameter"] for r in result.replaces] == ["overall"]
    pm10 = [r.fields["aqi"] for r in result.readings if r.tags["parameter"] == "PM10"]
    assert pm10 == ([80.0] if len(rows_of_pm10) == 2 else [])


def every_value_withdrawn(config, settings, moment: datetime) -> CollectorRun:
    """An answer with AQI -1 for every pollutant of 03:00 PDT, collected at `moment`."""
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # only the fresh answer: the last good one stays
    assert pipeline.collect(config, now=moment).status == "no_data", moment
    return CollectorRun.objects.latest("id")


@pytest.mark.parametrize("earlier", [True, False])
def test_an_answer_withdrawing_every_value_takes_them_out_of_influxdb_and_what_is_served(
    isolated, settings, replay_server, monkeypatch, earlier
):
    # 09:35Z (earlier): every pollutant of 02:00 PDT (9Z). 10:35Z: every pollutant of 03:00
    # PDT (10Z), PM10 80 the worst. 10:50Z: AQI -1 for all three of 03:00 PDT. Before, that
    # answer was "no data": nothing deleted, 10Z's points and overall stayed in InfluxDB, and
    # the API and Home Assistant kept serving AQI 80, a value AirNow had just withdrawn. Now
    # the run is still no_data, noting the withdrawals; 10Z's points and overall are deleted,
    # and what is served is the last good value of an earlier hour (9Z's), or nothing.
    config = seattle(replay_server)
    if earlier:
        first = rows(PM2_5=good(50, "02:00"), PM10=good(20, "02:00"), O3=good(30, "02:00"))
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=first, times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(PM10=moderate(80)), times=1)
    gone = rows(PM2_5=WITHDRAWN, PM10=WITHDRAWN, O3=WITHDRAWN)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=gone, times=1)
    database, before = settings.INFLUXDB_DATABASE, HOUR - timedelta(hours=1)

    if earlier:
        collect(config, settings, before + timedelta(minutes=35))
    collect(config, settings, HOUR + timedelta(minutes=35))
    entry, aqi = served(config, monkeypatch, HOUR + timedelta(minutes=40))
    assert entry["value"]["aqi"] == 80.0 and float(aqi.state) == 80.0
    run = every_value_withdrawn(config, settings, HOUR + timedelta(minutes=50))

    assert "AQI -1 (no value) for every pollutant" in run.error, run.error
    assert SAID + "2026-10-08T10:00:00+00:00" in run.error, run.error
    kept = [before] if earlier else []
    for parameter in ("PM2.5", "PM10", "O3"):
        assert [p[0] for p in points(isolated, database, parameter)] == kept, parameter
    if earlier:
        assert points(isolated, database, "overall") == [
            overall(before, pm25=50, pm10=20, ozone=30)
        ]
    else:
        assert points(isolated, database, "overall") == []
    entry, aqi = served(config, monkeypatch, HOUR + timedelta(minutes=51))
    if earlier:
        assert entry["time"] == before.isoformat(), entry
        assert (entry["value"]["aqi"], entry["value"]["pm10"]) == (50.0, 20.0), entry
        # the last good answer's fetch: stale as that answer is (its cache time, its hour's age)
        assert entry["fetched_at"] == (HOUR + timedelta(minutes=35)).isoformat(), entry
        assert float(aqi.state) == 50.0 and aqi.attributes["pm10"] == 20.0
    else:
        assert entry["value"] is None, entry
        assert aqi.state is None and "pm10" not in aqi.attributes, aqi  # unavailable in HA


def test_every_value_withdrawn_says_so_not_no_answer_yet(
    isolated, settings, replay_server, monkeypatch
):
    # 10:35Z: every pollutant of 03:00 PDT (10Z), PM10 80 the worst. 10:50Z: AQI -1 for all
    # three. Nothing is left to serve; the API, the status page (its message) and Home
    # Assistant's reason said "no answer yet (see its last run)", and the run "served instead:
    # nothing (no earlier answer)", though AirNow had answered twice.
    config = seattle(replay_server)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(PM10=moderate(80)), times=1)
    gone = rows(PM2_5=WITHDRAWN, PM10=WITHDRAWN, O3=WITHDRAWN)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=gone, times=1)
    collect(config, settings, HOUR + timedelta(minutes=35))
    run = every_value_withdrawn(config, settings, HOUR + timedelta(minutes=50))

    entry, aqi = served(config, monkeypatch, HOUR + timedelta(minutes=51))

    said = (
        "AirNow withdrew the observation of the hour starting 2026-10-08T03:00:00-07:00 (AQI -1, "
        "no value, for every pollutant) and no earlier one is stored for this location"
    )
    assert entry["value"] is None and entry["message"] == said, entry
    assert aqi.state is None and aqi.attributes["reason"] == said, aqi
    assert run.served == (
        "nothing: AirNow withdrew the observation of the hour starting 2026-10-08T10:00:00+00:00 "
        "(AQI -1, no value, for every pollutant) and no earlier one is stored for this location"
    ), run.served
