"""Price answers that cannot be stored (found by fuzzing): each is a MalformedResponse naming
the answer field, never another exception out of `fetch` (the pipeline would record nothing).
Against the local replay server; negative prices stay valid."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import Credentials, SiteInfo, Window
from collectors.pricing.awattar import AwattarAdapter
from collectors.pricing.octopus import OctopusAgileAdapter
from collectors.pricing.tibber import TibberAdapter
from enrich.http import MalformedResponse
from tests.collectors.scenarios_pricing import (
    AWATTAR_NOW,
    OCTOPUS_NOW,
    OCTOPUS_RATES,
    TIBBER_HOME,
    TIBBER_NOW,
    TIBBER_TOKEN,
)
from tests.support.pricing import split

AWATTAR = "/v1/marketdata"
TIBBER = "/v1-beta/gql"
HOUR_MS = 3_600_000
AWATTAR_SLOT_MS = int(datetime(2026, 4, 30, 22, tzinfo=UTC).timestamp() * 1000)


def fetch(adapter, site, credentials, now):
    window = Window(now - timedelta(hours=1), now, now)
    return adapter.fetch(adapter.target(site, credentials), credentials, window)


def awattar_row(**change) -> dict:
    """The slot covering AWATTAR_NOW, with `change` applied."""
    row = {
        "start_timestamp": AWATTAR_SLOT_MS,
        "end_timestamp": AWATTAR_SLOT_MS + HOUR_MS,
        "marketprice": -5.12,
        "unit": "Eur/MWh",
    }
    return {**row, **change}


def run_awattar(server, *rows):
    server.add("GET", AWATTAR, json={"object": "list", "data": list(rows)})
    site = SiteInfo("Berlin", 52.52, 13.40, pricing_region="DE")
    return fetch(AwattarAdapter(), site, Credentials(options={"base_url": server.url}), AWATTAR_NOW)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # microseconds (x1000): year ~57,000, which datetime cannot hold
        ({"start_timestamp": AWATTAR_SLOT_MS * 1000}, r"data\[0\].start_timestamp"),
        ({"end_timestamp": (AWATTAR_SLOT_MS + HOUR_MS) * 1000}, r"data\[0\].end_timestamp"),
        ({"end_timestamp": 10**30}, r"data\[0\].end_timestamp"),
        ({"start_timestamp": -(10**30)}, r"data\[0\].start_timestamp"),
        # a datetime can hold year 3000, InfluxDB cannot store it
        ({"end_timestamp": 32_503_680_000_000}, r"data\[0\].end_timestamp"),
    ],
)
def test_awattar_timestamps_out_of_range_are_malformed(replay_server, change, field):
    with pytest.raises(MalformedResponse, match=f"{field} .* not epoch milliseconds within"):
        run_awattar(replay_server, awattar_row(**change))


def test_awattar_nan_price_is_malformed_and_a_negative_one_is_kept(replay_server):
    with pytest.raises(MalformedResponse, match=r"data\[0\].marketprice .*finite"):
        run_awattar(replay_server, awattar_row(marketprice=float("nan")))
    replay_server.reset()
    forecast, _ = split(run_awattar(replay_server, awattar_row()))
    assert [r.fields["price"] for r in forecast] == [-0.00512]
    assert forecast[0].time == datetime(2026, 4, 30, 22, tzinfo=UTC)


def tibber_answer(server, today, current):
    info = {"current": current, "today": today, "tomorrow": []}
    subscription = {"currentSubscription": {"priceInfo": info}}
    server.add("POST", TIBBER, json={"data": {"viewer": {"home": subscription}}})
    credentials = Credentials(
        api_key=TIBBER_TOKEN, options={"base_url": server.url, "home_id": TIBBER_HOME}
    )
    return fetch(TibberAdapter(), SiteInfo("home", 59.9, 17.6), credentials, TIBBER_NOW)


def quarter(start: datetime, total: float) -> dict:
    return {"total": total, "startsAt": start.isoformat(), "level": "NORMAL"}


TIBBER_TODAY = [
    quarter(datetime(2026, 5, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=15 * i), 1.0 + i / 10)
    for i in range(4)
]


def test_tibber_starts_at_year_9999_with_an_offset_is_malformed(replay_server):
    today = [*TIBBER_TODAY, {"total": 1.5, "startsAt": "9999-12-31T23:45:00.000-02:00"}]
    current = {**TIBBER_TODAY[1], "currency": "SEK"}
    with pytest.raises(MalformedResponse, match=r"priceInfo.today\[4\].startsAt '9999-12-31"):
        tibber_answer(replay_server, today, current)


@pytest.mark.parametrize("currency", ["", "sek", "SEK\\", "SEK\n", "Kronor", 752, None])
def test_tibber_currency_that_is_no_iso_code_is_malformed(replay_server, currency):
    # It is the `currency` tag and the unit of the price sensor (`<currency>/kWh`): a text
    # such as "SEK\\" failed the write, "sek" was a series of its own.
    current = {**TIBBER_TODAY[1], "currency": currency}
    with pytest.raises(MalformedResponse, match="priceInfo.current.currency is .*not an ISO 4217"):
        tibber_answer(replay_server, TIBBER_TODAY, current)


def test_tibber_current_inside_a_listed_slot_is_malformed_not_a_new_slot(replay_server):
    # On a slot start (or alone) the current price is used...
    current = {**TIBBER_TODAY[1], "currency": "SEK"}
    forecast, headline = split(tibber_answer(replay_server, TIBBER_TODAY, current))
    assert [r.fields["slot_minutes"] for r in forecast] == [15.0] * 4
    assert headline.fields["current_price"] == 1.1
    replay_server.reset()
    (slot,), headline = split(tibber_answer(replay_server, [], current))
    assert (slot.time, slot.fields["slot_minutes"]) == (TIBBER_NOW - timedelta(minutes=5), 15.0)
    # ...but 12:20Z is inside the 12:15 quarter: taking it would cut that quarter at 12:20
    # and invent a 12:20-12:30 slot at the current price.
    replay_server.reset()
    current = {**quarter(datetime(2026, 5, 1, 12, 20, tzinfo=UTC), 9.99), "currency": "SEK"}
    with pytest.raises(
        MalformedResponse, match=r"priceInfo.current.startsAt 2026-05-01T12:20:00\+00:00 is not"
    ):
        tibber_answer(replay_server, TIBBER_TODAY, current)


def octopus_rates(server, *results):
    page = {"count": len(results), "next": None, "previous": None, "results": list(results)}
    server.add("GET", OCTOPUS_RATES, json=page)
    options = {"base_url": server.url, "product_code": "AGILE-24-10-01"}
    site = SiteInfo("home", 51.5, -0.1, pricing_region="C")
    return fetch(OctopusAgileAdapter(), site, Credentials(options=options), OCTOPUS_NOW)


@pytest.mark.parametrize("valid_to", ["9999-12-31T23:59:59Z", "9999-12-31T23:00:00-02:00"])
def test_octopus_valid_to_in_year_9999_is_malformed(replay_server, valid_to):
    rates = [
        {"value_inc_vat": 24.5, "valid_from": "2026-05-01T12:30:00Z", "valid_to": valid_to},
        {"value_inc_vat": -2.1, "valid_from": "2026-05-01T12:00:00Z",
         "valid_to": "2026-05-01T12:30:00Z"},
    ]  # fmt: skip
    with pytest.raises(MalformedResponse, match=r"results\[0\].valid_to '9999-12-31"):
        octopus_rates(replay_server, *rates)
