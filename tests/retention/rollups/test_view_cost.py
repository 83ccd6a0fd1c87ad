"""daily_energy_by_device's cost against the real InfluxDB: energy priced at the slot in
which it was used, and prices a collector wrote late folded in by the next refresh."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from collectors.pricing.awattar import AwattarAdapter
from collectors.pricing.slots import PriceSlot, pricing_result
from collectors.served_store import write_fetched
from retention import models
from retention.rollups.materialized import ENERGY, rebuild_view, refresh_view
from tests.retention.conftest import T0, HaDatabase, at
from tests.retention.rollups.conftest import write_prices

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)  # T0's day
AFTER = T0 + timedelta(days=3)
HOUR = 3600


def cost_of(entity_id: str, day: date = DAY1) -> tuple[float | None, str]:
    row = models.DailyEnergyByDevice.objects.get(entity_id=entity_id, date=day)
    return row.cost, row.cost_source


# --- Energy priced at the slot it was used in ----------------------------------------------
def test_a_meter_reporting_each_hour_at_its_end_is_priced_at_the_hour_it_used_the_energy(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    # Hourly slots alternating cheap and dear: 00:00 0.10, 01:00 0.50, 02:00 0.10, 03:00 0.50.
    write_prices(enrich_db, [(h * HOUR, 60, 0.10 if h % 2 == 0 else 0.50) for h in range(4)])
    # The meter reports the hour's kWh when the hour has ended: 1 kWh used in 00:00-01:00
    # (cheap), none in 01:00-02:00 (dear), 1 kWh in 02:00-03:00 (cheap).
    readings = [(0, 10.0), (HOUR, 11.0), (2 * HOUR, 11.0), (3 * HOUR, 12.0)]
    ha_db.saved_entity(layout, "sensor.meter_energy", readings, unit="kWh", kind="energy")

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    row = models.DailyEnergyByDevice.objects.get(entity_id="sensor.meter_energy", date=DAY1)
    assert row.total_kwh == pytest.approx(2.0)
    # 1 x 0.10 + 1 x 0.10. Before: each kWh at the slot of its reading, 1 x 0.50 + 1 x 0.50.
    assert row.cost == pytest.approx(0.20)
    assert (row.currency, row.cost_source) == ("EUR", "price_slots")


def test_an_hour_of_energy_against_15_minute_slots_is_priced_over_the_hour(
    ha_db: HaDatabase, enrich_db: str
):
    # 15-minute slots 00:00-01:00 at 0.10, 0.20, 0.30, 0.40, and 01:00-01:15 at 1.00.
    write_prices(enrich_db, [(q * 15 * 60, 15, p) for q, p in enumerate((0.1, 0.2, 0.3, 0.4, 1.0))])
    readings = [(0, 5.0), (HOUR, 7.0)]  # 2 kWh used 00:00-01:00, reported at 01:00
    ha_db.saved_entity("official", "sensor.hourly_energy", readings, unit="kWh", kind="energy")

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    # 0.5 kWh in each quarter: 0.5 x (0.1 + 0.2 + 0.3 + 0.4). Before: 2 x 1.00, the 01:00 slot.
    assert cost_of("sensor.hourly_energy") == (pytest.approx(0.5), "price_slots")


def test_a_daily_total_stamped_at_the_days_last_minute_is_priced_over_the_day(
    ha_db: HaDatabase, enrich_db: str
):
    # The day's prices: 0.10 until 18:00, then 1.00 until midnight; the day before 0.20.
    write_prices(
        enrich_db,
        [(-24 * HOUR, 24 * 60, 0.20), (0, 18 * 60, 0.10), (18 * HOUR, 6 * 60, 1.00)],
    )
    last_minute = 24 * HOUR - 60
    readings = [(last_minute - 24 * HOUR, 100.0), (last_minute, 124.0)]  # 24 kWh a day
    ha_db.saved_entity("official", "sensor.daily_energy", readings, unit="kWh", kind="energy")

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    # 1 kWh an hour from 23:59 the day before: 1 min at 0.20, 18 h at 0.10, 5 h 59 min at 1.00.
    expected = 1 / 60 * 0.20 + 18 * 0.10 + (6 - 1 / 60) * 1.00
    assert cost_of("sensor.daily_energy") == (pytest.approx(expected), "price_slots")
    # Before: the whole day's 24 kWh at the 18:00 slot's 1.00, 24.0.


def test_a_meter_back_after_two_days_offline_is_priced_over_the_time_it_was_away(
    ha_db: HaDatabase, enrich_db: str
):
    # Daily prices: 0.30 on the 2nd, 0.20 on the 3rd, 0.10 on the 4th.
    write_prices(
        enrich_db,
        [(-48 * HOUR, 24 * 60, 0.30), (-24 * HOUR, 24 * 60, 0.20), (0, 24 * 60, 0.10)],
    )
    # Last read at 12:00 on the 2nd, back at 12:00 on the 4th with 48 kWh more.
    readings = [(-36 * HOUR, 100.0), (12 * HOUR, 148.0)]
    ha_db.saved_entity("official", "sensor.away_energy", readings, unit="kWh", kind="energy")

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    # 1 kWh an hour for 48 h: 12 h at 0.30, 24 h at 0.20, 12 h at 0.10 (the prices before
    # the rebuilt day are read as far back as the meter's last reading).
    expected = 12 * 0.30 + 24 * 0.20 + 12 * 0.10
    assert cost_of("sensor.away_energy") == (pytest.approx(expected), "price_slots")


# --- Prices written late -------------------------------------------------------------------
def backfill_prices(db: str, slots: list[tuple[int, float]], now_seconds: int) -> None:
    """Write hourly slots (start seconds after T0, EUR/kWh) as aWATTar's fetch at that time
    writes what it backfills after an outage (collectors.pipeline's write)."""
    result = pricing_result(
        provider="awattar",
        url="https://api.awattar.de/v1/marketdata",
        currency="EUR",
        region="DE",
        slots=[PriceSlot(at(s), at(s + HOUR), price) for s, price in slots],
        now=at(now_seconds),
        hours=24,
    )
    write_fetched(AwattarAdapter(), result.readings)


def test_prices_backfilled_a_day_late_fill_in_the_cost_at_the_next_refresh(
    ha_db: HaDatabase, enrich_db: str, settings
):
    settings.VIEW_LATE_MARGIN_HOURS = 6
    heater = ha_db.saved_entity(
        "official", "sensor.heater_power", [(0, 1000.0)], unit="W", kind="power"
    )
    models.Entity.objects.filter(pk=heater.pk).update(discovered=T0)
    # The price API is down from the 3rd to 12:00 on the 5th: the refreshes find no price.
    for hours in range(4, 37, 4):
        refresh_view(ENERGY, now=T0 + timedelta(hours=hours))
    assert cost_of("sensor.heater_power") == (None, "none")

    # Back at 12:00 on the 5th, the collector backfills the 4th and writes the 5th.
    backfill_prices(enrich_db, [(h * HOUR, 0.25) for h in range(48)], 36 * HOUR)
    refresh_view(ENERGY, now=T0 + timedelta(hours=40))

    # 24 kWh at 0.25. Before: null until a rebuild_view by hand (the 4th was outside the
    # refresh's 6-hour margin).
    assert cost_of("sensor.heater_power") == (pytest.approx(6.0), "price_slots")
    assert cost_of("sensor.heater_power", DAY1 + timedelta(days=1))[0] == pytest.approx(4.0)
    # The next refresh reaches back its margin only: the backfill was taken up.
    assert refresh_view(ENERGY, now=T0 + timedelta(hours=44)).range_start == T0 + timedelta(
        hours=34
    )
