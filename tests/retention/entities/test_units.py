"""Conversions between the units Home Assistant writes: a factor for power and energy (and a
weather entity's pressure, wind speed and visibility), an affine map for temperatures (HA
spells them °C, °F, K); no conversion for an unknown pair."""

import logging
from datetime import UTC, datetime

import pytest

from retention.entities.samples import Sample
from retention.entities.units import (
    NONE,
    SAME,
    Convert,
    Units,
    converted,
    converter,
    official_units,
)
from retention.models import Entity

T = datetime(2024, 3, 4, tzinfo=UTC)


def test_conversions_between_units():
    assert converter("numeric", "°F", "°C")(68.0) == 20.0
    assert converter("numeric", "°C", "°F")(20.0) == 68.0
    assert converter("numeric", "°C", "K")(20.0) == pytest.approx(293.15)
    assert converter("numeric", "K", "°C")(293.15) == pytest.approx(20.0)
    assert converter("numeric", "°F", "K")(68.0) == pytest.approx(293.15)
    assert converter("numeric", "K", "°F")(293.15) == pytest.approx(68.0)
    assert converter("numeric", "°C", "°C") is SAME
    # Power and energy keep their factors; an unknown pair is no conversion (read unconverted).
    assert converter("power", "kW", "W") == Convert(scale=1000.0)
    assert converter("energy", "Wh", "kWh")(2500.0) == 2.5
    assert converter("numeric", "km/h", "m/s") is None
    assert converter("power", "°F", "W") is None
    assert converter("text", "°F", "°C") is None


def _thermometer(entity_id: str, now: str, older: str) -> Entity:
    series = [{"measurement": older, "unit": older}, {"measurement": now, "unit": now}]
    return Entity(entity_id=entity_id, kind="numeric", unit=now, layout="official",
                  measurement=now, series=series)  # fmt: skip


def test_each_point_is_read_in_the_unit_home_assistant_writes_now():
    units = Units(_thermometer("sensor.hall_temperature", "°C", "°F"))
    assert units.convert("°F")(68.0) == 20.0  # an older measurement's unit
    assert units.convert("sensor.hall_temperature", "°F")(50.0) == 10.0  # a point's own unit
    assert units.convert("°C") is SAME
    registered = Entity(entity_id="sensor.attic_temperature", kind="numeric", unit="°C",
                        layout="official", measurement="°C")  # fmt: skip
    assert Units(registered).convert("°F") is SAME  # nothing recorded: the registry's unit


def test_an_unknown_unit_is_read_unconverted_and_said_once(caplog):
    units = Units(_thermometer("sensor.wind_speed_test_units", "m/s", "km/h"))
    with caplog.at_level(logging.WARNING, logger="retention.entities.units"):
        assert units.convert("km/h") is SAME
        assert (
            Units(_thermometer("sensor.wind_speed_test_units", "m/s", "km/h")).convert("km/h")
            is SAME
        )
    [record] = caplog.records
    assert record.getMessage().startswith(
        "sensor.wind_speed_test_units: points written in 'km/h' are read unconverted"
    )


def test_conversions_of_weather_quantities():
    # The factors of Home Assistant's unit_conversion (an inch of mercury is 33.8639 hPa).
    assert converter("temperature", "°F", "°C")(68.0) == 20.0
    assert converter("pressure", "inHg", "hPa")(30.0) == pytest.approx(1015.9166, abs=1e-4)
    assert converter("pressure", "hPa", "mmHg")(1013.25) == pytest.approx(760.0, abs=1e-2)
    assert converter("pressure", "mbar", "hPa") == Convert(scale=1.0)
    assert converter("speed", "mph", "km/h")(10.0) == pytest.approx(16.09344)
    assert converter("speed", "kn", "m/s")(1.0) == pytest.approx(1852 / 3600)
    assert converter("speed", "km/h", "ft/s")(1.09728) == pytest.approx(1.0)
    assert converter("length", "mi", "km")(10.0) == pytest.approx(16.09344)
    assert converter("speed", "Beaufort", "km/h") is None  # not linear
    assert converter("pressure", "°F", "hPa") is None


def _weather(units: dict[str, str], older: dict | None = None) -> Entity:
    series = [{"measurement": "weather.home", "unit": "", "units": units}]
    if older is not None:
        series.insert(0, {"measurement": "weather", "unit": "", "units": older})
    return Entity(entity_id="weather.home", kind="weather", layout="official",
                  measurement="weather.home", series=series)  # fmt: skip


METRIC = {"temperature_unit": "°C", "pressure_unit": "hPa", "wind_speed_unit": "km/h",
          "visibility_unit": "km"}  # fmt: skip


def test_weather_attributes_are_read_in_the_units_of_the_newest_point():
    units = Units(_weather(METRIC, older={"temperature_unit": "°F"}))
    written = {"temperature_unit": "°F", "pressure_unit": "inHg", "wind_speed_unit": "mph",
               "visibility_unit": "km"}  # fmt: skip
    converts = units.attributes("weather.home", written)
    assert set(converts) == {"temperature", "apparent_temperature", "dew_point", "pressure",
                             "wind_speed", "wind_gust_speed"}  # fmt: skip
    sample = Sample(T, None, "sunny", {"temperature": 68.0, "dew_point": 50.0, "humidity": 52.0,
                                       "pressure": 30.0, "visibility": 10.0})  # fmt: skip
    assert converted(sample, SAME, converts).attributes == {
        "temperature": 20.0, "dew_point": 10.0, "humidity": 52.0,
        "pressure": pytest.approx(1015.9166, abs=1e-4), "visibility": 10.0,
    }  # fmt: skip
    assert units.attributes("weather.home", METRIC) is NONE
    # A point without unit attributes: its measurement's recorded units, else as it is.
    assert units.attributes("weather.home", {}) is NONE
    older = units.attributes("weather", {})  # the older measurement's °F
    assert set(older) == {"temperature", "apparent_temperature", "dew_point"}
    assert older["temperature"](68.0) == 20.0
    # The official layout's fields; an entity discovery recorded no units for converts none.
    fields = {"temperature": 68.0, "temperature_unit_str": "°F", "state": "sunny"}
    assert official_units(fields)["temperature_unit"] == "°F"
    assert units.official("weather.home", fields)[1]["temperature"](68.0) == 20.0
    registered = Entity(entity_id="weather.home", kind="weather", layout="official",
                        measurement="weather.home")  # fmt: skip
    assert Units(registered).official("weather.home", fields) == (SAME, NONE)


def test_a_weather_unit_without_conversion_is_read_unconverted_and_said_once(caplog):
    with caplog.at_level(logging.WARNING, logger="retention.entities.units"):
        for _ in range(2):
            units = Units(_weather({**METRIC, "wind_speed_unit": "m/s"}))
            assert units.attributes("weather.home", {"wind_speed_unit": "Beaufort"}) is NONE
    [record] = caplog.records
    assert record.getMessage().startswith(
        "weather.home: points written in 'Beaufort' are read unconverted, as if in 'm/s'"
    )
