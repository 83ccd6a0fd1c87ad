"""The plan tests' yardstick: Octopus Agile prices (region C) and UK Carbon Intensity (RG10)
per minute, straight from their documented payloads, and the best window over them found by
exhaustive search (not with the planner's code), as seen at NOW."""

from datetime import UTC, datetime, timedelta

from tests.support.replay import load_fixture

NOW = datetime(2026, 5, 1, 12, 10, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def octopus_prices() -> dict[datetime, float]:
    """GBP/kWh per minute, from the three payload pages (p/kWh incl. VAT / 100)."""
    rates = []
    for page in (1, 2, 3):
        rates += load_fixture(f"octopus/agile_page{page}.json")["results"]
    return _minutes((datetime.fromisoformat(r["valid_from"]), datetime.fromisoformat(r["valid_to"]),
                     r["value_inc_vat"] / 100) for r in rates)  # fmt: skip


def uk_carbon() -> dict[datetime, float]:
    slots = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")["data"]["data"]
    return _minutes((datetime.fromisoformat(s["from"]), datetime.fromisoformat(s["to"]),
                     s["intensity"]["forecast"]) for s in slots)  # fmt: skip


def _minutes(slots) -> dict[datetime, float]:
    values = {}
    for start, end, value in slots:
        moment = start
        while moment < end:
            values[moment] = value
            moment += MINUTE
    return values


def average(values, start, end) -> float:
    minutes = [values[start + i * MINUTE] for i in range(round((end - start) / MINUTE))]
    return sum(minutes) / len(minutes)


def expected_window(hours: float, score) -> tuple[datetime, datetime]:
    """The best window by `score(start, end)`: running now or whole half hours from 12:30 up
    to the last price (23:00); ties to the later one."""
    length = timedelta(hours=hours)
    found = [(NOW, NOW + length)]
    start = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    while start + length <= datetime(2026, 5, 1, 23, tzinfo=UTC):
        found.append((start, start + length))
        start += timedelta(minutes=30)
    best = min(score(a, b) for a, b in found)
    return [(a, b) for a, b in found if score(a, b) <= best + 1e-12][-1]


def berlin_collected(replay_server, now: datetime):
    """A Berlin site with aWATTar (its hourly payload) and Electricity Maps without a forecast
    (the latest value only: register its answers first), both collected at `now`."""
    from collectors import pipeline
    from enrich.models import ProviderConfig, Site

    replay_server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    site = Site.objects.create(name="Berlin", latitude=52.52, longitude=13.405,
                               pricing_region="DE", grid_region="DE")  # fmt: skip
    for source, provider, extra in (
        ("electricity_pricing", "awattar", {"options": {"base_url": replay_server.url}}),
        ("carbon_intensity", "electricitymaps",
         {"api_key": "test-em-token-abc", "options": {"base_url": replay_server.url + "/v3"}}),
    ):  # fmt: skip
        config = ProviderConfig.objects.create(site=site, source=source, provider=provider, **extra)
        assert pipeline.collect(config, now=now).status == "ok"
    return site
