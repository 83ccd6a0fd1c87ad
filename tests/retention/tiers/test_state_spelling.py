"""A writer that changes only the spelling of a state ("ON" for "on", "detected" for
"Detected", "heat" for "Heat") changes no state: the tiers' state_changes do not count it,
and the views' room activity, read from the raw points or from the hourly rows, counts the
same motion. last_state keeps the state as written. Against the real InfluxDB."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retention.models import HourlyRoomActivity
from retention.rollups.materialized import ACTIVITY, rebuild_view
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0, HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
DAY1, DAY2 = date(2024, 3, 4), date(2024, 3, 5)  # T0's day and the next
MOTION, MODE = "binary_sensor.hall_motion", "sensor.hvac_mode"


def _at(hours: int, minutes: int = 0):
    return T0 + timedelta(hours=hours, minutes=minutes)


def _hours(entity_id: str, field: str) -> list:
    rows = read_rows(HOURLY_RP, T0, T0 + DAY)[entity_id]
    return [row.fields.get(field) for row in rows if _at(12) <= row.start < _at(16)]


def _motion_counts() -> list[int]:
    rows = HourlyRoomActivity.objects.filter(area="hall", hour__gte=_at(12), hour__lt=_at(16))
    return [row.motion_count for row in rows.order_by("hour")]


def test_a_change_of_spelling_alone_is_no_state_change(ha_db: HaDatabase, settings):
    settings.TIME_ZONE = "UTC"
    # Motion: off, on at 12:15, "ON" at 12:30 (the same on), off at 12:45; "Detected" at
    # 13:10, "detected" at 14:10 (the same on), "Clear" at 15:10. Two motions.
    motion = [(_at(12), "off"), (_at(12, 15), "on"), (_at(12, 30), "ON"), (_at(12, 45), "off"),
              (_at(13, 10), "Detected"), (_at(14, 10), "detected"), (_at(15, 10), "Clear")]  # fmt: skip
    ha_db.saved_entity(
        "ingestor", MOTION, motion, kind="binary", device_class="motion", area="hall"
    )
    ha_db.saved_entity(
        "ingestor", MODE, [(_at(12), "Heat"), (_at(13), "heat"), (_at(14), "Cool")], kind="text"
    )
    rebuild_view(ACTIVITY, DAY1, DAY1, now=T0 + 3 * DAY)
    assert _motion_counts() == [1, 1, 0, 0]  # from the raw points

    assert tiers.downsample_hourly(DAY1, DAY2).status == "ok"
    # Before: [3, 1, 1, 1] and [0, 1, 1, 0], "ON" and "detected" counted as changes.
    assert _hours(MOTION, "state_changes") == [2, 1, 0, 1]
    assert _hours(MODE, "state_changes") == [0, 0, 1, 0]
    assert _hours(MOTION, "last_state") == ["off", "Detected", "detected", "Clear"]
    assert _hours(MODE, "last_state") == ["Heat", "heat", "Cool", "Cool"]
    rebuild_view(ACTIVITY, DAY1, DAY1, now=T0 + 3 * DAY)  # from the hourly rows
    # Before: [1, 1, 1, 0], the 14:00 row's one change read as off -> on.
    assert _motion_counts() == [1, 1, 0, 0]

    assert tiers.downsample_daily(DAY1, DAY2).status == "ok"
    days = read_rows(DAILY_RP, T0, T0 + DAY)
    # Before: 6 and 2.
    assert [days[MOTION][0].fields["state_changes"], days[MODE][0].fields["state_changes"]] == [
        4,
        1,
    ]
    assert [days[MOTION][0].fields["last_state"], days[MODE][0].fields["last_state"]] == [
        "Clear",
        "Cool",
    ]
