"""The bench's regions and the replayed API answers for one collection cycle.

Twenty real regions, each with a real carbon target and, where one of our price providers
serves it, a real price target, so "regions x endpoints" is honest:

- the 14 GB distribution regions: UK Carbon Intensity region ids 1-14 (carbon) and the
  Octopus Agile GSP letter of the same area (prices);
- DE and AT: Electricity Maps zone (carbon) and aWATTar (prices);
- FR, NL, BE, DK-DK1: Electricity Maps zone (carbon) only. aWATTar serves DE/AT alone, Octopus
  GB alone, and Tibber prices are per home (its calls scale with homes, not regions).

The answers are the documented payloads of tests/fixtures/ with two changes: the region
names (UK) or zone (Electricity Maps) of each target are put in, and every timestamp is moved
so the first slot is the current one, which is what a live API answers during a cycle.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.replay import ReplayServer, load_fixture

OCTOPUS_PRODUCT = "AGILE-24-10-01"


@dataclass(frozen=True)
class Region:
    name: str
    latitude: float
    longitude: float
    timezone: str
    carbon: str  # "uk_carbon_intensity" or "electricitymaps"
    grid_region: str  # UK region id or Electricity Maps zone
    price: str | None = None  # "octopus", "awattar" or None (no provider of ours serves it)
    pricing_region: str = ""  # Octopus GSP letter or aWATTar country
    dno: str = ""  # UK: the distribution network operator NESO names for the region


def _gb(name: str, lat: float, lon: float, region_id: int, letter: str, dno: str) -> Region:
    return Region(
        name,
        lat,
        lon,
        "Europe/London",
        "uk_carbon_intensity",
        str(region_id),
        "octopus",
        letter,
        dno,
    )


def _zone(name: str, lat: float, lon: float, tz: str, zone: str, awattar: bool = False) -> Region:
    price = "awattar" if awattar else None
    return Region(name, lat, lon, tz, "electricitymaps", zone, price, zone if awattar else "")


# Ordered so that the first five (the quick run) mix both kinds.
REGIONS: tuple[Region, ...] = (
    _gb("London", 51.51, -0.13, 13, "C", "UKPN London"),
    _zone("Germany", 52.52, 13.40, "Europe/Berlin", "DE", awattar=True),
    _gb("South England", 50.90, -1.40, 12, "H", "SSE South"),
    _zone("Austria", 48.21, 16.37, "Europe/Vienna", "AT", awattar=True),
    _gb("North West England", 53.48, -2.24, 3, "G", "Electricity North West"),
    _zone("France", 48.86, 2.35, "Europe/Paris", "FR"),
    _gb("North Scotland", 57.48, -4.22, 1, "P", "Scottish Hydro Electric Power Distribution"),
    _gb("South Scotland", 55.95, -3.19, 2, "N", "SP Distribution"),
    _gb("North East England", 54.97, -1.61, 4, "F", "NPG North East"),
    _gb("Yorkshire", 53.80, -1.55, 5, "M", "NPG Yorkshire"),
    _zone("Netherlands", 52.37, 4.90, "Europe/Amsterdam", "NL"),
    _gb("North Wales & Merseyside", 53.41, -2.98, 6, "D", "SP Manweb"),
    _gb("South Wales", 51.48, -3.18, 7, "K", "WPD South Wales"),
    _gb("West Midlands", 52.49, -1.89, 8, "E", "WPD West Midlands"),
    _zone("Belgium", 50.85, 4.35, "Europe/Brussels", "BE"),
    _gb("East Midlands", 52.95, -1.15, 9, "B", "WPD East Midlands"),
    _gb("East England", 52.63, 1.30, 10, "A", "UKPN East"),
    _gb("South West England", 50.72, -3.53, 11, "L", "WPD South West"),
    _gb("South East England", 51.28, 1.08, 14, "J", "UKPN South East"),
    _zone("West Denmark", 56.16, 10.20, "Europe/Copenhagen", "DK-DK1"),
)

# Each provider gets its own root on the replay server, as each has its own host.
ROOTS = {
    "uk_carbon_intensity": "/uk-carbon-intensity",
    "electricitymaps": "/electricitymaps/v3",
    "octopus": "/octopus",
    "awattar-DE": "/awattar-de",
    "awattar-AT": "/awattar-at",
}


def base_url(server: ReplayServer, region: Region, provider: str) -> str:
    key = f"awattar-{region.pricing_region}" if provider == "awattar" else provider
    return server.url + ROOTS[key]


def bench_options(server: ReplayServer, region: Region, provider: str) -> dict[str, str]:
    """The provider options of a bench site: the replayed base URL; for Octopus the product
    (set, so no daily /v1/products/ lookup per worker process muddles the call counts)."""
    options = {"base_url": base_url(server, region, provider)}
    if provider == "octopus":
        options["product_code"] = OCTOPUS_PRODUCT
    return options


@dataclass(frozen=True)
class Endpoint:
    """One API target x endpoint: what a collection cycle should call exactly once."""

    provider: str
    target: str
    path: str
    query: tuple[tuple[str, str], ...] = ()


# --- moving the payloads' timestamps to now ---------------------------------------------------

_ISO = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d(?P<seconds>:\d\d(?P<fraction>\.\d+)?)?(?P<zone>Z|[+-]\d\d:\d\d)$"
)
_EPOCH_MS_KEYS = ("start_timestamp", "end_timestamp")


def _shift_text(text: str, delta: timedelta) -> str:
    match = _ISO.match(text)
    if not match:
        return text
    moved = datetime.fromisoformat(text) + delta
    rendered = moved.strftime("%Y-%m-%dT%H:%M")
    if match["seconds"]:
        rendered += moved.strftime(":%S")
        if match["fraction"]:
            digits = len(match["fraction"]) - 1
            rendered += "." + f"{moved.microsecond:06d}"[:digits].ljust(digits, "0")
    if match["zone"] == "Z":
        return rendered + "Z"
    return rendered + moved.strftime("%z")[:3] + ":" + moved.strftime("%z")[3:]


def shifted(payload: Any, delta: timedelta) -> Any:
    """The payload with every ISO 8601 time and every epoch-ms slot bound moved by `delta`,
    written back in the payload's own format."""
    if isinstance(payload, dict):
        return {
            key: value + int(delta.total_seconds() * 1000)
            if key in _EPOCH_MS_KEYS and isinstance(value, int)
            else shifted(value, delta)
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [shifted(item, delta) for item in payload]
    if isinstance(payload, str):
        return _shift_text(payload, delta)
    return payload


def _floor(moment: datetime, minutes: int) -> datetime:
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % minutes)


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- the answers, per provider ---------------------------------------------------------------


def _uk_routes(server: ReplayServer, region: Region, now: datetime) -> list[Endpoint]:
    root, region_id = ROOTS["uk_carbon_intensity"], int(region.grid_region)
    names = {"regionid": region_id, "shortname": region.name, "dnoregion": region.dno}
    current = load_fixture("uk_carbon_intensity/regional_regionid.json")
    current["data"][0].update(names)
    slot = _floor(now, 30)
    delta = slot - _iso(current["data"][0]["data"][0]["from"])
    path = f"{root}/regional/regionid/{region_id}"
    server.add("GET", path, json=shifted(current, delta))
    ahead = load_fixture("uk_carbon_intensity/regional_fw48h_regionid.json")
    ahead["data"].update(names)
    first = _iso(ahead["data"]["data"][0]["from"])
    # The URL names the current half hour: answer for this one and the next, in case the
    # cycle runs across a half-hour boundary.
    for half_hour in (slot, slot + timedelta(minutes=30)):
        stamp = half_hour.strftime("%Y-%m-%dT%H:%MZ")
        forecast_path = f"{root}/regional/intensity/{stamp}/fw48h/regionid/{region_id}"
        server.add("GET", forecast_path, json=shifted(ahead, half_hour - first))
    forecast_template = f"{root}/regional/intensity/<half hour>/fw48h/regionid/{region_id}"
    return [
        Endpoint("uk_carbon_intensity", f"regionid/{region_id}", path),
        Endpoint("uk_carbon_intensity", f"regionid/{region_id}", forecast_template),
    ]


def _electricitymaps_routes(server: ReplayServer, region: Region, now: datetime) -> list[Endpoint]:
    root, zone = ROOTS["electricitymaps"], region.grid_region
    endpoints = []
    for endpoint, fixture in (
        ("/carbon-intensity/latest", "carbon_intensity_latest.json"),
        ("/power-breakdown/latest", "power_breakdown_latest.json"),
    ):
        body = load_fixture(f"electricitymaps/{fixture}")
        body["zone"] = zone
        delta = _floor(now, 60) - _iso(body["datetime"])
        server.add("GET", root + endpoint, json=shifted(body, delta), query={"zone": zone})
        endpoints.append(
            Endpoint("electricitymaps", zone, root + endpoint, query=(("zone", zone),))
        )
    return endpoints


def _octopus_routes(server: ReplayServer, region: Region, now: datetime) -> list[Endpoint]:
    # The fixture's three pages of 16 rates, as one page: what page_size=1500 answers.
    rates = [
        rate
        for page in (1, 2, 3)
        for rate in load_fixture(f"octopus/agile_page{page}.json")["results"]
    ]
    body = {"count": len(rates), "next": None, "previous": None, "results": rates}
    delta = _floor(now, 30) - min(_iso(rate["valid_from"]) for rate in rates)
    tariff = f"E-1R-{OCTOPUS_PRODUCT}-{region.pricing_region}"
    path = (
        f"{ROOTS['octopus']}/v1/products/{OCTOPUS_PRODUCT}/electricity-tariffs/{tariff}"
        "/standard-unit-rates/"
    )
    server.add("GET", path, json=shifted(body, delta))
    return [Endpoint("octopus", tariff, path)]


def _awattar_routes(server: ReplayServer, region: Region, now: datetime) -> list[Endpoint]:
    body = load_fixture("awattar/marketdata_hourly.json")
    first = datetime.fromtimestamp(body["data"][0]["start_timestamp"] / 1000, UTC)
    path = ROOTS[f"awattar-{region.pricing_region}"] + "/v1/marketdata"
    server.add("GET", path, json=shifted(body, _floor(now, 60) - first))
    return [Endpoint("awattar", region.pricing_region, path)]


_ROUTES = {
    "uk_carbon_intensity": _uk_routes,
    "electricitymaps": _electricitymaps_routes,
    "octopus": _octopus_routes,
    "awattar": _awattar_routes,
}


def register_answers(
    server: ReplayServer, regions: tuple[Region, ...], now: datetime
) -> list[Endpoint]:
    """Register every answer the cycle needs; return the target x endpoint pairs (each should
    be called exactly once)."""
    endpoints: list[Endpoint] = []
    for region in regions:
        endpoints += _ROUTES[region.carbon](server, region, now)
        if region.price:
            endpoints += _ROUTES[region.price](server, region, now)
    return endpoints
