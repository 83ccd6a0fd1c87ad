"""Happy-path scenarios of the carbon-intensity adapters for the shared contract test, and
the helpers their own tests share."""

import json
from datetime import UTC, datetime

from collectors.base import Adapter, Credentials, FetchResult, SiteInfo, Window
from tests.support.replay import ReplayServer

WATTTIME_NOW = datetime(2026, 5, 1, 14, 7, tzinfo=UTC)
ELECTRICITYMAPS_NOW = datetime(2026, 5, 1, 14, 20, tzinfo=UTC)
UK_NOW = datetime(2026, 5, 1, 12, 10, tzinfo=UTC)


def watttime(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    """A forecast-plan account in CAISO_NORTH: login, signal index, 25 h MOER forecast."""
    server.add("GET", "/login", json=server.load_fixture("watttime/login.json"))
    server.add("GET", "/v3/signal-index", json=server.load_fixture("watttime/signal_index.json"))
    server.add("GET", "/v3/forecast", json=server.load_fixture("watttime/forecast_25h.json"))
    site = SiteInfo(
        name="Sacramento home",
        latitude=38.5816,
        longitude=-121.4944,
        timezone="America/Los_Angeles",
        grid_region="CAISO_NORTH",
    )
    credentials = Credentials(
        username="enrich-test",
        password="test-watttime-password",
        options={"base_url": server.url, "plan": "forecast"},
    )
    return site, credentials, WATTTIME_NOW


def electricitymaps(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    """Zone DE on the v3 API: latest carbon intensity and power breakdown."""
    server.add(
        "GET",
        "/v3/carbon-intensity/latest",
        json=server.load_fixture("electricitymaps/carbon_intensity_latest.json"),
    )
    server.add(
        "GET",
        "/v3/power-breakdown/latest",
        json=server.load_fixture("electricitymaps/power_breakdown_latest.json"),
    )
    site = SiteInfo(
        name="Berlin flat",
        latitude=52.52,
        longitude=13.405,
        timezone="Europe/Berlin",
        grid_region="DE",
    )
    credentials = Credentials(api_key="test-em-token-abc", options={"base_url": server.url + "/v3"})
    return site, credentials, ELECTRICITYMAPS_NOW


def uk_carbon_intensity(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    """A Reading (RG10) home: the regional current half hour and the 48 h forecast."""
    server.add(
        "GET",
        "/regional/postcode/RG10",
        json=server.load_fixture("uk_carbon_intensity/regional_postcode.json"),
    )
    server.add(
        "GET",
        "/regional/intensity/2026-05-01T12:00Z/fw48h/postcode/RG10",
        json=server.load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json"),
    )
    site = SiteInfo(
        name="Twyford home",
        latitude=51.4769,
        longitude=-0.8636,
        timezone="Europe/London",
        grid_region="RG10 9XX",
    )
    return site, Credentials(options={"base_url": server.url}), UK_NOW


SCENARIOS = {
    "watttime": watttime,
    "electricitymaps": electricitymaps,
    "uk_carbon_intensity": uk_carbon_intensity,
}


def fetch_checked(
    adapter: Adapter, site: SiteInfo, credentials: Credentials, window: Window
) -> FetchResult:
    """One fetch, checking that every reading is writable and the current answer is JSON."""
    result = adapter.fetch(adapter.target(site, credentials), credentials, window)
    for reading in result.readings:
        reading.to_line()
    json.dumps(result.current)
    return result


def split(result: FetchResult) -> tuple[list, list]:
    """The headline readings (oldest first) and the forecast series of one fetch."""
    now = sorted(
        (r for r in result.readings if r.measurement == "carbon_intensity"), key=lambda r: r.time
    )
    series = [r for r in result.readings if r.measurement == "carbon_intensity_forecast"]
    return now, series
