"""A meter's avg_power beside its peak_power in daily_energy_by_device: the growth across a gap
(unavailable) was used during the gap, so its time counts for both. A meter's day counts from
its first reading (the day's start when its value is carried in) to the day's end (`now` for
the open day); avg_power is its growth over that time, the time-weighted mean of its hours'
averages, and never above the highest of them, peak_power. Raw and tiered days alike.
Against the real InfluxDB, with the points written as the HA Ingestor records them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retention.models import DailyEnergyByDevice
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from tests.retention.conftest import T0, HaDatabase
from tests.retention.rollups.conftest import write_prices

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
DAY0, DAY1, DAY2 = date(2024, 3, 3), date(2024, 3, 4), date(2024, 3, 5)
AFTER = T0 + timedelta(days=3)  # "now" when every test day is closed
H, M = 3600, 60


def figures(entity_id: str) -> tuple[float, float | None, float | None]:
    row = DailyEnergyByDevice.objects.get(entity_id=entity_id, date=DAY1)
    return row.total_kwh, row.avg_power, row.peak_power


def tier(source: str) -> None:
    """Retention's steps over the 3rd and the 4th (oldest first, as it runs): their raw
    points replaced by hourly rows, and those by daily rows for "daily"."""
    if source != "raw":
        assert tiers.downsample_hourly(DAY0, DAY2).status == "ok"
    if source == "daily":
        assert tiers.downsample_daily(DAY0, DAY2).status == "ok"


@pytest.mark.parametrize("source", ["raw", "hourly", "daily"])
def test_a_meter_back_from_a_day_long_gap_averages_below_its_peak(
    ha_db: HaDatabase, enrich_db: str, source: str
):
    """A plug's meter at 10.0 kWh read at 00:00, unavailable from 00:01 to 23:59, back 2 kWh
    up: 2 kWh over the 24 hours since the day's start (its value carried in from the 3rd),
    83.333333 W; hour 23 grew the 2 kWh: 2 kW. Before: 60 kW, 2 kWh over the 2 minutes a value
    was known, beside the 2 kW peak (and 8 kW from raw points under 15-minute price slots,
    2 kWh over the one slot of hour 23 that was not inside the gap)."""
    write_prices(enrich_db, [(23 * H + q * 15 * M, 15, 0.20) for q in range(4)])
    ha_db.saved_entity("ingestor", "sensor.plug_energy", [(-60, 10.0), (0, 10.0),
        (60, "unavailable"), (23 * H + 59 * M, 12.0)], unit="kWh", kind="energy",
    )  # fmt: skip
    tier(source)

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    peak = None if source == "daily" else 2000.0  # the daily tier keeps no hours
    assert figures("sensor.plug_energy") == (2.0, 83.333333, peak)


# A meter's points (seconds after T0, kWh or "unavailable"), the time its day counts from.
METERS = {
    # Reset (2.0 < 0.9 x 51) inside a gap, a dip (noise) and a gap until the day's end.
    "sensor.washer_energy": ([(-600, 50.0), (3 * H, 51.0), (3 * H + 30 * M, "unavailable"),
        (9 * H + 10 * M, 2.0), (12 * H, 2.5), (13 * H, 2.4), (14 * H, 3.1),
        (18 * H, "unavailable")], 0),
    # First read at 22:40 (a partial first hour), a gap from 23:05 to 23:30.
    "sensor.dishwasher_energy": ([(22 * H + 40 * M, 5.0), (22 * H + 50 * M, 5.5),
        (23 * H + 5 * M, "unavailable"), (23 * H + 30 * M, 5.75)], 22 * H + 40 * M),
    # Unavailable across midnight (back at 04:30 1.2 kWh up), then read every 20 minutes.
    "sensor.heater_energy": ([(-3 * H, 7.0), (-2 * H, "unavailable"), (4 * H + 30 * M, 8.2),
        *[(5 * H + n * 20 * M, 8.2 + 0.1 * n) for n in range(50)]], 0),
    # First read at 06:15; from 07:00 unavailable but for a minute each other hour, 0.7 kWh up.
    "sensor.dryer_energy": ([(6 * H + 15 * M, 1.0), (7 * H, "unavailable"),
        *[p for n in range(8) for p in ((8 * H + 2 * n * H, 1.7 + 0.7 * n),
        (8 * H + 1 * M + 2 * n * H, "unavailable"))]], 6 * H + 15 * M),
}  # fmt: skip


def test_a_meters_average_never_exceeds_its_peak_raw_tiered_or_open(
    ha_db: HaDatabase, enrich_db: str
):
    """Over the meters above: avg_power <= peak_power, avg_power is the day's growth over the
    time since its first reading (or the day's start), and the hourly tier gives the raw
    day's figures. Before: the dryer's 5.6 kWh over the 53 minutes a value was known averaged
    6.34 kW beside its 0.7 kW peak."""
    for entity_id, (points, _) in METERS.items():
        ha_db.saved_entity("ingestor", entity_id, points, unit="kWh", kind="energy")
    for now, last in ((T0 + timedelta(hours=19, minutes=20), 19 * H + 20 * M), (AFTER, 24 * H)):
        rebuild_view(ENERGY, DAY1, DAY1, now=now)  # the open day, then the closed one
        read = [entity_id for entity_id, (_, since) in METERS.items() if since < last]
        raw = {entity_id: figures(entity_id) for entity_id in read}
        assert len(raw) == DailyEnergyByDevice.objects.count() == (3 if last < 24 * H else 4)
        for entity_id, (total, avg, peak) in raw.items():
            hours = (last - METERS[entity_id][1]) / H
            assert avg == pytest.approx(total / hours * 1000, abs=1e-6), entity_id
            assert avg <= peak, entity_id
    # 5.6 kWh over the 17.75 hours since 06:15; each hour back from a gap grew 0.7 kWh.
    assert raw["sensor.dryer_energy"] == (5.6, 315.492958, 700.0)

    tier("hourly")
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    assert {entity_id: figures(entity_id) for entity_id in METERS} == raw


@pytest.mark.parametrize("source", ["hourly", "daily"])
def test_a_meter_first_read_before_a_gap_averages_from_its_first_reading_on_a_tiered_day(
    ha_db: HaDatabase, enrich_db: str, source: str
):
    """A kettle's meter first read at 06:15 (its very first reading), unavailable from 06:16,
    back at 20:00 1.2 kWh up: 1.2 kWh over the 17.75 hours since 06:15, 67.605634 W, as on the
    raw day; hour 20 grew it all: 1.2 kW. Before: the tiers timed its first reading by the time
    a value was known, as if no gap followed it: at 06:59 from the hourly tier (70.519099 W),
    at 19:59 from the daily tier alone (its 4 h 1 min known put before the day's end:
    298.755187 W)."""
    ha_db.saved_entity("ingestor", "sensor.kettle_energy", [(6 * H + 15 * M, 1.0),
        (6 * H + 16 * M, "unavailable"), (20 * H, 2.2)], unit="kWh", kind="energy",
    )  # fmt: skip
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    assert figures("sensor.kettle_energy") == (1.2, 67.605634, 1200.0)

    tier(source)
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    peak = None if source == "daily" else 1200.0  # the daily tier keeps no hours
    assert figures("sensor.kettle_energy") == (1.2, 67.605634, peak)
