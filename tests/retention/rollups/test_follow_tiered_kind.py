"""An entity's kind corrected in the admin after the hourly tier took its raw states: the
follow-up computes its tiered days from hourly rows made under the old kind (each row's `kind`
tag). Where those rows give the new kind's figures exactly (a numeric sensor in W corrected to
power: a row's time-weighted mean x coverage is the energy), they are converted; where they
cannot (a kWh meter registered as power, corrected to energy: its rows integrate the readings
as watts, they keep no meter growth) the day gets no row, and the run names the days and why.

The raw points, the hourly tier run, the admin's change form and the follow-up are real.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.follow import follow_edits
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from tests.retention.conftest import T0, HaDatabase
from tests.support.views_follow import edit_in_the_admin

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
FIRST, SECOND, THIRD = T0.date(), T0.date() + DAY, T0.date() + 2 * DAY  # THIRD stays raw
AFTER = T0 + 3 * DAY


def rows(entity_id: str) -> dict[date, tuple]:
    """The entity's whole days: date -> (kWh, mean W, peak W)."""
    found = DailyEnergyByDevice.objects.filter(entity_id=entity_id, partial=False)
    return {r.date: (r.total_kwh, r.avg_power, r.peak_power) for r in found}


def tiered(ha_db: HaDatabase, entity_id: str, points: list, unit: str, kind: str) -> Entity:
    """The entity registered as `kind` with its points, its view rows computed from them, its
    first two days then taken by the hourly tier (their raw points deleted)."""
    entity = ha_db.saved_entity("official", entity_id, points, unit=unit, kind=kind)
    rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    run = tiers.downsample_hourly(FIRST, THIRD)
    assert run.status == "ok", run.errors
    assert run.records_deleted == sum(1 for moment, _ in points if moment < T0 + 2 * DAY)
    return entity


def test_a_numeric_sensor_in_watts_corrected_to_power_gets_its_tiered_days(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    # 500 W all along, reported every 3 hours; registered numeric (discovery's guess).
    points = [(T0 + n * 3 * HOUR, 500.0) for n in range(24)]
    pump = tiered(ha_db, "sensor.pump", points, "W", "numeric")
    assert rows("sensor.pump") == {}  # not in the energy view

    edit_in_the_admin(admin_client, pump, kind="power")
    run = follow_edits(ENERGY, now=AFTER)

    assert run.status == "ok", run.errors
    # The tiered days from their numeric hourly rows (mean 500 W x 24 h), the raw day too.
    assert rows("sensor.pump") == {day: (12.0, 500.0, 500.0) for day in (FIRST, SECOND, THIRD)}
    assert run.details["skipped"] == []
    # Once the daily tier holds those days (its rows keep the hours' kind): a rebuild alike.
    assert tiers.downsample_daily(FIRST, THIRD).status == "ok"
    DailyEnergyByDevice.objects.all().delete()
    run = rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    assert run.details["sources"] == {"daily": 2, "raw": 1}
    assert rows("sensor.pump") == {day: (12.0, 500.0, 500.0) for day in (FIRST, SECOND, THIRD)}


def test_a_meter_registered_as_power_corrected_to_energy_keeps_no_figure_of_its_rows(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    # A kWh meter growing 1 kWh an hour (100 at T0), registered as power: the view summed its
    # readings as watts, 111.5 "W" on average the first day = 2.676 "kWh".
    points = [(T0 + n * HOUR, 100.0 + n) for n in range(49)]
    meter = tiered(ha_db, "sensor.grid_meter", points, "kWh", "power")
    assert rows("sensor.grid_meter")[FIRST][0] == 2.676

    edit_in_the_admin(admin_client, meter, kind="energy")
    run = follow_edits(ENERGY, now=AFTER)

    assert run.status == "ok", run.errors
    # The hourly rows integrate the readings, the growth they hide is not there to count: no
    # row for the tiered days (the power rows go), the raw day counts its growth, 148 - 147.
    assert rows("sensor.grid_meter") == {THIRD: (1.0, pytest.approx(1000 / 24), 1000.0)}
    assert run.details["skipped"] == [
        f"sensor.grid_meter {FIRST} to {SECOND} (2 days): tiered as power, kind now energy: "
        "their hourly rows cannot give a meter's growth; no row is computed for them"
    ]
    assert run.records_deleted == 2

    # Once the daily tier holds those days (its rows keep the hours' kind), a rebuild says the
    # same of them.
    assert tiers.downsample_daily(FIRST, THIRD).status == "ok"
    run = rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    assert rows("sensor.grid_meter") == {THIRD: (1.0, pytest.approx(1000 / 24), 1000.0)}
    assert run.details["skipped"] == [
        f"sensor.grid_meter {FIRST} to {SECOND} (2 days): tiered as power, kind now energy: "
        "their daily rows cannot give a meter's growth; no row is computed for them"
    ]
