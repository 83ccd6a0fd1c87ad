"""Happy-path scenarios of the carbon-intensity adapters for the shared contract test, and
the helpers their own tests share."""

import json
from datetime import UTC, datetime
from typing import Any

from collectors.base import Adapter, Credentials, FetchResult, SiteInfo, Window
from tests.support.replay import ReplayServer

WATTTIME_NOW = datetime(2026, 5, 1, 14, 7, tzinfo=UTC)
ELECTRICITYMAPS_NOW = datetime(2026, 5, 1, 14, 20, tzinfo=UTC)
UK_NOW = datetime(2026, 5, 1, 12, 10, tzinfo=UTC)

# Each scenario's answers: {path: fixture}.
WATTTIME_ROUTES = {
    "/login": "watttime/login.json",
    "/v3/signal-index": "watttime/signal_index.json",
    "/v3/forecast": "watttime/forecast_25h.json",
}
ELECTRICITYMAPS_ROUTES = {
    "/v3/carbon-intensity/latest": "electricitymaps/carbon_intensity_latest.json",
    "/v3/power-breakdown/latest": "electricitymaps/power_breakdown_latest.json",
}
UK_POSTCODE_ROUTES = {
    "/regional/postcode/RG10": "uk_carbon_intensity/regional_postcode.json",
    "/regional/intensity/2026-05-01T12:00Z/fw48h/postcode/RG10": (
        "uk_carbon_intensity/regional_fw48h_postcode.json"
    ),
}
ELECTRICITYMAPS_HISTORY = "/v3/carbon-intensity/history"
# {path: [server.add() keyword arguments, ...]}: answers that replace a scenario's own.
Replies = dict[str, list[dict[str, Any]]]
Scenario = tuple[SiteInfo, Credentials, datetime]  # what the adapter is called with


def serve(server: ReplayServer, routes: dict[str, str], replies: Replies | None = None) -> None:
    """GET each path of `routes` ({path: fixture}) answers its fixture; `replies` replace a
    path's answers or add a path."""
    replies = replies or {}
    for path in {**routes, **replies}:
        for reply in replies.get(path) or [{"json": server.load_fixture(routes[path])}]:
            server.add("GET", path, **reply)


def watttime(server: ReplayServer, replies: Replies | None = None) -> Scenario:
    """A forecast-plan account in CAISO_NORTH: login, signal index, 25 h MOER forecast."""
    serve(server, WATTTIME_ROUTES, replies)
    site = SiteInfo(
        "Sacramento home",
        38.5816,
        -121.4944,
        timezone="America/Los_Angeles",
        grid_region="CAISO_NORTH",
    )
    credentials = Credentials(
        username="enrich-test",
        password="test-watttime-password",
        options={"base_url": server.url, "plan": "forecast"},
    )
    return site, credentials, WATTTIME_NOW


def electricitymaps(server: ReplayServer, replies: Replies | None = None) -> Scenario:
    """Zone DE on the v3 API: latest carbon intensity and power breakdown."""
    serve(server, ELECTRICITYMAPS_ROUTES, replies)
    site = SiteInfo("Berlin flat", 52.52, 13.405, timezone="Europe/Berlin", grid_region="DE")
    credentials = Credentials(api_key="test-em-token-abc", options={"base_url": server.url + "/v3"})
    return site, credentials, ELECTRICITYMAPS_NOW


def uk_carbon_intensity(server: ReplayServer, replies: Replies | None = None) -> Scenario:
    """A Reading (RG10) home: the regional current half hour and the 48 h forecast."""
    serve(server, UK_POSTCODE_ROUTES, replies)
    site = SiteInfo(
        "Twyford home", 51.4769, -0.8636, timezone="Europe/London", grid_region="RG10 9XX"
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


def carbon_tags(provider: str, region: str, grid_operator: str = "") -> dict[str, str]:
    """The tags of a carbon reading: the region, its grid operator (the region itself unless
    the API names one) and the provider."""
    return {"region": region, "grid_operator": grid_operator or region, "provider": provider}


def split(result: FetchResult) -> tuple[list, list]:
    """The headline readings (oldest first) and the forecast series of one fetch."""
    now = sorted(
        (r for r in result.readings if r.measurement == "carbon_intensity"), key=lambda r: r.time
    )
    series = [r for r in result.readings if r.measurement == "carbon_intensity_forecast"]
    return now, series


def electricitymaps_latest(server: ReplayServer, times: int = 1) -> None:
    """Electricity Maps' latest-value answers, `times` each."""
    for path, name in ELECTRICITYMAPS_ROUTES.items():
        server.add("GET", path, json=server.load_fixture(name), times=times)


def stored_carbon(ts, database: str) -> dict[str, dict]:
    """The carbon_intensity points written, by time."""
    rows = ts.query(database, 'SELECT * FROM "carbon_intensity" GROUP BY *')
    return {r.time.isoformat(): r.values for r in rows}
