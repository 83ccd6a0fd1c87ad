"""The energy view of a `total` meter whose day before was tiered (its raw points deleted): the
reading in force is taken from the hourly tier's row with its state class and cycle
(`last_reset`), so the next day's growth is Home Assistant's. T0 = 2024-03-04 00:00 UTC."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retention import models
from retention.entities.ha_source import count_samples
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from tests.retention.conftest import T0, HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)
DAY2 = DAY1 + timedelta(days=1)
AFTER = T0 + timedelta(days=3)


def lr(day: int) -> dict:
    return {"state_class": "total", "last_reset": f"2024-03-{day:02d}T00:00:00+01:00"}


def test_total_meter_goes_on_from_the_tiered_day_with_its_cycle(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    entity = ha_db.saved_entity(
        layout,
        "sensor.solar_month_energy",
        [
            (3600, 2.0, lr(1)),
            (7200, 3.0, lr(1)),  # in force when DAY1 ends: the tier's carry-in
            (86400 + 1800, 3.5, lr(1)),  # the same cycle: +0.5
            (86400 + 7200, 3.4, lr(2)),  # a new cycle with a 3 % drop: +3.4 (not -0.1)
            (86400 + 9000, -0.6, {"state_class": "total"}),  # net export, no last_reset: -4.0
        ],
        unit="kWh",
        kind="energy",
    )
    run = tiers.downsample_hourly(DAY1, DAY2)
    assert run.status == "ok", run.errors
    assert count_samples(entity, T0, T0 + timedelta(days=1)) == 0

    rebuild_view(ENERGY, DAY1, DAY2, now=AFTER)

    day1 = models.DailyEnergyByDevice.objects.get(entity_id=entity.entity_id, date=DAY1)
    day2 = models.DailyEnergyByDevice.objects.get(entity_id=entity.entity_id, date=DAY2)
    assert day1.total_kwh == pytest.approx(1.0)
    assert day2.total_kwh == pytest.approx(0.5 + 3.4 - 4.0)
