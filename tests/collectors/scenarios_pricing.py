"""Happy-path scenarios of the price adapters for the contract test (and their own tests).

Each `scenario(server)` registers the routes on the replay server and returns
(SiteInfo, Credentials, now) to call the adapter with.
"""

from datetime import UTC, datetime

from collectors.base import Credentials, SiteInfo
from tests.support.replay import ReplayServer, load_fixture

# aWATTar hand-made day 2026-05-01 (Europe/Berlin, hourly): now is 00:20 local.
AWATTAR_NOW = datetime(2026, 4, 30, 22, 20, tzinfo=UTC)
# Tibber 2026-05-01 (Europe/Stockholm, quarter-hourly): now is 14:20 local.
TIBBER_NOW = datetime(2026, 5, 1, 12, 20, tzinfo=UTC)
TIBBER_HOME = "96a14971-525a-4420-aae9-e5aedaa129ff"
TIBBER_TOKEN = "tibber-personal-token-5c1e9a"
# Octopus Agile 2026-05-01 (Europe/London, half-hourly, three pages): now is 13:10 local.
OCTOPUS_NOW = datetime(2026, 5, 1, 12, 10, tzinfo=UTC)
OCTOPUS_PRODUCTS = "/v1/products/"
OCTOPUS_RATES = (
    "/v1/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/"
)


def awattar(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    site = SiteInfo("Berlin", 52.52, 13.40, timezone="Europe/Berlin", pricing_region="DE")
    return site, Credentials(options={"base_url": server.url}), AWATTAR_NOW


def tibber(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    server.add("POST", "/v1-beta/gql", json=load_fixture("tibber/price_info_today_only.json"))
    site = SiteInfo("Uppsala", 59.86, 17.64, timezone="Europe/Stockholm")
    credentials = Credentials(
        api_key=TIBBER_TOKEN, options={"base_url": server.url, "home_id": TIBBER_HOME}
    )
    return site, credentials, TIBBER_NOW


def octopus(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    # No product_code: the current Agile product is looked up in the product list first.
    server.add("GET", OCTOPUS_PRODUCTS, json=load_fixture("octopus/products.json"))
    # The first rates request has no `page`; the `next` links ask for pages 2 and 3.
    server.add("GET", OCTOPUS_RATES, json=load_fixture("octopus/agile_page1.json"))
    for page in (2, 3):
        server.add(
            "GET",
            OCTOPUS_RATES,
            json=load_fixture(f"octopus/agile_page{page}.json"),
            query={"page": str(page)},
        )
    site = SiteInfo("London", 51.51, -0.13, timezone="Europe/London", pricing_region="C")
    return site, Credentials(options={"base_url": server.url}), OCTOPUS_NOW


SCENARIOS = {"awattar": awattar, "tibber": tibber, "octopus": octopus}
