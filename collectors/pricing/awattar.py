"""aWATTar (Germany, Austria): EPEX spot day-ahead prices, no key.

`GET {base}/v1/marketdata?start=<epoch ms>&end=<epoch ms>` on api.awattar.de or
api.awattar.at, chosen by the site's pricing region (DE or AT). The answer is
`{"data": [{"start_timestamp", "end_timestamp", "marketprice", "unit": "Eur/MWh"}]}`; prices
are net spot prices (no VAT, grid fees or markup), may be negative, and are stored as EUR/kWh
(/1000, as decimals: 130.4 is 0.1304). Slot widths (60 minutes, 15 since the Oct 2025 market
change) come from each slot's own timestamps. The API serves history, so after an outage the missed days (up to 7) are
fetched again; every fetch asks for up to now + 48 h (tomorrow's prices appear ~14:00 CET).
An answer with no slot covering now (late, or cut) is written as it is, with a note
(`slots.pricing_result`), and the run is partial: the next one asks from the last success.
Budget: 100 requests/day per client (aWATTar's fair use). Options: `base_url` (replaces the
host for both countries), `window_hours`.
"""

from datetime import UTC, datetime, timedelta

from collectors.answers import STORABLE, Answer, api_root, scaled
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.pricing.adapter import PriceAdapter
from collectors.pricing.slots import PriceSlot, in_history
from enrich.http import get_json, malformed

PROVIDER = "awattar"
HOSTS = {"DE": "https://api.awattar.de", "AT": "https://api.awattar.at"}
PATH = "/v1/marketdata"
AHEAD = timedelta(hours=48)
KWH_PER_MWH = 1000


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


STORABLE_MS = tuple(_epoch_ms(moment) for moment in STORABLE)


def _from_ms(provider: str, url: str, value: object, what: str) -> datetime:
    """Epoch milliseconds as an aware UTC datetime; outside the times InfluxDB can store
    (microseconds land in year ~57,000; huge numbers overflow datetime) it is malformed."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(provider, url, f"{what} should be epoch milliseconds, got {value!r}")
    if not STORABLE_MS[0] <= value < STORABLE_MS[1]:
        raise malformed(
            provider,
            url,
            f"{what} {str(value)[:30]} is not epoch milliseconds within the times InfluxDB can "
            "store (1678-2261)",
        )
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


class AwattarAdapter(PriceAdapter):
    source = "electricity_pricing"
    provider = PROVIDER
    budget = "100/day"
    options = PriceAdapter.options | {"base_url"}
    # Checked before the site's region is known: the refusal names both roots.
    option_parsers = (
        api_root(
            HOSTS["DE"], PROVIDER, instead=" or ".join(f"{h} ({c})" for c, h in HOSTS.items())
        ),
        *PriceAdapter.option_parsers,
    )
    budget_scope = "account"  # fair use is per client, whichever country
    history = timedelta(days=7)
    calls_per_fetch = 1
    vat_included = False
    price_basis = "EPEX spot day-ahead price, net: no VAT, grid fees or supplier markup"
    published = "aWATTar publishes the next day's prices around 14:00 CET"

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        country = site.pricing_region.strip().upper()
        if country not in HOSTS:
            raise ConfigError(
                f"aWATTar serves Germany and Austria only, but site {site.name!r} has pricing "
                f"region {site.pricing_region!r}. Set Site.pricing_region (or PRICING_REGION) "
                "to DE or AT."
            )
        return self.price_target(country, credentials.options, country=country)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        country = target.params["country"]
        url = api_root(HOSTS[country], PROVIDER)(credentials.options) + PATH
        start = in_history(window.start, window.now, self.history)
        params = {"start": _epoch_ms(start), "end": _epoch_ms(window.now + AHEAD)}
        body, answer = get_json(PROVIDER, url, params=params), Answer(PROVIDER, url)
        rows = answer.get(body, "data", "the answer")
        if not isinstance(rows, list):
            raise malformed(PROVIDER, url, f"'data' should be a list, got {rows!r}")
        slots = []
        for index, row in enumerate(rows):
            what = f"data[{index}]"
            unit = answer.get(row, "unit", what)
            if not isinstance(unit, str) or unit.lower() != "eur/mwh":
                raise malformed(PROVIDER, url, f"{what}.unit is {unit!r}, expected 'Eur/MWh'")
            slots.append(
                PriceSlot(
                    start=_from_ms(
                        PROVIDER,
                        url,
                        answer.get(row, "start_timestamp", what),
                        f"{what}.start_timestamp",
                    ),
                    end=_from_ms(
                        PROVIDER,
                        url,
                        answer.get(row, "end_timestamp", what),
                        f"{what}.end_timestamp",
                    ),
                    price=scaled(
                        answer.a_number(
                            answer.get(row, "marketprice", what), f"{what}.marketprice"
                        ),
                        per=KWH_PER_MWH,
                    ),
                )
            )
        return self.price_result(target, window, url=url, currency="EUR", slots=slots)
