"""Which binary sensors without a device class hourly_room_activity counts, by their id or
name: "pir" only as a word of its own (hall_pir, "Hall PIR"), never inside another word
(filter_expiry, vampire, spiral)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retention import models
from retention.entities.discovery import discover
from retention.rollups.materialized import ACTIVITY, MaterializedViewManager, rebuild_view
from retention.rollups.rows import activity_sensors
from tests.retention.conftest import T0, HaDatabase, at

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)  # T0's day
AFTER = T0 + timedelta(days=3)
H = 3600
MIN = 60


def binary(entity_id: str, friendly_name: str = "") -> models.Entity:
    return models.Entity(entity_id=entity_id, kind="binary", area="hall", layout="official",
                         measurement=entity_id, friendly_name=friendly_name)  # fmt: skip


def test_pir_counts_only_as_a_word_of_the_id_or_name():
    picked = activity_sensors(
        [
            binary("binary_sensor.hall_pir"),
            binary("binary_sensor.pir"),
            binary("binary_sensor.pir_landing"),
            binary("binary_sensor.stairs_pir_2"),
            binary("binary_sensor.a", "Hall PIR"),
            binary("binary_sensor.b", "PIR.landing"),
            binary("binary_sensor.c", "Porch pir sensor"),
            # "pir" inside other words: not presence sensors.
            binary("binary_sensor.filter_expiry"),
            binary("binary_sensor.vampire_load"),
            binary("binary_sensor.spiral_staircase_light"),
            binary("binary_sensor.d", "Warranty expiring"),
            binary("binary_sensor.e", "Aspirator running"),
            binary("binary_sensor.pirate_flag"),
            # The other keywords stay parts of words as they are.
            binary("binary_sensor.hallmotion"),
            binary("binary_sensor.f", "Occupancy of the den"),
            binary("binary_sensor.g", "Hall movement"),
            binary("binary_sensor.desk_presence"),
        ]
    )
    assert sorted(e.entity_id for e in picked["hall"]) == [
        "binary_sensor.a",
        "binary_sensor.b",
        "binary_sensor.c",
        "binary_sensor.desk_presence",
        "binary_sensor.f",
        "binary_sensor.g",
        "binary_sensor.hall_pir",
        "binary_sensor.hallmotion",
        "binary_sensor.pir",
        "binary_sensor.pir_landing",
        "binary_sensor.stairs_pir_2",
    ]


def test_a_filter_expiry_sensor_does_not_fill_the_room_activity(ha_db: HaDatabase, layout: str):
    # A filter that is expired all day: were it counted, every hour would be fully occupied.
    ha_db.write_entity(layout, "binary_sensor.filter_expiry", [(-600, "on")])
    ha_db.write_entity(
        layout, "binary_sensor.vampire_load", [(-600, "off"), (3 * H, "on"), (4 * H, "off")]
    )
    # The hall's PIR, on 10:15-10:45.
    ha_db.write_entity(
        layout, "binary_sensor.hall_pir",
        [(-600, "off"), (10 * H + 15 * MIN, "on"), (10 * H + 45 * MIN, "off")],
    )  # fmt: skip
    discover(layout=layout)
    models.Entity.objects.update(area="hall")  # the official layout has no areas
    assert set(models.Entity.objects.values_list("device_class", flat=True)) == {""}

    rebuild_view(ACTIVITY, DAY1, DAY1, now=AFTER)

    rows = {r["hour"]: r for r in MaterializedViewManager().room_activity(area="hall")}
    assert len(rows) == 24
    assert rows[at(10 * H)]["occupancy_rate"] == pytest.approx(0.5)
    assert rows[at(10 * H)]["motion_count"] == 1
    assert rows[at(3 * H)]["occupancy_rate"] == 0 and rows[at(3 * H)]["motion_count"] == 0
    assert sum(r["occupancy_rate"] for r in rows.values()) == pytest.approx(0.5)
    assert sum(r["motion_count"] for r in rows.values()) == 1
