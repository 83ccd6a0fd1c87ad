"""A weather entity whose user switched Home Assistant from imperial to metric at noon is one
history in the units Home Assistant writes now: its attributes are converted by the unit
attributes recorded with each point (`temperature_unit`, `pressure_unit`, `wind_speed_unit`,
`visibility_unit`) before anything is aggregated.

The morning's 68 °F, 30 inHg, 10 mph and 10 mi are the afternoon's 20 °C, 1015.92 hPa,
16.09 km/h and 16.09 km, so every hourly row's and the daily row's `<attribute>_mean` is the
metric reading, and so is every raw point the series API gives. Before, the morning's numbers
were averaged with the afternoon's: the morning hours said 68, the day's temperature_mean 44.
Humidity has no unit and is left as it is. The API's `attribute_units` says so at every
resolution ({"temperature": "°C", ...}, keyed by the attribute name); a power entity's is {}.

Both layouts (reference/ha_influx_schema.md): the official integration writes every attribute
as a field (the units as `<name>_str` strings) to the measurement `weather.home`, which does
not change with the unit system; the HA Ingestor keeps them in each point's `attributes` JSON.
Discovery records the units of the newest point, the tiers and the API run against the real
InfluxDB.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from retention.entities.discovery import discover
from retention.models import Entity
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from tests.retention.conftest import T0, HaDatabase, ingestor_readings, official_readings
from tests.support.api import series_answer, token_client

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEATHER = "weather.home"
IMPERIAL = {"temperature_unit": "°F", "pressure_unit": "inHg", "wind_speed_unit": "mph",
            "visibility_unit": "mi", "precipitation_unit": "in"}  # fmt: skip
METRIC = {"temperature_unit": "°C", "pressure_unit": "hPa", "wind_speed_unit": "km/h",
          "visibility_unit": "km", "precipitation_unit": "mm"}  # fmt: skip
MORNING = {"temperature": 68.0, "dew_point": 50.0, "pressure": 30.0, "wind_speed": 10.0,
           "wind_gust_speed": 20.0, "visibility": 10.0, "humidity": 52.0, **IMPERIAL}  # fmt: skip
# The same weather as Home Assistant gives it in metric (rounded to 2 places, as HA does).
AFTERNOON = {"temperature": 20.0, "dew_point": 10.0, "pressure": 1015.92, "wind_speed": 16.09,
             "wind_gust_speed": 32.19, "visibility": 16.09, "humidity": 52.0, **METRIC}  # fmt: skip
NUMBERS = {name: value for name, value in AFTERNOON.items() if isinstance(value, float)}
# What GET /api/series says the attributes are in, at every resolution (humidity: no unit).
ATTRIBUTE_UNITS = {"temperature": "°C", "apparent_temperature": "°C", "dew_point": "°C",
                   "pressure": "hPa", "wind_speed": "km/h", "wind_gust_speed": "km/h",
                   "visibility": "km"}  # fmt: skip


@pytest.fixture(params=["official", "ingestor"])
def switched(request, ha_db: HaDatabase) -> Entity:
    """The weather entity of a home switched to metric at noon, written in the layout and
    registered by discovery."""
    points = [(T0 + hours * HOUR, "sunny", MORNING) for hours in (0, 6)]
    points += [(T0 + hours * HOUR, "sunny", AFTERNOON) for hours in (12, 18)]
    readings = official_readings if request.param == "official" else ingestor_readings
    ha_db.write(readings(WEATHER, points))
    discover(ha_db.name, request.param)
    return Entity.objects.get(entity_id=WEATHER)


def _metric(means: dict[str, float]) -> None:
    assert means == {name: pytest.approx(value, abs=0.01) for name, value in NUMBERS.items()}


def _means(fields: dict) -> dict[str, float]:
    return {name: fields[f"{name}_mean"] for name in NUMBERS}


@pytest.mark.django_db
@pytest.mark.influxdb
def test_a_switch_from_imperial_to_metric_is_one_weather_history_in_metric(switched: Entity):
    assert switched.kind == "weather"
    [series] = switched.series
    # The units of the newest point, of the attributes that have any (not precipitation's).
    assert series["units"] == {k: v for k, v in METRIC.items() if k != "precipitation_unit"}
    api = token_client("ha-weather")

    answer = series_answer(api, WEATHER, T0, T0 + DAY)
    assert (answer["unit"], answer["attribute_units"]) == ("", ATTRIBUTE_UNITS)
    [raw] = answer["segments"]  # nothing tiered yet
    assert raw["resolution"] == "raw"
    assert [p["time"] for p in raw["points"]] == [
        (T0 + hours * HOUR).isoformat() for hours in (0, 6, 12, 18)
    ]
    for point in raw["points"]:
        _metric(point["attributes"])

    run = tiers.downsample_hourly(T0.date(), T0.date() + DAY)
    assert run.status == "ok", run.errors
    assert run.records_processed == 4
    hours = read_rows(HOURLY_RP, T0, T0 + DAY)[WEATHER]
    assert [row.start for row in hours] == [T0 + n * HOUR for n in range(24)]
    for row in hours:
        _metric(_means(row.fields))
        assert row.fields["temperature_coverage_seconds"] == 3600
    answer = series_answer(api, WEATHER, T0, T0 + DAY)
    assert answer["attribute_units"] == ATTRIBUTE_UNITS
    [hourly] = answer["segments"]
    assert hourly["resolution"] == "hourly"
    assert [p["temperature_mean"] for p in hourly["points"]] == [pytest.approx(20.0)] * 24

    run = tiers.downsample_daily(T0.date(), T0.date() + DAY)
    assert run.status == "ok", run.errors
    [day] = read_rows(DAILY_RP, T0, T0 + DAY)[WEATHER]
    fields = {k: v for k, v in day.fields.items() if not is_own_field(k)}
    _metric(_means(fields))
    assert (fields["sample_count"], fields["coverage_seconds"]) == (4, 86400)
    answer = series_answer(api, WEATHER, T0, T0 + DAY)
    assert answer["attribute_units"] == ATTRIBUTE_UNITS
    [daily] = answer["segments"]
    assert daily["resolution"] == "daily"
    assert [p["temperature_mean"] for p in daily["points"]] == [pytest.approx(20.0)]


@pytest.mark.django_db
@pytest.mark.influxdb
def test_the_series_of_an_entity_without_attribute_units_says_none(ha_db: HaDatabase):
    ha_db.saved_entity("official", "sensor.fridge_power", [(0, 120.5), (60, 0)], unit="W")
    answer = series_answer(token_client("ha-power"), "sensor.fridge_power", T0, T0 + DAY)
    assert (answer["unit"], answer["attribute_units"]) == ("W", {})
