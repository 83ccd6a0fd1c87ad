"""Prices in the test's InfluxDB: hourly slots written straight (`slot_readings`), or one of
three documented days collected through the real pipeline (`CASES`, `collect`): quarter hours
on Stockholm's autumn DST day (Tibber), half hours on London's spring DST day (Octopus), and
hours in Berlin (aWATTar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors import clock, pipeline
from collectors.ha_mqtt.entities import pricing_states
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from tests.collectors.scenarios_pricing import OCTOPUS_RATES, TIBBER_HOME, TIBBER_TOKEN
from tests.support.pricing import per_kwh
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


def payload_slots(case: Case) -> list[tuple[datetime, datetime, float]]:
    """(start, end, price per kWh) straight from the documented payload (Tibber's today: each
    entry ends where the next starts, the last after a quarter hour)."""
    payload = load_fixture(case.fixture)
    if case.provider == "tibber":
        info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
        starts = [datetime.fromisoformat(e["startsAt"]).astimezone(UTC) for e in info["today"]]
        ends = [*starts[1:], starts[-1] + timedelta(minutes=15)]
        return [(s, e, entry["total"]) for s, e, entry in zip(starts, ends, info["today"])]  # noqa: B905
    if case.provider == "octopus":
        rates = sorted(payload["results"], key=lambda r: r["valid_from"])
        return [(datetime.fromisoformat(r["valid_from"]), datetime.fromisoformat(r["valid_to"]),
                 per_kwh(r["value_inc_vat"], 100)) for r in rates]  # fmt: skip
    return [(datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC),
             datetime.fromtimestamp(r["end_timestamp"] / 1000, UTC),
             per_kwh(r["marketprice"], 1000)) for r in payload["data"]]  # fmt: skip


def cheapest_run(
    prices: dict[datetime, float], now: datetime, hours: float, limit: datetime
) -> tuple[datetime, float]:
    """By exhaustive search, not the planner's code: the cheapest unbroken window of `hours`
    over `prices` (per minute) starting at now or a whole number of minutes after it and
    ending by `limit`, and its average; ties to the later one."""
    minute, length = timedelta(minutes=1), round(hours * 60)
    found, start = [], now
    while start + length * minute <= limit:
        minutes = [start + i * minute for i in range(length)]
        if all(m in prices for m in minutes):
            found.append((sum(prices[m] for m in minutes) / length, start))
        start += minute
    best = min(price for price, _ in found)
    return [a for price, a in found if price <= best + 1e-12][-1], best


def tibber_config(server, payload: dict, **site: Any) -> ProviderConfig:
    """A Tibber price config of a new site (Uppsala unless `site` says otherwise) whose API,
    the replay server, answers `payload`."""
    server.add("POST", TIBBER_PATH, json=payload)
    site = {"name": "Uppsala", "latitude": 59.86, "longitude": 17.64, **site}
    return ProviderConfig.objects.create(site=Site.objects.create(**site),
                                         source="electricity_pricing", provider="tibber",
                                         api_key=TIBBER_TOKEN,
                                         options={"base_url": server.url,
                                                  "home_id": TIBBER_HOME})  # fmt: skip


def collect(case: Case, server) -> ProviderConfig:
    """One real collection of the payload, as the hourly task runs it, at 06:07 UTC."""
    if case.provider == "tibber":
        config = tibber_config(server, load_fixture(case.fixture))
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


def assert_slot_served(api, site: Site, moment: datetime, slot: tuple, monkeypatch) -> dict:
    """At `moment`, GET /api/enrichment/current and Home Assistant's price entity both name
    `slot` (start, end, price): its price, start, end and length, not stale. Returns the REST
    entry's value."""
    start, end, price = slot
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    body = api.get("/api/enrichment/current").json()
    [entry] = body["sources"]["electricity_pricing"]["providers"]
    assert entry["stale"] is False, moment
    value = entry["value"]
    assert (value["current_price"], value["time"]) == (price, start.isoformat()), moment
    assert value["slot_minutes"] == (end - start) / timedelta(minutes=1), moment
    [price_state, *_] = pricing_states(site, entry, 1, moment)
    assert float(price_state.state) == price, moment
    about = price_state.attributes
    assert (about["slot_start"], about["slot_end"]) == (start.isoformat(), end.isoformat()), moment
    return value
