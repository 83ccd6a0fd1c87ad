"""What daily_energy_by_device gives a user adding up a device's days, and a meter's peak
power, against the real InfluxDB with answers worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from retention.rollups.materialized import ENERGY, MaterializedViewManager, rebuild_view
from tests.retention.conftest import HaDatabase
from tests.retention.rollups.test_materialized import AFTER, DAY1, energy_row, write_prices

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
DAY2 = DAY1 + timedelta(days=1)


def test_totals_per_device_have_no_cost_when_a_day_has_none_or_another_currency(
    ha_db: HaDatabase, enrich_db: str, settings
):
    # 100 W all along: 2.4 kWh a day. Hourly prices of 0.20 EUR/kWh on the 4th only.
    write_prices(enrich_db, [(hour * 3600, 60, 0.20) for hour in range(24)])
    ha_db.saved_entity("official", "sensor.tv_power", [(-60, 100)], unit="W", kind="power")
    rebuild_view(ENERGY, DAY1, DAY2, now=AFTER)
    assert energy_row("sensor.tv_power").cost == pytest.approx(0.48)
    assert energy_row("sensor.tv_power", DAY2).cost is None  # no price known on the 5th
    views = MaterializedViewManager()

    [both] = views.energy_by_device(start=DAY1, end=DAY2)
    assert both["total_kwh"] == pytest.approx(4.8) and both["days"] == 2
    # Before: 0.48, the 4th's cost given as the cost of 4.8 kWh over both days.
    assert both["cost"] is None and both["currency"] == ""
    [first] = views.energy_by_device(start=DAY1, end=DAY1)
    assert (first["cost"], first["currency"]) == (pytest.approx(0.48), "EUR")

    # The 5th priced by a flat tariff in SEK: 2.4 SEK. EUR and SEK do not add up (before: 2.88).
    settings.ENERGY_FLAT_TARIFF, settings.ENERGY_FLAT_TARIFF_CURRENCY = 1.0, "SEK"
    rebuild_view(ENERGY, DAY2, DAY2, now=AFTER)
    assert (energy_row("sensor.tv_power", DAY2).cost, energy_row("sensor.tv_power", DAY2).currency
            ) == (pytest.approx(2.4), "SEK")  # fmt: skip
    [both] = views.energy_by_device(start=DAY1, end=DAY2)
    assert both["cost"] is None and both["currency"] == ""


@pytest.mark.parametrize("layout", ["official", "ingestor"])
def test_a_meter_back_from_unavailable_peaks_at_its_hours_growth_not_per_minute_known(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    # A plug's meter at 10.0 kWh, unavailable from 09:01 (the HA Ingestor records it, the
    # official integration writes nothing), back at 10:59 having grown 2 kWh, +0.5 by 12:00.
    ha_db.saved_entity(
        layout, "sensor.plug_energy", [(-60, 10.0), (9 * 3600, 10.0), (9 * 3600 + 60,
        "unavailable"), (10 * 3600 + 59 * 60, 12.0), (12 * 3600, 12.5)], unit="kWh",
        kind="energy",
    )  # fmt: skip

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    row = energy_row("sensor.plug_energy")
    assert row.total_kwh == pytest.approx(2.5)
    # Hour 10 grew 2 kWh: 2 kW on average, whichever layout. Before: 120 kW from the HA
    # Ingestor's data (2 kWh over the one minute the meter was known in that hour).
    assert row.peak_power == pytest.approx(2000)
