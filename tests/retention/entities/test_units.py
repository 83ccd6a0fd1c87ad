"""Conversions between the units Home Assistant writes: a factor for power and energy, an
affine map for temperatures (HA spells them °C, °F, K); no conversion for an unknown pair."""

import logging

import pytest

from retention.entities.units import SAME, Convert, Units, converter
from retention.models import Entity


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
