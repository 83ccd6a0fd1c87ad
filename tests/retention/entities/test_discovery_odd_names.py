"""Discovery with series Home Assistant's integration would not write, or names longer than the
registry's columns (found by fuzzing): one such entity made discovery raise, so no entity at
all was registered or updated. Real InfluxDB."""

import pytest

from enrich.readings import Reading
from retention.entities.discovery import discover
from retention.models import Entity
from tests.retention.conftest import T0

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def test_too_long_names_are_cut_or_skipped_and_the_rest_is_registered(ha_db):
    long_unit = "kilograms of CO2 per kilowatt hour"  # 34 characters, unit holds 32
    ha_db.write(
        [
            Reading(long_unit, {"value": 1.0}, T0, {"domain": "sensor", "entity_id": "co2"}),
            Reading("m" * 300, {"value": 2.0}, T0, {"domain": "sensor", "entity_id": "huge"}),
            Reading("W", {"value": 3.0}, T0, {"domain": "sensor", "entity_id": "x" * 300}),
            Reading("W", {"value": 4.0}, T0, {"domain": "sensor", "entity_id": "fine"}),
        ]
    )
    report = discover()
    assert sorted(Entity.objects.values_list("entity_id", flat=True)) == [
        "sensor.co2",
        "sensor.fine",
    ]
    co2 = Entity.objects.get(entity_id="sensor.co2")
    assert (co2.unit, co2.measurement) == (long_unit[:32], long_unit)
    assert len(report.skipped) == 2
    assert "measurement is 300 characters" in " ".join(report.skipped)
    assert "entity_id is 307 characters" in str(report)


def test_series_without_a_domain_or_entity_id_tag_are_not_entities(ha_db):
    ha_db.write(
        [
            Reading("W", {"value": 1.0}, T0, {"entity_id": "no_domain"}),
            Reading("W", {"value": 2.0}, T0, {"domain": "sensor"}),
            Reading("W", {"value": 3.0}, T0, {"domain": "sensor", "entity_id": "fine"}),
        ]
    )
    discover()
    assert list(Entity.objects.values_list("entity_id", flat=True)) == ["sensor.fine"]
