"""An entity's kind or unit corrected in the admin after the hourly tier took its raw states:
the follow-up computes its tiered days from hourly rows made under the old kind (each row's
`kind` tag) or converted by the old unit. Where those rows give the figures exactly (a numeric
sensor in kW corrected to power: a row's time-weighted mean x 1000 x coverage is the energy; a
power sensor's label corrected from W to kW: its rows x 1000), they are converted, the value
carried into the next raw day too; where they cannot (a kWh meter registered as power,
corrected to energy: its rows integrate the readings as watts, they keep no meter growth) the
day gets no row, nor does the raw day after it (it starts from the value the last row carries
in), and the run names the days and why.

The raw points, the hourly tier run, the admin's change form and the follow-up are real.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings

from enrich.influx import get_timeseries
from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.follow import follow_edits
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.schema import TIER_MEASUREMENT
from retention.tiers import runner as tiers
from retention.tiers.row_units import UNIT_FIELDS
from retention.tiers.rows import HOURLY_RP, read_rows, write_rows
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


def every_3_hours(value: float) -> list:
    """`value` from T0 on, reported again at 01:00, 04:00, ... (the third day's first hour is
    the value carried in from the tiered day before)."""
    return [(T0, value)] + [(T0 + (3 * n + 1) * HOUR, value) for n in range(23)]


def test_a_numeric_sensor_in_kilowatts_corrected_to_power_gets_its_tiered_days(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    # 0.5 kW all along; registered numeric (discovery's guess).
    pump = tiered(ha_db, "sensor.pump", every_3_hours(0.5), "kW", "numeric")
    assert rows("sensor.pump") == {}  # not in the energy view

    edit_in_the_admin(admin_client, pump, kind="power")
    run = follow_edits(ENERGY, now=AFTER)

    assert run.status == "ok", run.errors
    # The tiered days from their numeric hourly rows (mean 0.5 kW x 24 h), the raw day too.
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
    # row for the tiered days (the power rows go), nor for the raw day after them, whose
    # growth counts from the reading a power row carries in.
    assert rows("sensor.grid_meter") == {}
    assert run.details["skipped"] == [
        f"sensor.grid_meter {FIRST} to {SECOND} (2 days): tiered as power, kind now energy: "
        "their hourly rows cannot give a meter's growth; no row is computed for them",
        f"sensor.grid_meter {THIRD} (1 day): the value it starts from is carried in from the "
        "tier row before it, tiered as power, kind now energy: their hourly rows cannot give "
        "a meter's growth; no row is computed for them",
    ]
    assert run.records_deleted == 3

    # Once the daily tier holds those days (its rows keep the hours' kind), a rebuild says the
    # same of them.
    assert tiers.downsample_daily(FIRST, THIRD).status == "ok"
    run = rebuild_view(ENERGY, FIRST, THIRD, now=AFTER)
    assert rows("sensor.grid_meter") == {}
    assert run.details["skipped"][0] == (
        f"sensor.grid_meter {FIRST} to {SECOND} (2 days): tiered as power, kind now energy: "
        "their daily rows cannot give a meter's growth; no row is computed for them"
    )


def test_a_power_sensors_unit_corrected_from_w_to_kw_converts_its_tiered_days(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    # 2 kW all along, labelled W by its integration: the view and the tiers read 2 W.
    heater = tiered(ha_db, "sensor.heater_power", every_3_hours(2.0), "W", "power")
    assert rows("sensor.heater_power")[FIRST] == (0.048, 2.0, 2.0)

    edit_in_the_admin(admin_client, heater, unit="kW")
    run = follow_edits(ENERGY, now=AFTER)

    assert run.status == "ok", run.errors
    # Its hourly rows hold 2 W: converted by 1000, as its raw points of the third day are.
    expected = (48.0, 2000.0, 2000.0)
    assert rows("sensor.heater_power") == {day: expected for day in (FIRST, SECOND, THIRD)}
    assert run.details["skipped"] == []


def written_without_units(entity_id: str) -> None:
    """Write the entity's hourly rows again without the unit fields, as rows written before
    rows recorded their unit are."""
    found = read_rows(HOURLY_RP, T0 - DAY, AFTER, entity_id)[entity_id]
    query = f"DROP SERIES FROM {TIER_MEASUREMENT} WHERE entity_id = '{entity_id}'"
    get_timeseries().execute(settings.TIER_DATABASE, query)
    for row in found:
        row.fields = {k: v for k, v in row.fields.items() if k not in UNIT_FIELDS}
    write_rows(HOURLY_RP, found)


def test_a_tier_run_between_the_unit_correction_and_its_follow_up_leaves_no_row_to_guess(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    heater = tiered(ha_db, "sensor.heater_power", every_3_hours(2.0), "W", "power")
    written_without_units("sensor.heater_power")  # rows from before they recorded it

    edit_in_the_admin(admin_client, heater, unit="kW")
    # The follow-up waits (the broker was out of reach); the hourly tier takes the third day
    # meanwhile, by the new unit: 2 kW rows beside the first days' 2 W ones.
    run = tiers.downsample_hourly(THIRD, THIRD + DAY)
    assert run.status == "ok", run.errors
    followed = follow_edits(ENERGY, now=AFTER)

    assert followed.status == "ok", followed.errors
    assert rows("sensor.heater_power") == {}  # its 0.048 kWh days go, none is guessed
    assert followed.details["skipped"] == [
        f"sensor.heater_power {FIRST} to {THIRD} (3 days): tiered while its unit was 'W', "
        f"unit now 'kW': tier run {run.pk} since the edit may have written hourly rows by "
        "either, and no row tells which; no row is computed for them"
    ]


def test_a_tier_run_between_the_unit_correction_and_its_follow_up_by_rows_recording_units(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    heater = tiered(ha_db, "sensor.heater_power", every_3_hours(2.0), "W", "power")

    edit_in_the_admin(admin_client, heater, unit="kW")
    # The third day tiered by the new unit meanwhile: each row records the unit it was
    # converted by (W, kW), so each is read by its own.
    run = tiers.downsample_hourly(THIRD, THIRD + DAY)
    assert run.status == "ok", run.errors
    followed = follow_edits(ENERGY, now=AFTER)

    assert followed.status == "ok", followed.errors
    expected = (48.0, 2000.0, 2000.0)
    assert rows("sensor.heater_power") == {day: expected for day in (FIRST, SECOND, THIRD)}
    assert followed.details["skipped"] == []
