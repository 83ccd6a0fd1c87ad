"""Two Home Assistant instances writing one entity into one database (a house and a cabin told
apart by the InfluxDB integration's global `tags:`), in both layouts of the real InfluxDB:
discovery names the entity and the tag; a tag added mid-history, or an area changed and
changed back, is one writer and says nothing. T0 = 2024-03-04 00:00 UTC."""

import pytest

from retention.entities.discovery import discover
from retention.entities.tasks import discover_entities
from retention.models import Entity
from tests.retention.conftest import ingestor_readings, official_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

WRITERS = {"official": official_readings, "ingestor": ingestor_readings}


def meter(start: float, points: range, first: float, step: float) -> list[tuple]:
    return [(start + 600 * i, first + step * i) for i in points]


def test_two_instances_tagged_apart_are_named_with_their_tag(ha_db, layout, settings, caplog):
    write = WRITERS[layout]
    house = meter(30, range(36), 12000.0, 0.5)  # every 10 min from 00:00:30 to 05:50:30
    cabin = meter(330, range(36), 300.0, 0.1)  # five minutes later each
    ha_db.write(write("sensor.energy_total", house, unit="kWh", extra_tags={"instance": "house"}))
    ha_db.write(write("sensor.energy_total", cabin, unit="kWh", extra_tags={"instance": "cabin"}))
    ha_db.write(write("sensor.fridge_power", [(0, 80.0), (600, 0.0)], unit="W"))

    report = discover(layout=layout)

    assert report.created == 2 and Entity.objects.filter(entity_id="sensor.energy_total").exists()
    assert len(report.writers) == 1
    said = report.writers[0]
    assert said.startswith("sensor.energy_total: two writers at once, points tagged ")
    assert "instance='cabin'" in said and "instance='house'" in said
    assert "from 2024-03-04 00:05 to 2024-03-04 05:50 UTC" in said
    assert "HA_INFLUXDB_DATABASE" in said and "untick Tiered" in said
    assert f"\nWarning: {said}" in str(report)
    settings.HA_LAYOUT = layout  # the daily task: its result lists it, its log warns
    caplog.clear()
    assert discover_entities.run()["several_writers"] == [said]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [f"Entity discovery: {said}"]


def test_a_tag_added_mid_history_or_an_area_changed_back_is_one_writer(ha_db, layout):
    write = WRITERS[layout]
    # Home Assistant's `tags: {instance: house}` set at 03:00: a new series, one entity.
    ha_db.write(write("sensor.energy_total", meter(0, range(18), 100.0, 0.5), unit="kWh"))
    tagged = meter(0, range(18, 36), 100.0, 0.5)
    ha_db.write(write("sensor.energy_total", tagged, unit="kWh", extra_tags={"instance": "house"}))
    # A tag that changed and changed back (an area, a tags_attributes name): the second span
    # lies inside the first, without points of the first inside it.
    room = {"room": "Kitchen"}
    ha_db.write(write("sensor.kettle_power", [(0, 5.0), (600, 6.0)], unit="W", extra_tags=room))
    hall = {"room": "Hall"}
    ha_db.write(write("sensor.kettle_power", [(1200, 7.0), (1800, 8.0)], unit="W", extra_tags=hall))
    ha_db.write(write("sensor.kettle_power", [(2400, 9.0)], unit="W", extra_tags=room))
    # A tag set for an hour and taken away: a series of fewer tags around one of more.
    guest = {"guest": "on"}
    ha_db.write(write("sensor.oven_power", [(0, 1.0), (600, 2.0), (4200, 3.0)], unit="W"))
    ha_db.write(
        write(
            "sensor.oven_power", [(1200, 4.0), (1500, 4.5), (1800, 5.0)], unit="W", extra_tags=guest
        )
    )

    report = discover(layout=layout)

    assert report.created == 3 and report.writers == []
    assert "Warning" not in str(report)
