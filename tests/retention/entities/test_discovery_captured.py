"""Discovery of points exactly as a real Home Assistant (2024.3.3, its InfluxDB integration,
api_version 1) wrote them, captured from InfluxDB into
tests/fixtures/home_assistant/influx_tags_attributes.json with the integration's options
(`configuration` there): `tags_attributes` makes the friendly name and device class tags
instead of `*_str` fields, `default_measurement: state` holds the entities without a unit."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from enrich.readings import EPOCH, Reading
from retention.entities.discovery import discover
from retention.models import Entity

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

CAPTURED = Path(__file__).parents[2] / "fixtures/home_assistant/influx_tags_attributes.json"


def captured() -> tuple[list[Reading], dict[str, dict[str, str]]]:
    """The captured points as written (each field of InfluxDB's type: HA's numbers are floats)
    and the tags of each entity, by its full id."""
    data = json.loads(CAPTURED.read_text())
    readings, tags = [], {}
    for series in data["series"]:
        types = data["field_keys"][series["measurement"]]
        written = series["tags"]
        tags[f"{written['domain']}.{written['entity_id']}"] = written
        for point in series["points"]:
            fields = {
                key: float(value) if types[key] == "float" else value
                for key, value in point.items()
                if key != "time"
            }
            time = EPOCH + timedelta(microseconds=point["time"] // 1000)
            readings.append(Reading(series["measurement"], fields, time, written))
    return readings, tags


def test_attributes_home_assistant_writes_as_tags_are_discovered(ha_db, settings):
    settings.HA_DEFAULT_MEASUREMENT = "state"  # as docs/storage.md says to set it
    readings, tags = captured()
    ha_db.write(readings)

    discover(layout="official")

    registry = {e.entity_id: e for e in Entity.objects.all()}
    # The friendly name and device class of each are its tags (none for the text sensors).
    assert {key: (e.friendly_name, e.device_class) for key, e in registry.items()} == {
        key: (written["friendly_name"], written.get("device_class", ""))
        for key, written in tags.items()
    }
    kinds = {}
    for key, entity in sorted(registry.items()):
        kinds.setdefault(entity.kind, []).append(key.split(".", 1)[1])
    assert kinds == {
        "binary": ["hallway_motion", "kitchen_motion", "office_occupancy"],
        "energy": ["dishwasher_energy", "grid_import_energy"],
        "power": ["heat_pump_power", "house_power", "solar_power"],
        "numeric": ["living_room_temperature"],
        "text": ["fridge_plug_status", "washer_status"],
        "weather": ["home_weather"],
    }
    # The unit is the measurement, but where component_config's override_measurement names
    # it: a unit field there.
    units = {key: e.unit for key, e in registry.items() if e.unit}
    assert sorted(units.items()) == [
        ("sensor.dishwasher_energy", "Wh"), ("sensor.grid_import_energy", "kWh"),
        ("sensor.heat_pump_power", "kW"), ("sensor.house_power", "W"),
        ("sensor.living_room_temperature", "°C"), ("sensor.solar_power", "kW"),
    ]  # fmt: skip
    moved = {key: registry[key].measurement for key, unit in units.items()}
    assert {key: m for key, m in moved.items() if m != units[key]} == {
        "sensor.house_power": "house_power"
    }
