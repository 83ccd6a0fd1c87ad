"""Octopus Agile adapter against the local replay server: pagination, p/kWh -> GBP/kWh, tariff
codes, DST half-hours, open-ended rates, auth and HTTP errors."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import ConfigError, Credentials, SiteInfo, Window
from collectors.pricing.octopus import OctopusAgileAdapter
from enrich.http import (
    AuthError,
    MalformedResponse,
    PermanentError,
    TransientError,
)
from tests.collectors.scenarios_pricing import (
    OCTOPUS_NOW,
    OCTOPUS_PRODUCTS,
    OCTOPUS_RATES,
    SCENARIOS,
)
from tests.support.http_faults import (
    fails_without_retry,
    gives_up_at_the_timeout,
    rate_limited_for,
)
from tests.support.pricing import per_kwh, split


@pytest.fixture
def adapter() -> OctopusAgileAdapter:
    return OctopusAgileAdapter()


def run(adapter, server, now=OCTOPUS_NOW, start=None, api_key="", region="C", options=None):
    """A fetch of the tariff of product AGILE-24-10-01 (set, so no product lookup) unless
    `options` say otherwise."""
    options = {"base_url": server.url, "product_code": "AGILE-24-10-01", **(options or {})}
    credentials = Credentials(api_key=api_key, options=options)
    target = adapter.target(SiteInfo("home", 51.5, -0.1, pricing_region=region), credentials)
    return adapter.fetch(target, credentials, Window(start or now - timedelta(hours=1), now, now))


def rate(start: str, end: str | None, pence: float, payment_method=None) -> dict:
    return {"value_exc_vat": round(pence / 1.05, 4), "value_inc_vat": pence, "valid_from": start,
            "valid_to": end, "payment_method": payment_method}  # fmt: skip


def page(*results) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": list(results)}


def test_three_pages_all_requested_and_ordered(replay_server, adapter):
    site, credentials, now = SCENARIOS["octopus"](replay_server)
    target = adapter.target(site, credentials)
    assert target.key == "agile-C"  # the current Agile product of region C, whichever it is
    result = adapter.fetch(target, credentials, Window(now - timedelta(hours=1), now, now))

    (products,) = replay_server.calls("GET", OCTOPUS_PRODUCTS)
    assert products.query == {
        "is_variable": "true",
        "is_business": "false",
        "available_at": "2026-05-01T12:10:00Z",
    }
    first, second, third = replay_server.calls("GET", OCTOPUS_RATES)
    assert first.query == {
        "period_from": "2026-05-01T11:10:00Z",
        "period_to": "2026-05-03T12:10:00Z",
        "page_size": "1500",
    }
    # the `next` links (written for api.octopus.energy) are followed on the base URL
    assert second.query["page"] == "2" and third.query["page"] == "3"
    assert all(r.matched for r in replay_server.requests)
    assert "Authorization" not in first.headers  # public product: no key, no auth

    forecast, headline = split(result)
    assert len(forecast) == 48
    times = [r.time for r in forecast]
    assert times == sorted(times)  # the API answers newest first
    assert times[0] == datetime(2026, 4, 30, 23, 0, tzinfo=UTC)  # 00:00 BST
    assert all(b - a == timedelta(minutes=30) for a, b in zip(times, times[1:], strict=False))
    assert {r.fields["slot_minutes"] for r in forecast} == {30.0}
    # 20.236 p/kWh incl. VAT -> 0.20236 GBP/kWh
    assert forecast[-1].time == datetime(2026, 5, 1, 22, 30, tzinfo=UTC)
    assert forecast[-1].fields["price"] == 0.20236
    rates = [
        r
        for n in (1, 2, 3)
        for r in replay_server.load_fixture(f"octopus/agile_page{n}.json")["results"]
    ]
    by_start = {r["valid_from"]: per_kwh(r["value_inc_vat"], 100) for r in rates}
    assert [r.fields["price"] for r in forecast] == [
        by_start[t.strftime("%Y-%m-%dT%H:%M:%SZ")] for t in times
    ]
    assert forecast[0].tags == {"provider": "octopus", "currency": "GBP", "region": "agile-C"}
    assert (result.current["product"], result.current["tariff"]) == (
        "AGILE-24-10-01",
        "E-1R-AGILE-24-10-01-C",
    )
    # now 13:10 BST: the current slot is 12:00-12:30 UTC
    assert headline.time == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert headline.fields["current_price"] == by_start["2026-05-01T12:00:00Z"]
    assert headline.fields["average_price_24h"] == pytest.approx(
        sum(r.fields["price"] for r in forecast[26:]) / 22
    )


@pytest.mark.parametrize(
    ("fixture", "slots", "first"),
    [("agile_dst_spring.json", 46, datetime(2026, 3, 29, 0, tzinfo=UTC)),
     ("agile_dst_autumn.json", 50, datetime(2026, 10, 24, 23, tzinfo=UTC))],
)  # fmt: skip
def test_dst_days_have_46_and_50_half_hours(replay_server, adapter, fixture, slots, first):
    replay_server.add("GET", OCTOPUS_RATES, json=replay_server.load_fixture(f"octopus/{fixture}"))
    forecast, headline = split(
        run(adapter, replay_server, now=first + timedelta(hours=5, minutes=1))
    )
    assert len(forecast) == slots
    times = [r.time for r in forecast]
    assert times[0] == first
    assert times[-1] == first + timedelta(minutes=30 * (slots - 1))
    assert all(b - a == timedelta(minutes=30) for a, b in zip(times, times[1:], strict=False))
    assert headline.time == first + timedelta(hours=5)


def test_tariff_from_options_and_region_letters(adapter):
    site = SiteInfo("home", 51.5, -0.1, pricing_region="_p")
    target = adapter.target(site, Credentials())
    assert (target.key, target.params["product"], target.params["region"]) == ("agile-P", "", "P")
    product = adapter.target(site, Credentials(options={"product_code": "AGILE-FLEX-22-11-25"}))
    assert product.key == "E-1R-AGILE-FLEX-22-11-25-P"
    given = adapter.target(
        SiteInfo("x", 0, 0), Credentials(options={"tariff_code": "E-1R-AGILE-23-12-06-A"})
    )
    assert (given.params["product"], given.key) == ("AGILE-23-12-06", "E-1R-AGILE-23-12-06-A")
    for bad in ("I", "Q", "", "CC"):
        with pytest.raises(ConfigError, match=r"Site.pricing_region \(or PRICING_REGION\)"):
            adapter.target(SiteInfo("home", 0, 0, pricing_region=bad), Credentials())
    with pytest.raises(ConfigError, match="tariff_code"):
        adapter.target(
            SiteInfo("x", 0, 0), Credentials(options={"tariff_code": "E-2R-VAR-22-11-01-O"})
        )


def test_a_product_code_that_is_not_the_tariff_code_s_product_is_refused_before_any_call(
    replay_server, adapter
):
    # Both set and at odds: the rates of tariff E-1R-AGILE-FLEX-22-11-25-C were asked under
    # /v1/products/AGILE-24-10-01/, a product that has no such tariff, at every run. Now the
    # options are refused before any call, as the admin does before saving.
    mixed = {"product_code": "AGILE-24-10-01", "tariff_code": "E-1R-AGILE-FLEX-22-11-25-C"}
    said = "options.product_code 'AGILE-24-10-01' is not the product of options.tariff_code"
    with pytest.raises(ConfigError, match=said):
        adapter.check_options(mixed)
    with pytest.raises(ConfigError, match=said):
        run(adapter, replay_server, options=mixed)
    assert replay_server.requests == []
    assert OctopusAgileAdapter.options_problem(mixed).startswith(said)
    # Agreeing, or the tariff code alone, the tariff's own product is asked.
    for options in (
        {**mixed, "product_code": "agile-flex-22-11-25"},
        {"tariff_code": mixed["tariff_code"]},
    ):
        target = adapter.target(SiteInfo("x", 0, 0), Credentials(options=options))
        assert (target.params["product"], target.key) == (
            "AGILE-FLEX-22-11-25",
            mixed["tariff_code"],
        )


def test_api_key_is_sent_as_basic_auth(replay_server, adapter):
    replay_server.add(
        "GET", OCTOPUS_RATES, json=replay_server.load_fixture("octopus/agile_dst_spring.json")
    )
    run(
        adapter, replay_server, now=datetime(2026, 3, 29, 12, tzinfo=UTC), api_key="sk_live_octo123"
    )
    [request] = replay_server.calls("GET", OCTOPUS_RATES)
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"sk_live_octo123:").decode()
    )


def test_open_ended_rates_are_skipped_and_direct_debit_wins(replay_server, adapter):
    replay_server.add("GET", OCTOPUS_RATES, json=page(
        rate("2026-05-01T12:30:00Z", None, 24.5),  # open-ended: no end, not a slot
        rate("2026-05-01T12:00:00Z", "2026-05-01T12:30:00Z", 30.0, "NON_DIRECT_DEBIT"),
        rate("2026-05-01T12:00:00Z", "2026-05-01T12:30:00Z", 28.0, "DIRECT_DEBIT"),
        rate("2026-05-01T11:30:00Z", "2026-05-01T12:00:00Z", 26.0),
    ))  # fmt: skip
    forecast, headline = split(run(adapter, replay_server))
    assert [(r.time.hour, r.time.minute, r.fields["price"]) for r in forecast] == [
        (11, 30, 0.26), (12, 0, 0.28)
    ]  # fmt: skip
    assert headline.fields["current_price"] == 0.28


def test_a_tariff_with_only_open_ended_rates_is_a_config_error(replay_server, adapter):
    replay_server.add("GET", OCTOPUS_RATES, json=page(rate("2026-04-01T00:00:00Z", None, 24.5)))
    with pytest.raises(ConfigError, match="only open-ended rates.*Agile tariff"):
        run(adapter, replay_server)


def test_an_open_ended_rate_in_force_now_is_a_fixed_tariff_not_a_retired_product(
    replay_server, adapter
):
    # A fixed-price tariff whose rate changed during the backfill window: the old rate ended,
    # the new one has valid_to null. It was reported as "no rates from now on: it looks
    # retired", pointing the user at the product code of a tariff that has a price now.
    replay_server.add("GET", OCTOPUS_RATES, json=page(
        rate("2026-04-30T23:00:00Z", None, 24.5),
        rate("2026-03-31T23:00:00Z", "2026-04-30T23:00:00Z", 27.0),
    ))  # fmt: skip
    fixed = r"only open-ended rates \(valid_to null\) from 2026-04-30T23:00:00\+00:00 on.*Agile"
    with pytest.raises(ConfigError, match=fixed):
        run(adapter, replay_server, start=OCTOPUS_NOW - timedelta(days=2))


def test_next_day_rates_not_yet_published_may_be_late_the_warning_says(
    replay_server, adapter, caplog
):
    # 23:10 BST: the rates published yesterday ended at 23:00 and today's 16:00 publication is
    # late. The run said only "it looks retired" and sent the user to options.product_code.
    replay_server.add("GET", OCTOPUS_RATES, json=page(
        rate("2026-05-01T21:30:00Z", "2026-05-01T22:00:00Z", 21.5),
        rate("2026-05-01T21:00:00Z", "2026-05-01T21:30:00Z", 23.1),
    ))  # fmt: skip
    result = run(adapter, replay_server, now=datetime(2026, 5, 1, 22, 10, tzinfo=UTC))
    # the rates given are written as published (they wrote nothing before), no price for now
    assert [(r.measurement, r.time, r.fields["price"]) for r in result.readings] == [
        ("electricity_pricing_forecast", datetime(2026, 5, 1, 21, tzinfo=UTC), 0.231),
        ("electricity_pricing_forecast", datetime(2026, 5, 1, 21, 30, tzinfo=UTC), 0.215),
    ]
    assert result.current["no_data"] is True
    [note] = result.notes
    assert "rates end at 2026-05-01T22:00:00+00:00" in note and "16:00 UK time" in note
    assert "if they are late, the next run finds them" in note
    # the run's one log line, a WARNING, says it (test_pipeline_history): the adapter, not again
    assert not [r for r in caplog.records if note in r.getMessage()]


def test_backfill_period_from(replay_server, adapter):
    replay_server.add(
        "GET", OCTOPUS_RATES, json=replay_server.load_fixture("octopus/agile_dst_spring.json")
    )
    now = datetime(2026, 3, 29, 12, tzinfo=UTC)
    run(adapter, replay_server, now=now, start=now - timedelta(days=2))
    run(adapter, replay_server, now=now, start=now - timedelta(days=20))
    first, second = replay_server.calls("GET", OCTOPUS_RATES)
    assert first.query["period_from"] == "2026-03-27T12:00:00Z"
    assert second.query["period_from"] == "2026-03-22T12:00:00Z"  # 7 days of history


def test_unknown_tariff_is_a_permanent_error_naming_it(replay_server, adapter):
    replay_server.add("GET", OCTOPUS_RATES, status=404, body="Not found")
    # It read "tariff ... of product ...; check options.tariff_code / ... (the region letter)
    # was not found (HTTP 404).": the hint stood between the tariff and what became of it.
    not_found = re.escape(
        "octopus: tariff E-1R-AGILE-24-10-01-C of product AGILE-24-10-01 was not found (HTTP "
        "404): check options.tariff_code / options.product_code and Site.pricing_region (the "
        "region letter)."
    )
    with fails_without_retry(replay_server, "GET", OCTOPUS_RATES, PermanentError, f"^{not_found}$"):
        run(adapter, replay_server)


def test_auth_failure_not_retried(replay_server, adapter):
    replay_server.add("GET", OCTOPUS_RATES, status=401, body="Invalid API key")
    with fails_without_retry(replay_server, "GET", OCTOPUS_RATES, AuthError):
        run(adapter, replay_server, api_key="sk_live_wrong")


@pytest.mark.parametrize(
    "link",
    [
        "http://localhost:{port}/v1/products/AGILE-24-10-01/electricity-tariffs/"
        "E-1R-AGILE-24-10-01-C/standard-unit-rates/?page=2",  # another host: not with the key
        "https://api.octopus.energy.example.net/v1/products/?page=2",
        "{base}/v1/products/?page=2",  # another listing
        "12",
    ],
)
def test_a_next_link_off_the_listing_is_refused_not_followed(replay_server, adapter, link):
    first = page(rate("2026-05-01T12:00:00Z", "2026-05-01T12:30:00Z", 28.0))
    first["next"] = link.format(port=replay_server.port, base=replay_server.url)
    replay_server.add("GET", OCTOPUS_RATES, json=first)

    with pytest.raises(MalformedResponse, match=r"'next' should be a further page of .* not "):
        run(adapter, replay_server, api_key="sk_live_octo123")

    assert len(replay_server.requests) == 1  # the key went nowhere else


def test_a_failing_second_page_fails_the_fetch(replay_server, adapter):
    SCENARIOS["octopus"](replay_server)
    replay_server.reset()
    replay_server.add(
        "GET", OCTOPUS_RATES, json=replay_server.load_fixture("octopus/agile_page1.json")
    )
    replay_server.add("GET", OCTOPUS_RATES, status=503, body="down", query={"page": "2"})
    with pytest.raises(TransientError, match="HTTP 503"):
        run(adapter, replay_server)  # a partial set of pages is not written as if complete


def test_5xx_429_and_malformed(replay_server, adapter):
    replay_server.add("GET", OCTOPUS_RATES, status=500, body="error")
    with pytest.raises(TransientError):
        run(adapter, replay_server)
    assert len(replay_server.calls("GET", OCTOPUS_RATES)) == 2
    replay_server.reset()
    replay_server.add(
        "GET", OCTOPUS_RATES, status=429, headers={"Retry-After": "0"}, body="", times=1
    )
    replay_server.add(
        "GET", OCTOPUS_RATES, json=replay_server.load_fixture("octopus/agile_dst_spring.json")
    )
    run(adapter, replay_server, now=datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert len(replay_server.calls("GET", OCTOPUS_RATES)) == 2
    replay_server.reset()
    with rate_limited_for(replay_server, "GET", OCTOPUS_RATES, seconds=900):
        run(adapter, replay_server)
    replay_server.reset()
    replay_server.add(
        "GET", OCTOPUS_RATES, body="{not json", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(MalformedResponse):
        run(adapter, replay_server)
    replay_server.reset()
    bad = page(rate("2026-05-01T12:00:00Z", "2026-05-01T12:30:00Z", 28.0))
    bad["results"][0]["value_inc_vat"] = "28.0"
    replay_server.add("GET", OCTOPUS_RATES, json=bad)
    with pytest.raises(MalformedResponse, match=r"results\[0\].value_inc_vat should be a number"):
        run(adapter, replay_server)


def test_hang_longer_than_the_timeout(replay_server, adapter, settings):
    replay_server.add("GET", OCTOPUS_RATES, json=page(), delay=5)
    with gives_up_at_the_timeout(settings):
        run(adapter, replay_server)
