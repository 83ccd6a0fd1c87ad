"""A unit switch in Home Assistant after some days were already reduced to hourly rows: the
rows of before hold readings in the old unit, the raw points of after in the new one. The rows
record the unit they were computed in, and everything that reads them (the series API, the
hourly tier carrying the last hour into the next day, the daily tier composing hours) reads
them in the unit of now, so the history stays in one unit.

Official layout (reference/ha_influx_schema.md): a temperature sensor's °C points in the
measurement `°C` until the hourly tier ran (its raw points deleted), then °F points in `°F`;
a weather entity's metric attributes (`temperature_unit_str` "°C", ...) in `weather.home`,
then imperial ones. 20 °C is 68 °F; 16.09 km/h is 10 mph. Before, the °C hours were given as
°F (20 "°F" next to 68 °F), and the next day's first hours, carried in from the last °C
hour, said 20 in a °F day.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from retention.entities.discovery import discover
from retention.models import Entity
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0, HaDatabase, official_readings
from tests.support import late_archive
from tests.support.api import series_answer, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
D1, D2 = T0.date(), (T0 + DAY).date()
LIVING = "sensor.living_room_temperature"
WEATHER = "weather.home"
METRIC = {"temperature_unit": "°C", "pressure_unit": "hPa", "wind_speed_unit": "km/h",
          "visibility_unit": "km"}  # fmt: skip
IMPERIAL = {"temperature_unit": "°F", "pressure_unit": "inHg", "wind_speed_unit": "mph",
            "visibility_unit": "mi"}  # fmt: skip


def _hourly(day) -> None:
    run = tiers.downsample_hourly(day, day + timedelta(days=1))
    assert run.status == "ok", run.errors


def _daily(first, last) -> None:
    run = tiers.downsample_daily(first, last + timedelta(days=1))
    assert run.status == "ok", run.errors


def _switched_to_fahrenheit(ha_db: HaDatabase) -> None:
    """A °C day tiered (hourly rows, raw points deleted), then a °F day written raw."""
    celsius = [(T0, 20.0), (T0 + 12 * HOUR, 20.0)]
    ha_db.write(official_readings(LIVING, celsius, unit="°C", device_class="temperature"))
    discover(ha_db.name, "official")
    _hourly(D1)
    fahrenheit = [(T0 + DAY + 6 * HOUR, 68.0), (T0 + DAY + 12 * HOUR, 77.0)]
    ha_db.write(official_readings(LIVING, fahrenheit, unit="°F", device_class="temperature"))
    discover(ha_db.name, "official")
    assert Entity.objects.get(entity_id=LIVING).unit == "°F"


def test_the_series_of_a_temperature_switched_after_its_hours_were_tiered_is_in_fahrenheit(
    ha_db: HaDatabase,
):
    _switched_to_fahrenheit(ha_db)
    api = token_client("ha-fahrenheit")

    answer = series_answer(api, LIVING, T0, T0 + 2 * DAY)
    assert answer["unit"] == "°F"
    hourly, raw = answer["segments"]
    assert (hourly["resolution"], raw["resolution"]) == ("hourly", "raw")
    for point in hourly["points"]:  # was 20 (°C) under "unit": "°F"
        values = [point[name] for name in ("avg_value", "min_value", "max_value", "last_value")]
        assert values == [pytest.approx(68.0)] * 4
    assert [p["value"] for p in raw["points"]] == [68.0, 77.0]


def test_the_tiers_carry_and_compose_hours_computed_before_a_switch_in_the_unit_of_now(
    ha_db: HaDatabase,
):
    _switched_to_fahrenheit(ha_db)
    _hourly(D2)  # its first six hours hold the last °C hour's reading, carried in
    hours = read_rows(HOURLY_RP, T0 + DAY, T0 + 2 * DAY)[LIVING]
    means = [row.fields["avg_value"] for row in hours]
    assert means == pytest.approx([68.0] * 12 + [77.0] * 12)  # was 20 for the first six
    assert {row.fields["unit"] for row in hours} == {"°F"}

    _daily(D1, D2)  # the °C day's hours composed in °F
    days = read_rows(DAILY_RP, T0, T0 + 2 * DAY)[LIVING]
    assert [row.fields["avg_value"] for row in days] == pytest.approx([68.0, 72.5])
    assert [row.fields["min_value"] for row in days] == pytest.approx([68.0, 68.0])
    assert [row.fields["unit"] for row in days] == ["°F", "°F"]
    answer = series_answer(token_client("ha-fahrenheit"), LIVING, T0, T0 + 2 * DAY)
    [daily] = answer["segments"]
    assert daily["resolution"] == "daily"
    assert [p["avg_value"] for p in daily["points"]] == pytest.approx([68.0, 72.5])
    assert all("unit" not in point for point in daily["points"])  # the answer's "unit" says it


def test_a_weather_entity_switched_to_imperial_after_its_hours_were_tiered_reads_in_imperial(
    ha_db: HaDatabase,
):
    metric = {"temperature": 20.0, "wind_speed": 16.09344, "humidity": 50.0, **METRIC}
    imperial = {"temperature": 68.0, "wind_speed": 10.0, "humidity": 50.0, **IMPERIAL}
    ha_db.write(official_readings(WEATHER, [(T0, "sunny", metric)]))
    discover(ha_db.name, "official")
    _hourly(D1)
    ha_db.write(official_readings(WEATHER, [(T0 + DAY + 12 * HOUR, "sunny", imperial)]))
    discover(ha_db.name, "official")

    answer = series_answer(token_client("ha-imperial"), WEATHER, T0, T0 + 2 * DAY)
    assert answer["attribute_units"]["temperature"] == "°F"
    hourly, raw = answer["segments"]
    for point in hourly["points"]:  # was 20 and 16.09 under °F and mph
        assert point["temperature_mean"] == pytest.approx(68.0)
        assert point["wind_speed_mean"] == pytest.approx(10.0)
        assert point["humidity_mean"] == 50.0
    assert raw["points"][0]["attributes"]["temperature"] == 68.0

    _hourly(D2)
    hours = read_rows(HOURLY_RP, T0 + DAY, T0 + 2 * DAY)[WEATHER]
    assert [row.fields["temperature_mean"] for row in hours] == pytest.approx([68.0] * 24)
    assert [row.fields["wind_speed_mean"] for row in hours] == pytest.approx([10.0] * 24)
    _daily(D1, D2)
    days = read_rows(DAILY_RP, T0, T0 + 2 * DAY)[WEATHER]
    assert [row.fields["temperature_unit"] for row in days] == [
        "°F",
        "°F",
    ]  # computed in the units of now
    answer = series_answer(token_client("ha-imperial-2"), WEATHER, T0, T0 + 2 * DAY)
    [daily] = answer["segments"]
    assert [p["temperature_mean"] for p in daily["points"]] == pytest.approx([68.0, 68.0])


def test_a_late_point_of_a_day_tiered_before_a_unit_switch_is_folded_in_the_unit_of_now(
    ha_db: HaDatabase,
):
    ha_db.write(official_readings(LIVING, [(T0, 20.0)], unit="°C", device_class="temperature"))
    discover(ha_db.name, "official")
    _hourly(D1)
    after = [(T0 + DAY, 68.0)]
    ha_db.write(official_readings(LIVING, after, unit="°F", device_class="temperature"))
    discover(ha_db.name, "official")
    # A point of the °C day arriving late (a sensor that buffered it): 25 °C is 77 °F.
    late = [(T0 + 18 * HOUR + 30 * timedelta(minutes=1), 25.0)]
    ha_db.write(official_readings(LIVING, late, unit="°C", device_class="temperature"))

    run = tiers.downsample_hourly(D1, D2)
    assert run.status == "ok", run.errors
    assert run.details["late_points"] == 1
    [row] = read_rows(HOURLY_RP, T0 + 18 * HOUR, T0 + 19 * HOUR)[LIVING]
    # Was min 20 (the row's °C) and max 77 (the late point in °F) in one row.
    assert (row.fields["min_value"], row.fields["max_value"]) == (68.0, 77.0)
    assert (row.fields["sample_count"], row.fields["unit"]) == (1, "°F")


def test_a_unit_corrected_in_the_admin_after_the_hours_were_tiered_relabels_them(
    ha_db: HaDatabase,
):
    # An integration that labels its °F readings °C: a person corrects the unit in the admin
    # once its first day is hourly rows. Home Assistant still writes "°C"; the raw points are
    # read in the registry's °F as they are, and so are the rows (not converted to 154.4).
    labelled = [(T0, 68.0), (T0 + 12 * HOUR, 68.0)]
    ha_db.write(official_readings(LIVING, labelled, unit="°C", device_class="temperature"))
    discover(ha_db.name, "official")
    _hourly(D1)
    Entity.objects.filter(entity_id=LIVING).update(unit="°F", edited=True)
    later = [(T0 + DAY + 6 * HOUR, 70.0)]
    ha_db.write(official_readings(LIVING, later, unit="°C", device_class="temperature"))
    discover(ha_db.name, "official")
    assert Entity.objects.get(entity_id=LIVING).unit == "°F"  # the person's word holds

    answer = series_answer(token_client("ha-corrected"), LIVING, T0, T0 + 2 * DAY)
    assert answer["unit"] == "°F"
    hourly, raw = answer["segments"]
    assert {p["avg_value"] for p in hourly["points"]} == {68.0}
    assert [p["value"] for p in raw["points"]] == [70.0]
    _hourly(D2)
    hours = read_rows(HOURLY_RP, T0 + DAY, T0 + 2 * DAY)[LIVING]
    assert [row.fields["avg_value"] for row in hours] == [68.0] * 6 + [70.0] * 18
    assert {(row.fields["unit"], row.fields["unit_written"]) for row in hours} == {("°F", "°C")}


@pytest.mark.parametrize(
    ("entity_id", "before", "after", "kind", "read"),
    [
        (LIVING, [(0, 20.0)], [(12, 68.0, "°F")], "numeric", ("°C", [20.0, 20.0])),
        ("sensor.heater_power", [(0, 500.0)], [(12, 2.0, "kW")], "power", ("W", [500.0, 2000.0])),
    ],
)
def test_a_person_who_only_renamed_an_entity_keeps_no_stale_unit_after_a_switch(
    ha_db: HaDatabase, entity_id, before, after, kind, read
):
    # A person renamed the sensor in the admin (edited: discovery keeps its name, kind, unit,
    # ...); Home Assistant then switched its unit. The unit kept was Home Assistant's own,
    # not a correction: discovery follows the switch, and every point reads in one unit. It
    # kept the old unit, so the new points were read in it unconverted (68 "°C" after 20 °C;
    # 2 kW as 2 W).
    unit = read[0]
    points = [(T0 + hours * HOUR, value) for hours, value in before]
    ha_db.write(official_readings(entity_id, points, unit=unit, device_class=""))
    discover(ha_db.name, "official")
    Entity.objects.filter(entity_id=entity_id).update(friendly_name="Renamed", edited=True)
    for hours, value, new_unit in after:
        ha_db.write(official_readings(entity_id, [(T0 + hours * HOUR, value)], unit=new_unit))
    discover(ha_db.name, "official")

    entity = Entity.objects.get(entity_id=entity_id)
    assert (entity.friendly_name, entity.kind) == ("Renamed", kind)
    answer = series_answer(token_client(f"ha-renamed-{kind}"), entity_id, T0, T0 + DAY)
    [raw] = answer["segments"]
    if kind == "numeric":  # the temperature in °F now, its °C history converted
        assert (answer["unit"], [p["value"] for p in raw["points"]]) == ("°F", [68.0, 68.0])
    else:  # power is always W: the kW point converted
        assert (entity.unit, [p["value"] for p in raw["points"]]) == ("kW", read[1])


def test_a_late_point_of_an_archived_day_before_a_switch_is_folded_in_the_unit_of_now(
    tier, local_archive
):
    # A °C day of 2022 went hourly, daily, into the archive (its daily row deleted from
    # InfluxDB); the sensor is °F since. A buffered °C point of that day arrives: the
    # archive's row (recorded in °C) meets it in °F.
    day = late_archive.T
    ha = late_archive.discovered_day(
        tier, official_readings(LIVING, [(day, 20.0)], unit="°C", device_class="temperature")
    )
    archived = late_archive.archived(LIVING)
    assert archived["avg_value"] == 20.0
    ha.write(official_readings(LIVING, [(T0, 68.0)], unit="°F", device_class="temperature"))
    discover(ha.name, "official")
    late = [(day + 12 * HOUR, 25.0)]  # 77 °F
    ha.write(official_readings(LIVING, late, unit="°C", device_class="temperature"))

    run = tiers.downsample_hourly(day.date(), day.date() + DAY)
    assert run.status == "ok", run.errors
    assert run.details["late_points"] == 1
    [row] = read_rows(DAILY_RP, day, day + DAY)[LIVING]  # the archive's row, folded in
    # Was min 20 (°C) and max 77 (°F) in one row.
    assert (row.fields["min_value"], row.fields["max_value"]) == (68.0, 77.0)
    assert (row.fields["avg_value"], row.fields["unit"]) == (68.0, "°F")
    assert archived["unit"] == "°C"  # the archive kept the unit its row was computed in
