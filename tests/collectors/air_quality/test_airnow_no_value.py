"""An AirNow answer where one pollutant's row gives no AQI (null, missing, not a number) keeps
the other pollutants: they are written and served, the overall their maximum, and the one
without a value is left out, named (a WARNING, the run's note, the value's `no_value`) and
asked for again once at :55, as a pollutant AirNow has not published for the hour yet. Before,
the whole answer was refused as malformed: no point of the hour, the last answer served.
Every row without a value is no data. Beat's runs go through the real pipeline, the replay
server (the documented shapes of external_apis.md §8), InfluxDB, GET /api/enrichment/current
and Home Assistant's states.
"""

import copy
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors import pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, beat_runs, observed_in
from tests.support import configs
from tests.support.air_quality import served

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
CLASSIC_PATH = "/aq/observation/latLong/current/"
SEATTLE = ("Seattle", 47.6021, -122.3290, "Seattle-Bellevue-Kent Valley", "47.60,-122.33")
LA = ("Los Angeles", 34.0663, -118.2266, "Central LA CO", "34.07,-118.23")
# What one pollutant's row gives instead of an AQI, and how the log names it (...: no such key)
NO_AQI = {
    "null": (None, "null"),
    "missing": (..., "missing"),
    "text": ("N/A", "'N/A', not a number"),
}


def classic_in(server, hour: datetime) -> list[dict]:
    """The documented classic answer (observation_classic.json: O3 37, PM2.5 104, PM10 27 in
    Central LA) as observed in `hour`, on Los Angeles' clock."""
    rows = server.load_fixture("airnow/observation_classic.json")
    local = hour.astimezone(ZoneInfo("America/Los_Angeles"))
    for row in rows:
        row |= {"DateObserved": f"{local.date().isoformat()} ", "HourObserved": local.hour,
                "LocalTimeZone": local.tzname()}  # fmt: skip
    return rows


def without(rows: list[dict], parameter: str, key: str, given) -> list[dict]:
    """`rows` with `parameter`'s AQI (`key`) replaced by `given` (... : the key left out)."""
    rows = copy.deepcopy(rows)
    [row] = [r for r in rows if r.get("parameterName", r.get("ParameterName")) == parameter]
    if given is ...:
        del row[key]
    else:
        row[key] = given
    return rows


def stored(influx, database: str, where: tuple[str, str]) -> dict:
    """Every air_quality point: {(time, parameter): (category, fields)}, each of the one area
    and lookup asked for (`where`)."""
    rows = list(influx.query(database, 'SELECT * FROM "air_quality" GROUP BY *'))
    fields = ("aqi", "category_number", "pm25", "pm10", "ozone")
    found = {}
    for r in rows:
        assert (r.tags["provider"], r.tags["location"], r.tags["lookup"]) == ("airnow", *where)
        values = {k: r.values[k] for k in fields if r.values.get(k) is not None}
        found[(r.time, r.tags["parameter"])] = (r.tags["category"], values)
    assert len(rows) == len(found)  # one point per hour and parameter
    return found


@pytest.mark.parametrize("given", NO_AQI)
@pytest.mark.parametrize("classic", [False, True], ids=["current", "classic"])
def test_a_pollutant_with_no_aqi_is_left_out_and_the_others_are_kept(
    isolated, settings, replay_server, monkeypatch, caplog, classic, given
):
    name, lat, lon, area, lookup = LA if classic else SEATTLE
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) + HOUR  # "10:00"
    # 10:35: ozone's row of 10:00 gives no AQI; 10:55: AirNow has its value (80)
    if classic:  # O3 (row 0) 37, PM2.5 104 (USG), PM10 27; the current service is not served
        key, rows = "AQI", classic_in(replay_server, hour)
        later = without(rows, "O3", key, 80)
        [o3] = [r for r in later if r["ParameterName"] == "O3"]
        o3["Category"] = {"Number": 2, "Name": "Moderate"}
        replay_server.add("GET", AIRNOW_CURRENT_PATH, status=404)
        path, index = CLASSIC_PATH, 0
        worst, pm10_aqi = (104.0, "Unhealthy for Sensitive Groups", 3), 27.0
    else:  # PM2.5 62 (Moderate), O3 (row 1) 35, PM10 20
        key, rows = "nowcastAQI", observed_in(replay_server, hour)
        later = without(rows, "O3", key, 80)
        [o3] = [r for r in later if r["parameterName"] == "O3"]
        o3["aqiCategoryName"] = "Moderate"
        path, index = AIRNOW_CURRENT_PATH, 1
        worst, pm10_aqi = (62.0, "Moderate", 2), 20.0
    value, said = NO_AQI[given]
    site = Site.objects.create(name=name, latitude=lat, longitude=lon,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url)
    caplog.set_level(logging.INFO, logger="collectors")
    answers = [without(rows, "O3", key, value), later]

    calls, runs = [], beat_runs(hour, hour + HOUR)  # 10:35, 10:55
    for moment, answer in zip(runs, answers, strict=True):
        replay_server.add("GET", path, json=answer, times=1)
        for chosen in tasks.configs_by_target("air_quality").values():  # the dispatch's collects
            pipeline.collect(chosen, now=moment, dispatched=moment)
        calls.append(len(replay_server.calls("GET", path)))
        if moment == runs[0]:
            first_run = CollectorRun.objects.latest("id")
            first = stored(isolated, settings.INFLUXDB_DATABASE, (area, lookup))
            first_served = served(config, monkeypatch, moment + timedelta(minutes=1))

    # 10:35: PM2.5 and PM10 written and served, the overall their maximum, ozone in neither
    aqi, category, number = worst
    pm25, pm10 = {"aqi": aqi, "category_number": number}, {"aqi": pm10_aqi, "category_number": 1}
    overall = {"aqi": aqi, "category_number": number, "pm25": aqi, "pm10": pm10_aqi}
    assert first == {
        (hour, "PM2.5"): (category, pm25),
        (hour, "PM10"): ("Good", pm10),
        (hour, "overall"): (category, overall),
    }
    assert first_run.status == "ok"
    hour_said = f"{(hour.astimezone(ZoneInfo('America/Los_Angeles'))):%Y-%m-%d %H:00 %Z}"
    note = f"observation {index} (O3) of {hour_said} left out: {key} {said} (no value)"
    assert note in first_run.error
    [logged] = [r for r in caplog.records if r.name == "collectors.air_quality.observations"]
    assert (logged.levelname, logged.getMessage()) == (
        "WARNING",
        f"airnow: {note}; the other observations are kept",
    )
    entry, entity = first_served
    assert entry["time"] == hour.isoformat() and entry["stale"] is False
    assert {k: entry["value"].get(k) for k in ("aqi", "pm25", "pm10", "ozone", "no_value")} == {
        "aqi": aqi,
        "pm25": aqi,
        "pm10": pm10_aqi,
        "ozone": None,
        "no_value": ["O3"],
    }
    assert float(entity.state) == aqi and entity.attributes["pm10"] == pm10_aqi
    assert "ozone" not in entity.attributes and "reason" not in entity.attributes

    # 10:55: asked again once (ozone not published for 10:00 yet): its 80 and the overall
    assert calls == [1, 2]
    ozone = {"aqi": 80.0, "category_number": 2}
    assert stored(isolated, settings.INFLUXDB_DATABASE, (area, lookup)) == {
        (hour, "PM2.5"): (category, pm25),
        (hour, "PM10"): ("Good", pm10),
        (hour, "O3"): ("Moderate", ozone),
        (hour, "overall"): (category, overall | {"aqi": max(aqi, 80.0), "ozone": 80.0}),
    }
    entry, entity = served(config, monkeypatch, runs[1] + timedelta(minutes=1))
    assert entry["value"]["ozone"] == 80.0 and "no_value" not in entry["value"]
    assert entity.attributes["ozone"] == 80.0


def test_every_pollutant_with_no_aqi_is_no_data(isolated, settings, replay_server):
    name, lat, lon, area, lookup = SEATTLE
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows = observed_in(replay_server, hour)
    for parameter in ("PM2.5", "O3", "PM10"):
        rows = without(rows, parameter, "nowcastAQI", None)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows)
    site = Site.objects.create(name=name, latitude=lat, longitude=lon,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url)

    run = pipeline.collect(config, now=hour + timedelta(minutes=35))

    assert run.status == "no_data"
    assert "AirNow returned no usable observation (skipped observation 0 (PM2.5) of" in run.error
    assert all(f"({p}) of" in run.error for p in ("O3", "PM10"))
    assert list(isolated.query(settings.INFLUXDB_DATABASE, 'SELECT * FROM "air_quality"')) == []
