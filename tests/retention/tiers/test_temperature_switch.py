"""A temperature sensor whose user switched Home Assistant from imperial to metric (°F -> °C at
noon) is one history in °C: every raw read (the tiers, the series API) converts each point by
the unit it was written under, with the affine map °F -> °C, before anything is aggregated.

68 °F for the first 12 hours of the day and 20 °C for the last 12 are the same temperature,
so every hourly row, the daily row and every point the series API gives is 20.0 °C. Before,
the °F points were read as °C: the morning's hours said 68, the day's mean 44.

Both layouts (reference/ha_influx_schema.md): the official integration writes the °F points to
the measurement `°F` and the °C ones to `°C`; the HA Ingestor keeps one measurement with the
unit in each point's `unit_of_measurement` attribute. Discovery finds the entity (unit now °C),
the tiers and the API run against the real InfluxDB.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from retention.entities.discovery import discover
from retention.models import Entity
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from tests.retention.conftest import T0, HaDatabase, ingestor_readings, official_readings

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
LIVING = "sensor.living_room_temperature"
F_POINTS = [(0, 68.0), (6, 68.0)]  # (hours after T0, reading)
C_POINTS = [(12, 20.0), (18, 20.0)]
VALUES = ("avg_value", "min_value", "max_value", "last_value")


def _points(points: list[tuple[int, float]]) -> list[tuple[datetime, float]]:
    return [(T0 + hours * HOUR, value) for hours, value in points]


def _write(ha_db: HaDatabase, layout: str) -> None:
    for points, unit in ((F_POINTS, "°F"), (C_POINTS, "°C")):
        readings = official_readings if layout == "official" else ingestor_readings
        ha_db.write(readings(LIVING, _points(points), unit=unit, device_class="temperature"))


def _series(api: APIClient) -> dict:
    query = {"entity_id": LIVING, "start": T0.isoformat(), "end": (T0 + DAY).isoformat()}
    answer = api.get("/api/series", query)
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.mark.django_db
@pytest.mark.influxdb
@pytest.mark.parametrize("layout", ["official", "ingestor"])
def test_a_switch_from_fahrenheit_to_celsius_is_one_history_in_celsius(
    ha_db: HaDatabase, layout: str
):
    _write(ha_db, layout)
    discover(ha_db.name, layout)
    living = Entity.objects.get(entity_id=LIVING)
    assert (living.kind, living.unit) == ("numeric", "°C")
    user = get_user_model().objects.create_user("ha-temperature", password="pw-ha-123")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    body = _series(api)  # raw: nothing tiered yet
    assert (body["kind"], body["unit"]) == ("numeric", "°C")
    [raw] = body["segments"]
    assert raw["resolution"] == "raw"
    assert [(p["time"], p["value"]) for p in raw["points"]] == [
        ((T0 + hours * HOUR).isoformat(), 20.0) for hours in (0, 6, 12, 18)
    ]

    run = tiers.downsample_hourly(T0.date(), T0.date() + DAY)
    assert run.status == "ok", run.errors
    assert run.records_processed == 4
    hours = read_rows(HOURLY_RP, T0, T0 + DAY)[LIVING]
    assert [row.start for row in hours] == [T0 + n * HOUR for n in range(24)]
    assert [[row.fields[name] for name in VALUES] for row in hours] == [[20.0] * 4] * 24
    assert all(row.fields["coverage_seconds"] == 3600 for row in hours)
    [hourly] = _series(api)["segments"]
    assert hourly["resolution"] == "hourly"
    assert [p["avg_value"] for p in hourly["points"]] == [20.0] * 24

    run = tiers.downsample_daily(T0.date(), T0.date() + DAY)
    assert run.status == "ok", run.errors
    [day] = read_rows(DAILY_RP, T0, T0 + DAY)[LIVING]
    fields = {k: v for k, v in day.fields.items() if not is_own_field(k)}
    assert [fields[name] for name in VALUES] == [20.0] * 4
    assert (fields["sample_count"], fields["coverage_seconds"]) == (4, 86400)
    [daily] = _series(api)["segments"]
    assert daily["resolution"] == "daily"
    assert [p["avg_value"] for p in daily["points"]] == [20.0]
