"""The daily views on DST days, whose local day lasts 23 or 25 hours: carbon points of every
half hour (UK Carbon Intensity's slots) averaged over time, and a constant load priced by the
92 or 100 quarter hours of the day (aWATTar's documented DST payloads, negative prices
included). Expected figures are sums over the payloads, not our code."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention import models
from retention.rollups.materialized import CARBON, ENERGY, rebuild_view
from tests.retention.conftest import HaDatabase
from tests.support.pricing import CET_DST_DAYS, per_kwh
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HALF_HOUR = timedelta(minutes=30)
# London: 2026-03-29 lasts 23 h (00:00 GMT = 00:00 UTC), 2026-10-25 25 h (00:00 BST = 23:00 UTC)
LONDON_DAYS = {
    "spring": (date(2026, 3, 29), datetime(2026, 3, 29, 0, tzinfo=UTC), 46),
    "autumn": (date(2026, 10, 25), datetime(2026, 10, 24, 23, tzinfo=UTC), 50),
}
BERLIN_DAYS = {"spring": date(2026, 3, 29), "autumn": date(2026, 10, 25)}


@pytest.mark.parametrize("season", list(LONDON_DAYS))
def test_carbon_summary_of_a_dst_day_weighs_each_half_hour_alike(enrich_db: str, settings, season):
    settings.TIME_ZONE = "Europe/London"
    day, start, count = LONDON_DAYS[season]
    values = [100.0 + 7 * (i % 11) for i in range(count)]
    tags = {"region": "South England", "grid_operator": "SSE", "provider": "uk_carbon_intensity"}
    # the half hours before and after the day are other days': not carried in or out
    points = [(start - HALF_HOUR, 999.0), *zip((start + i * HALF_HOUR for i in range(count)),
              values, strict=True), (start + count * HALF_HOUR, 1.0)]  # fmt: skip
    get_timeseries().write(enrich_db, [
        Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": v}, t, tags) for t, v in points
    ])  # fmt: skip

    rebuild_view(CARBON, day, day, now=start + timedelta(days=3))

    row = models.DailyCarbonSummary.objects.get(region="South England", date=day)
    assert row.avg_carbon == pytest.approx(sum(values) / count)
    assert (row.min_carbon, row.max_carbon) == (min(values), max(values))
    assert row.partial is False


@pytest.mark.parametrize("season", list(CET_DST_DAYS))
def test_a_constant_load_on_a_dst_day_is_priced_by_each_quarter_hour(
    ha_db: HaDatabase, enrich_db: str, settings, season
):
    settings.TIME_ZONE = "Europe/Berlin"
    count, first, end = CET_DST_DAYS[season]
    payload = load_fixture(f"awattar/marketdata_quarter_dst_{season}.json")["data"]
    assert len(payload) == count
    tags = {"provider": "awattar", "region": "DE", "currency": "EUR"}
    prices = [per_kwh(row["marketprice"], 1000) for row in payload]
    get_timeseries().write(enrich_db, [
        Reading("electricity_pricing_forecast", {"price": price, "slot_minutes": 15.0},
                datetime.fromtimestamp(row["start_timestamp"] / 1000, UTC), tags)
        for row, price in zip(payload, prices, strict=True)
    ])  # fmt: skip
    # 100 W from the evening before, all day long
    ha_db.saved_entity(
        "official", "sensor.fan_power", [(first - timedelta(hours=1), 100)], unit="W", kind="power"
    )

    day = BERLIN_DAYS[season]
    rebuild_view(ENERGY, day, day, now=end + timedelta(days=2))

    row = models.DailyEnergyByDevice.objects.get(entity_id="sensor.fan_power", date=day)
    hours = (end - first) / timedelta(hours=1)
    assert hours == count / 4
    assert row.total_kwh == pytest.approx(0.1 * hours)
    assert row.cost == pytest.approx(sum(0.1 * 0.25 * price for price in prices))
    assert (row.cost_source, row.currency) == ("price_slots", "EUR")
    assert row.avg_power == pytest.approx(100)
