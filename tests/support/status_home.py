"""The demo home behind the status page (browser test and `bench.status_page`).

Home Assistant's data is the synthetic demo home (`retention.demo`, as `manage.py demo_home`
writes it), registered, downsampled by a real `downsample_hourly` run and measured by
`retention.stats.metrics.record_metrics` before and after it. One site in Germany has aWATTar prices
and Electricity Maps carbon intensity, collected once through the real pipeline from the
documented answers (tests/fixtures) on the local replay server, their times moved to today,
and two flexible loads for the status page's Plan panel.
"""

import re
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from typing import Any

from django.core.management import call_command

from collectors import clock, pipeline
from collectors.models import FlexibleLoad
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from retention.demo import generate_demo_home
from retention.stats import metrics
from tests.collectors.scenarios_pricing import OCTOPUS_PRODUCTS, OCTOPUS_RATES
from tests.support.replay import ReplayServer

# The Electricity Maps fixtures describe the moment 2026-05-01T14:00Z.
EM_FIXTURE_NOW = datetime(2026, 5, 1, 14, tzinfo=UTC)
# The Octopus and UK Carbon Intensity fixtures describe the half hour from 2026-05-01T12:00Z.
GB_FIXTURE_NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$")
EM_PATHS = {
    "/carbon-intensity/latest": "carbon_intensity_latest.json",
    "/power-breakdown/latest": "power_breakdown_latest.json",
    "/carbon-intensity/forecast": "carbon_intensity_forecast.json",
    "/carbon-intensity/history": "carbon_intensity_history.json",
}


def shifted(payload: Any, delta: timedelta) -> Any:
    """The payload with every ISO 8601 UTC time moved by `delta`, in its own format (minutes,
    seconds or milliseconds, `Z`)."""
    if isinstance(payload, dict):
        return {k: shifted(v, delta) for k, v in payload.items()}
    if isinstance(payload, list):
        return [shifted(v, delta) for v in payload]
    if isinstance(payload, str) and (match := ISO.match(payload)):
        moved = datetime.fromisoformat(payload.replace("Z", "+00:00")) + delta
        if match.group(2):
            return moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return moved.strftime("%Y-%m-%dT%H:%M:%SZ" if match.group(1) else "%Y-%m-%dT%H:%MZ")
    return payload


def hour_of(now: datetime | None = None) -> datetime:
    """The start of the UTC hour of `now` (default: the wall clock's)."""
    return (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)


def register_awattar(server: ReplayServer, now: datetime | None = None) -> list[dict]:
    """aWATTar's documented hourly day, moved so its 24 slots start 2 hours before the hour of
    `now` (default: this hour)."""
    payload = server.load_fixture("awattar/marketdata_hourly.json")
    shift = int((hour_of(now) - timedelta(hours=2)).timestamp() * 1000)
    shift -= payload["data"][0]["start_timestamp"]
    for row in payload["data"]:
        row["start_timestamp"] += shift
        row["end_timestamp"] += shift
    server.add("GET", "/v1/marketdata", json=payload)
    return payload["data"]


def register_gb(server: ReplayServer, now: datetime | None = None) -> dict[str, Any]:
    """Octopus Agile (region C) and UK Carbon Intensity (postcode RG10) as documented for
    2026-05-01 12:00 UTC, moved to the half hour of `now` (default: this one): the product list,
    the three rate pages and the current half hour and 48 h forecast of RG10."""
    now = now or datetime.now(UTC)
    half_hour = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
    delta = half_hour - GB_FIXTURE_NOW
    server.add("GET", OCTOPUS_PRODUCTS, json=server.load_fixture("octopus/products.json"))
    answers = {"rates": []}
    for page in (1, 2, 3):
        answer = shifted(server.load_fixture(f"octopus/agile_page{page}.json"), delta)
        answers["rates"] += answer["results"]
        server.add(
            "GET", OCTOPUS_RATES, json=answer, query={"page": str(page)} if page > 1 else None
        )
    answers["current"] = shifted(
        server.load_fixture("uk_carbon_intensity/regional_postcode.json"), delta
    )
    server.add("GET", "/regional/postcode/RG10", json=answers["current"])
    forecast = shifted(
        server.load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json"), delta
    )
    answers["forecast"] = forecast
    for moment in (half_hour, half_hour + timedelta(minutes=30)):  # asked in the next one too
        stamp = moment.strftime("%Y-%m-%dT%H:%MZ")
        server.add("GET", f"/regional/intensity/{stamp}/fw48h/postcode/RG10", json=forecast)
    return answers


def register_electricitymaps(
    server: ReplayServer, now: datetime | None = None, latest: float | None = None
) -> dict[str, Any]:
    """Electricity Maps' documented answers, moved from their moment to the hour of `now`
    (default: this hour); the latest intensity `latest` instead of the documented one."""
    delta = hour_of(now) - EM_FIXTURE_NOW
    answers = {}
    for path, name in EM_PATHS.items():
        answers[path] = shifted(server.load_fixture(f"electricitymaps/{name}"), delta)
        if latest is not None and path == "/carbon-intensity/latest":
            answers[path]["carbonIntensity"] = latest
        server.add("GET", path, json=answers[path])
    return answers


def write_demo_home(ha_database: str, days: int, entities: int, seed: int = 42) -> int:
    ts = get_timeseries()
    ts.create_database(ha_database)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    return ts.write(ha_database, generate_demo_home(days, entities, end, seed))


def downsample_and_measure(now: datetime | None = None) -> None:
    """Storage measured the day before (all raw), one real downsampling run, measured again."""
    now = now or datetime.now(UTC)
    out = StringIO()
    call_command("discover_entities", stdout=out)
    metrics.record_metrics(now - timedelta(days=1))
    call_command("downsample_hourly", stdout=out, stderr=out)
    metrics.record_metrics(now)


def create_site(server: ReplayServer) -> Site:
    site = Site.objects.create(
        name="Demo home",
        latitude=52.52,
        longitude=13.405,
        timezone="Europe/Berlin",
        grid_region="DE",
        pricing_region="DE",
    )
    ProviderConfig.objects.create(
        site=site,
        source="electricity_pricing",
        provider="awattar",
        interval_seconds=3600,
        options={"base_url": server.url},
    )
    ProviderConfig.objects.create(
        site=site,
        source="carbon_intensity",
        provider="electricitymaps",
        interval_seconds=900,
        api_key="em-demo-token",
        options={"base_url": server.url, "forecast": True},
    )
    return site


def add_loads(site: Site) -> list[FlexibleLoad]:
    """A dishwasher (3 h in one go, done by 07:00, CO2 at 500 EUR/t) and an EV charge (4 h in at
    most two windows, done by 07:30, CO2 at the default price)."""
    return [
        FlexibleLoad.objects.create(site=site, name="Dishwasher", hours=3, deadline=time(7),
                                    carbon_price=500, kw=1.2),
        FlexibleLoad.objects.create(site=site, name="EV charge", hours=4, deadline=time(7, 30),
                                    kw=7.4, contiguous=False, max_windows=2),
    ]  # fmt: skip


def collect_all(site: Site, now: datetime | None = None) -> dict[str, str]:
    return {c.provider: pipeline.collect(c, now=now).status for c in site.providers.all()}


def awattar_site(server: ReplayServer, name: str, now: datetime) -> Site:
    """A site in Berlin priced by aWATTar alone, through `server` (the caller has registered
    its /v1/marketdata answer), collected once at `now`."""
    site = Site.objects.create(name=name, latitude=52.52, longitude=13.405,
                               timezone="Europe/Berlin", pricing_region="DE")  # fmt: skip
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar",
                                  options={"base_url": server.url})  # fmt: skip
    assert collect_all(site, now) == {"awattar": "ok"}
    return site


def berlin_flat(server: ReplayServer, monkeypatch, now: datetime, cheap: dict, slots: int = 24,
                slot: timedelta = timedelta(hours=1)) -> Site:  # fmt: skip
    """A home in Berlin at `now` (`collectors.clock` set to it) with aWATTar's prices from 2 h
    before its hour, `slots` of them, each `slot` long (hourly, or aWATTar's quarter hours):
    100 EUR/MWh, or as `cheap` says for a slot's start."""
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    payload = server.load_fixture("awattar/marketdata_hourly.json")
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    payload["data"] = payload["data"][:slots]
    for n, row in enumerate(payload["data"]):
        start = first + n * slot
        row["start_timestamp"] = int(start.timestamp() * 1000)
        row["end_timestamp"] = int((start + slot).timestamp() * 1000)
        row["marketprice"] = cheap.get(start, 100.0)
    server.add("GET", "/v1/marketdata", json=payload)
    return awattar_site(server, "Berlin flat", now)


def seed_status_home(server: ReplayServer, ha_database: str, days: int = 10,
                     entities: int = 12, now: datetime | None = None) -> Site:  # fmt: skip
    """Everything above, with prices and carbon intensity for the hour of `now` (default: the
    wall clock's); returns the site (its providers collected once, at `now`)."""
    now = now or datetime.now(UTC)
    register_awattar(server, now)
    register_electricitymaps(server, now)
    write_demo_home(ha_database, days, entities)
    downsample_and_measure()
    site = create_site(server)
    collect_all(site, now)
    add_loads(site)
    return site
