"""The kind discovery gives an entity whose states mix numbers and text (real InfluxDB, both
layouts): Home Assistant's own rules first (a unit, a state class, a numeric device class or
mean numbers), then every state still in InfluxDB, never the newest one alone; and a
registered numeric or text entity keeps its kind while its states are mixed."""

import pytest

from enrich.influx import get_timeseries
from retention.entities.discovery import discover
from retention.models import Entity
from tests.retention.conftest import at

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def kinds(layout: str) -> dict[str, str]:
    discover(layout=layout)
    return dict(Entity.objects.values_list("entity_id", "kind"))


def test_a_sensor_that_measures_is_numeric_whatever_its_text_states(ha_db, layout):
    write = ha_db.write_entity
    # A unit says it measures: the integration's "error" states are not what it is.
    write(layout, "sensor.outdoor_humidity", [(0, "error"), (60, 55.0), (120, "error")], unit="%")
    # A state class without a unit (a count), or a numeric device class without one (AQI).
    counted = {"state_class": "measurement"}
    write(layout, "sensor.visitors", [(0, "n/a", counted), (60, 3, counted), (120, "n/a", counted)])
    write(layout, "sensor.air_quality", [(0, "error"), (60, 42), (120, "error")],
          device_class="aqi")  # fmt: skip
    # An enum sensor or one without any of these is text.
    write(layout, "sensor.washer_phase", [(0, "rinse"), (60, "spin")], device_class="enum")

    assert kinds(layout) == {
        "sensor.outdoor_humidity": "numeric",
        "sensor.visitors": "numeric",
        "sensor.air_quality": "numeric",
        "sensor.washer_phase": "text",
    }


def test_the_kind_comes_from_every_state_not_the_newest(ha_db, layout):
    write = ha_db.write_entity
    # Mostly numbers, with text states first and last (an integration's error, or on/off
    # written for a while): the numbers win, wherever the text ones are.
    write(layout, "sensor.modem_signal",
          [(0, "error"), (60, -70), (120, -71), (180, -69), (240, "error")])  # fmt: skip
    write(layout, "sensor.boiler_level", [(0, 3), (60, 4), (120, "on"), (180, "off")])
    # Numbers and only gaps: numeric.
    write(layout, "sensor.tank_level", [(0, 12), (60, "unavailable"), (120, "unknown")])
    # Mostly text with a number among it: text.
    write(layout, "sensor.washer_status", [(0, "idle"), (60, "0"), (120, "washing"),
                                           (180, "idle")])  # fmt: skip
    # on/off only, not a binary domain: text, the same in both layouts (the official layout
    # writes a value 1/0 with the state, the HA Ingestor only the state).
    write(layout, "sensor.heating_mode", [(0, "on"), (60, "off")])

    assert kinds(layout) == {
        "sensor.modem_signal": "numeric",
        "sensor.boiler_level": "numeric",
        "sensor.tank_level": "numeric",
        "sensor.washer_status": "text",
        "sensor.heating_mode": "text",
    }


def test_a_registered_kind_does_not_flip_with_the_states_retention_keeps(ha_db, layout):
    """Retention deletes old raw points; text states written since must not turn a numeric
    sensor into a text one (its days would be aggregated under another kind than their late
    points), nor numbers a text sensor into a numeric one."""
    write = ha_db.write_entity
    write(layout, "sensor.pool_ph", [(0, 7.2), (60, 7.3), (120, 7.1)])
    write(layout, "sensor.printer_job", [(0, "idle"), (60, "printing"), (120, "idle")])
    assert kinds(layout) == {"sensor.pool_ph": "numeric", "sensor.printer_job": "text"}

    # The first days are downsampled and deleted; since then mostly text (numbers).
    get_timeseries().delete(ha_db.name, at(0), at(150))
    write(layout, "sensor.pool_ph", [(200, "error"), (260, 7.2), (320, "error"), (380, "error")])
    write(layout, "sensor.printer_job", [(200, "12"), (260, "40"), (320, "idle")])
    report = discover(layout=layout)

    assert kinds(layout) == {"sensor.pool_ph": "numeric", "sensor.printer_job": "text"}
    assert report.kinds == {"numeric": 1, "text": 1}

    # Only states of the other kind left: the entity did change (a new integration).
    get_timeseries().delete(ha_db.name, at(150), at(400))
    write(layout, "sensor.pool_ph", [(500, "calibrating"), (560, "offline")])
    write(layout, "sensor.printer_job", [(500, 3), (560, 4)])
    assert kinds(layout) == {"sensor.pool_ph": "text", "sensor.printer_job": "numeric"}


def test_a_registered_entity_seen_only_unavailable_keeps_its_kind(ha_db):
    """The HA Ingestor records unavailable states; a sensor unavailable all week is still
    numeric (the official layout writes nothing then: the entity keeps its points)."""
    ha_db.write_entity("ingestor", "sensor.soil_moisture", [(0, 31.0), (60, 30.5)])
    assert kinds("ingestor") == {"sensor.soil_moisture": "numeric"}
    get_timeseries().delete(ha_db.name, at(0), at(100))
    ha_db.write_entity("ingestor", "sensor.soil_moisture", [(200, "unavailable")])
    assert kinds("ingestor") == {"sensor.soil_moisture": "numeric"}


def test_a_default_measurement_is_not_taken_for_a_unit(ha_db):
    """HA's `default_measurement: state` puts every entity without a unit into the measurement
    `state`: that is no unit (a binary sensor there shows it), and no reason to be numeric."""
    write = ha_db.write_entity
    write("official", "binary_sensor.hall_pir", [(0, "off"), (60, "on")], measurement="state")
    write("official", "sensor.washer_status", [(0, "idle"), (60, "washing")], measurement="state")
    write("official", "sensor.uptime_ticks", [(0, 12), (60, 13)], measurement="state")
    write("official", "sensor.fridge_power", [(0, 80.0)], unit="W")

    discover(layout="official")

    found = {e.entity_id: (e.kind, e.unit) for e in Entity.objects.all()}
    assert found == {
        "binary_sensor.hall_pir": ("binary", ""),
        "sensor.washer_status": ("text", ""),
        "sensor.uptime_ticks": ("numeric", ""),
        "sensor.fridge_power": ("power", "W"),
    }


def test_a_default_measurement_of_sensors_only_is_not_taken_for_a_unit(ha_db, settings):
    """`default_measurement` holding only sensors: one with text states (HA refuses those of
    a sensor with a unit), or a text device class, says it is no unit; with only numbers, the
    configured HA_DEFAULT_MEASUREMENT does. Real units, also custom ones, stay units."""
    write = ha_db.write_entity
    write("official", "sensor.washer_status", [(0, "idle"), (60, "washing")], measurement="state")
    write("official", "sensor.uptime_ticks", [(0, 12), (60, 13)], measurement="state")
    write("official", "sensor.last_boot", [(0, "2026-01-01T00:00:00+00:00")],
          device_class="timestamp", measurement="when")  # fmt: skip
    write("official", "sensor.boot_count", [(0, 7)], measurement="when")
    write("official", "sensor.door_opens", [(0, 3), (60, 4)], measurement="units")
    write("official", "sensor.daily_steps", [(0, 4000), (60, 5200)], measurement="steps")
    write("official", "sensor.fridge_power", [(0, 80.0)], unit="W")
    write("official", "sensor.room_temp", [(0, 21.5)], unit="°C")
    # `override_measurement: ha`: the unit is a field, an entity without one has none.
    write("official", "sensor.kettle_power", [(0, 5.0)], unit="W", measurement="ha")
    write("official", "sensor.reboots", [(0, 2)], measurement="ha")
    settings.HA_DEFAULT_MEASUREMENT = "units"

    discover(layout="official")

    unit_less = (
        "washer_status",
        "uptime_ticks",
        "last_boot",
        "boot_count",
        "door_opens",
        "reboots",
    )
    real = {"daily_steps": "steps", "fridge_power": "W", "room_temp": "°C", "kettle_power": "W"}
    expected = {
        f"sensor.{name}": unit for name, unit in {**dict.fromkeys(unit_less, ""), **real}.items()
    }
    assert dict(Entity.objects.values_list("entity_id", "unit")) == expected
