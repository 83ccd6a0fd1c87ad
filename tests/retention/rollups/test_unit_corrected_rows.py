"""A power or energy entity's unit corrected in the admin after the hourly tier took its raw
points: the tier rows record the unit their readings were converted by (`unit`), so every
reader converts them to the corrected unit, not only the views' follow-up that knows the edit.

A heater writes 2 kW all along, labelled W by its integration (official layout, measurement
`W`, registered by discovery): the view and the tiers read 2 W, 0.048 kWh a day. A person sets
`kW` in the admin. Before, a `rebuild_view` of the tiered days gave 0.048 kWh again (where the
follow-up gave 48), the series API gave 2 (W) for those hours, the next day's first hour
carried 2 W in beside 2000 W readings, and the daily tier composed the 2 W hours. Now each is
2000 W, 48 kWh a day, like the raw day after them.

The raw points, discovery, the tier runs, the admin's change form, the follow-up, the rebuild
and the series API are real.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retention.entities.discovery import discover
from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.follow import follow_edits
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0, HaDatabase, official_readings
from tests.support import late_archive
from tests.support.api import series_answer, token_client
from tests.support.views_follow import edit_in_the_admin

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
FIRST, SECOND, THIRD = T0.date(), T0.date() + DAY, T0.date() + 2 * DAY  # THIRD stays raw
AFTER = T0 + 3 * DAY
HEATER, METER = "sensor.heater_power", "sensor.heater_energy"
CORRECTED = (48.0, 2000.0, 2000.0)  # a whole day's kWh, mean W, peak W at 2 kW


def rows(entity_id: str) -> dict[date, tuple]:
    """The entity's whole days: date -> (kWh, mean W, peak W)."""
    found = DailyEnergyByDevice.objects.filter(entity_id=entity_id, partial=False)
    return {r.date: (r.total_kwh, r.avg_power, r.peak_power) for r in found}


def corrected_heater(ha_db: HaDatabase, admin_client) -> Entity:
    """The heater's 2 kW "W" points from T0 on (reported again at 01:00, 04:00, ...),
    discovered, its view rows computed, its first two days taken by the hourly tier, then its
    unit corrected to kW in the admin and the follow-up run."""
    points = [(T0, 2.0)] + [(T0 + (3 * n + 1) * HOUR, 2.0) for n in range(23)]
    ha_db.write(official_readings(HEATER, points, unit="W", device_class="power"))
    discover(ha_db.name, "official")
    heater = Entity.objects.get(entity_id=HEATER)
    assert (heater.kind, heater.unit) == ("power", "W")
    rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    assert rows(HEATER)[FIRST] == (0.048, 2.0, 2.0)
    run = tiers.downsample_hourly(FIRST, THIRD)
    assert run.status == "ok", run.errors
    edit_in_the_admin(admin_client, heater, unit="kW")
    followed = follow_edits(ENERGY, now=AFTER)
    assert followed.status == "ok", followed.errors
    assert rows(HEATER) == dict.fromkeys((FIRST, SECOND, THIRD), CORRECTED)
    return Entity.objects.get(entity_id=HEATER)


def test_a_rebuild_and_the_series_api_read_the_corrected_unit(admin_client, ha_db, enrich_db):
    corrected_heater(ha_db, admin_client)

    # A rebuild of the tiered days, knowing nothing of the edit: 48 kWh, not 0.048.
    DailyEnergyByDevice.objects.all().delete()
    run = rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    assert run.status == "ok", run.errors
    assert run.details["sources"] == {"hourly": 2, "raw": 1}
    assert rows(HEATER) == dict.fromkeys((FIRST, SECOND, THIRD), CORRECTED)

    # The series API: the tiered hours in W as the raw points are (2000, not 2).
    answer = series_answer(token_client("ha-heater"), HEATER, T0, AFTER)
    assert answer["unit"] == "W"
    hourly, raw = answer["segments"]
    assert (hourly["resolution"], raw["resolution"], len(hourly["points"])) == ("hourly", "raw", 48)
    for point in hourly["points"]:
        values = [point[name] for name in ("avg_value", "min_value", "max_value", "last_value")]
        assert values == [pytest.approx(2000.0)] * 4
        assert point["total_energy"] == pytest.approx(2.0)  # kWh in the hour
        assert "unit" not in point
    assert {p["value"] for p in raw["points"]} == {2000.0}


def test_the_next_days_hours_and_the_daily_tier_read_the_corrected_unit(
    admin_client, ha_db, enrich_db
):
    corrected_heater(ha_db, admin_client)

    # The third day's first hour is carried in from the second day's last (2 "W") row.
    assert tiers.downsample_hourly(THIRD, THIRD + DAY).status == "ok"
    third = read_rows(HOURLY_RP, T0 + 2 * DAY, AFTER, HEATER)[HEATER]
    assert len(third) == 24
    assert {round(row.fields["avg_value"], 9) for row in third} == {2000.0}
    assert third[0].fields["unit"] == "kW"  # the unit its readings were converted by

    # The daily tier composes the 2 "W" hours and the 2000 W ones: 48 kWh each day.
    assert tiers.downsample_daily(FIRST, THIRD + DAY).status == "ok"
    daily = read_rows(DAILY_RP, T0, AFTER, HEATER)[HEATER]
    assert [round(row.fields["total_energy"], 9) for row in daily] == [48.0] * 3
    assert [round(row.fields["avg_value"], 9) for row in daily] == [2000.0] * 3
    assert {row.fields["unit"] for row in daily} == {"kW"}

    answer = series_answer(token_client("ha-heater"), HEATER, T0, AFTER)
    (segment,) = answer["segments"]
    assert segment["resolution"] == "daily"
    assert [p["total_energy"] for p in segment["points"]] == [pytest.approx(48.0)] * 3
    assert [p["max_value"] for p in segment["points"]] == [pytest.approx(2000.0)] * 3

    DailyEnergyByDevice.objects.all().delete()
    run = rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    assert run.details["sources"] == {"daily": 3}
    assert rows(HEATER) == dict.fromkeys((FIRST, SECOND, THIRD), CORRECTED)


def test_a_meters_unit_corrected_from_kwh_to_wh_reads_its_rows_in_kwh(
    admin_client, ha_db, enrich_db
):
    # A meter growing 500 Wh an hour, labelled kWh: its rows grow 500 "kWh" an hour.
    points = [(T0 + n * HOUR, 1000.0 + 500.0 * n) for n in range(49)]
    ha_db.write(official_readings(METER, points, unit="kWh", device_class="energy"))
    discover(ha_db.name, "official")
    meter = Entity.objects.get(entity_id=METER)
    assert (meter.kind, meter.unit) == ("energy", "kWh")
    assert tiers.downsample_hourly(FIRST, THIRD).status == "ok"
    edit_in_the_admin(admin_client, meter, unit="Wh")

    answer = series_answer(token_client("ha-meter"), METER, T0, T0 + DAY)
    (hourly,) = answer["segments"]
    assert answer["unit"] == "kWh"
    # Nothing known before T0: its first hour grows 0, each next one 500 Wh (not 500 kWh).
    assert [p["total_energy"] for p in hourly["points"]] == [0.0] + [pytest.approx(0.5)] * 23
    assert hourly["points"][0]["last_value"] == pytest.approx(1.0)  # 1000 Wh at T0

    DailyEnergyByDevice.objects.all().delete()
    run = rebuild_view(ENERGY, FIRST, SECOND, now=AFTER)
    assert run.status == "ok", run.errors
    assert rows(METER)[SECOND][0] == pytest.approx(12.0)


def test_a_late_point_of_an_archived_day_meets_its_row_in_the_corrected_unit(tier, local_archive):
    # A day of 2022 of the heater's 2 "W" went hourly, daily, into the archive (its daily row
    # deleted from InfluxDB); its unit was corrected to kW since (as the admin saves it). A
    # buffered point of that day arrives: the archive's row (recorded in W) meets it in kW.
    day = late_archive.T
    ha = late_archive.discovered_day(
        tier, official_readings(HEATER, [(day, 2.0)], unit="W", device_class="power")
    )
    archived = late_archive.archived(HEATER)
    assert archived["avg_value"] == 2.0
    Entity.objects.filter(entity_id=HEATER).update(unit="kW", edited=True)
    ha.write(official_readings(HEATER, [(day + 12 * HOUR, 2.0)], unit="W", device_class="power"))

    run = tiers.downsample_hourly(day.date(), day.date() + DAY)
    assert run.status == "ok", run.errors
    assert run.details["late_points"] == 1
    [row] = read_rows(DAILY_RP, day, day + DAY)[HEATER]  # the archive's row, folded in
    # Was 2 (W) until noon and 2000 after it in one row: a mean of 1001 W, 24.024 kWh.
    assert (row.fields["min_value"], row.fields["max_value"]) == (2000.0, 2000.0)
    assert (row.fields["avg_value"], row.fields["total_energy"]) == (2000.0, 48.0)
    assert row.fields["unit"] == "kW"
    assert archived["unit"] == "W"  # the archive kept the unit its row was converted from
