"""Prices in the test's InfluxDB: hourly slots written straight (`slot_readings`), or one of
three documented days collected through the real pipeline (`CASES`, `collect`): quarter hours
on Stockholm's autumn DST day (Tibber), half hours on London's spring DST day (Octopus), and
hours in Berlin (aWATTar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collectors import pipeline
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from tests.collectors.scenarios_pricing import OCTOPUS_RATES, TIBBER_HOME, TIBBER_TOKEN
from tests.support.replay import load_fixture

TIBBER_PATH = "/v1-beta/gql"


def slot_readings(
    anchor: datetime,
    *,
    prices: dict[int, float],
    region: str = "DE",
    provider: str = "awattar",
    default: float = 0.30,
) -> list[Reading]:
    """Hourly forecast slots from `anchor` - 1 h to `anchor` + 29 h: `prices` by hour offset,
    `default` otherwise (EUR/kWh)."""
    tags = {"provider": provider, "currency": "EUR", "region": region}
    return [
        Reading(
            "electricity_pricing_forecast",
            {"price": prices.get(h, default), "slot_minutes": 60.0},
            anchor + timedelta(hours=h),
            tags,
        )
        for h in range(-1, 30)
    ]


@dataclass(frozen=True)
class Case:
    provider: str
    fixture: str
    region: str
    currency: str
    slot_minutes: int
    day_start: datetime  # UTC, midnight local
    day_end: datetime
    edge: datetime  # a DST change (or a plain hour) to look at closely


CASES = {
    # Stockholm 2026-10-25: 02:00-03:00 CEST, then 02:00-03:00 CET again (25 h)
    "15min_dst_autumn": Case("tibber", "tibber/price_info_dst_autumn.json", TIBBER_HOME, "SEK",
                             15, datetime(2026, 10, 24, 22, tzinfo=UTC),
                             datetime(2026, 10, 25, 23, tzinfo=UTC),
                             datetime(2026, 10, 25, 1, tzinfo=UTC)),
    # London 2026-03-29: 01:00 GMT jumps to 02:00 BST (23 h)
    "30min_dst_spring": Case("octopus", "octopus/agile_dst_spring.json", "E-1R-AGILE-24-10-01-C",
                             "GBP", 30, datetime(2026, 3, 29, 0, tzinfo=UTC),
                             datetime(2026, 3, 29, 23, tzinfo=UTC),
                             datetime(2026, 3, 29, 1, tzinfo=UTC)),
    # Berlin 2026-05-01, hourly
    "60min": Case("awattar", "awattar/marketdata_hourly.json", "DE", "EUR", 60,
                  datetime(2026, 4, 30, 22, tzinfo=UTC), datetime(2026, 5, 1, 22, tzinfo=UTC),
                  datetime(2026, 5, 1, 10, tzinfo=UTC)),
}  # fmt: skip


def collect(case: Case, server) -> ProviderConfig:
    """One real collection of the payload, as the hourly task runs it, at 06:07 UTC."""
    if case.provider == "tibber":
        server.add("POST", TIBBER_PATH, json=load_fixture(case.fixture))
        site = Site.objects.create(name="Uppsala", latitude=59.86, longitude=17.64)
        options = {"base_url": server.url, "home_id": TIBBER_HOME}
        config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                               provider="tibber", api_key=TIBBER_TOKEN,
                                               options=options)  # fmt: skip
    else:
        path = OCTOPUS_RATES if case.provider == "octopus" else "/v1/marketdata"
        server.add("GET", path, json=load_fixture(case.fixture))
        letter = "C" if case.provider == "octopus" else "DE"
        site = Site.objects.create(name="Home", latitude=51.5, longitude=0, pricing_region=letter)
        options = {"base_url": server.url}
        if case.provider == "octopus":  # the payload's product, so no product lookup is made
            options["product_code"] = "AGILE-24-10-01"
        config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                               provider=case.provider,
                                               options=options)  # fmt: skip
    fetched = case.day_start + timedelta(hours=6, minutes=7)
    assert pipeline.collect(config, now=fetched).status == "ok"
    return config
