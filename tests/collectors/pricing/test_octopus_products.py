"""Octopus: the current Agile product from /v1/products/ (kept a day), a product_code that wins,
and a retired product reported at WARNING with what to set, against the replay server."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import Credentials, SiteInfo, Window
from collectors.pricing.octopus import OctopusAgileAdapter
from enrich.http import PermanentError
from tests.collectors.scenarios_pricing import (
    OCTOPUS_NOW,
    OCTOPUS_PRODUCTS,
    OCTOPUS_RATES,
    SCENARIOS,
)
from tests.support.pricing import per_kwh

OLD = "AGILE-23-12-06"
OLD_RATES = f"/v1/products/{OLD}/electricity-tariffs/E-1R-{OLD}-C/standard-unit-rates/"
NEW = "AGILE-26-04-01"
NEW_RATES = f"/v1/products/{NEW}/electricity-tariffs/E-1R-{NEW}-C/standard-unit-rates/"


@pytest.fixture
def adapter(clock) -> OctopusAgileAdapter:
    return OctopusAgileAdapter(clock=clock)


def fetch(adapter, server, **options):
    site = SiteInfo("London", 51.51, -0.13, timezone="Europe/London", pricing_region="C")
    credentials = Credentials(options={"base_url": server.url, **options})
    target = adapter.target(site, credentials)
    now = OCTOPUS_NOW
    return adapter.fetch(target, credentials, Window(now - timedelta(hours=1), now, now))


def products(server, *changes):
    """The documented product list, with `changes` ({code: {field: value}} or a new product)."""
    body = server.load_fixture("octopus/products.json")
    for change in changes:
        if "code" in change:
            body["results"].append({**body["results"][0], **change})
        for item in body["results"]:
            item.update(change.get(item["code"], {}))
    body["count"] = len(body["results"])
    return body


def no_rates(server):
    return {"json": server.load_fixture("octopus/agile_retired_no_rates.json")}


def test_the_product_is_looked_up_once_a_day_not_per_fetch(replay_server, adapter, clock):
    SCENARIOS["octopus"](replay_server)

    for _ in range(3):
        assert fetch(adapter, replay_server).current["product"] == "AGILE-24-10-01"
    assert len(replay_server.calls("GET", OCTOPUS_PRODUCTS)) == 1
    clock.now += 24 * 3600 + 1  # a new Agile product may have been launched meanwhile
    fetch(adapter, replay_server)
    assert len(replay_server.calls("GET", OCTOPUS_PRODUCTS)) == 2


def test_the_latest_agile_import_product_on_sale_is_picked(replay_server, adapter):
    launched = {"code": NEW, "available_from": "2026-04-01T00:00:00+01:00"}
    ended = {"AGILE-24-10-01": {"available_to": "2026-04-01T00:00:00+01:00"}}
    replay_server.add("GET", OCTOPUS_PRODUCTS, json=products(replay_server, launched, ended))
    rates = replay_server.load_fixture("octopus/agile_page2.json")
    rates["next"] = None
    replay_server.add("GET", NEW_RATES, json=rates)

    result = fetch(adapter, replay_server)

    assert (result.current["product"], result.current["tariff"]) == (NEW, f"E-1R-{NEW}-C")
    assert replay_server.calls("GET", OCTOPUS_RATES) == []
    assert {r.tags["region"] for r in result.readings} == {"agile-C"}  # the series goes on


def test_export_business_and_other_products_are_never_picked(replay_server, adapter):
    gone = {"AGILE-24-10-01": {"available_to": "2026-04-01T00:00:00+01:00"}}
    replay_server.add("GET", OCTOPUS_PRODUCTS, json=products(replay_server, gone))

    with pytest.raises(PermanentError, match="no Agile import product on sale now") as caught:
        fetch(adapter, replay_server)
    assert "options.product_code" in str(caught.value)
    assert replay_server.calls("GET", OCTOPUS_RATES) == []


def test_a_product_code_set_by_the_user_wins(replay_server, adapter):
    SCENARIOS["octopus"](replay_server)

    result = fetch(adapter, replay_server, product_code="AGILE-24-10-01")

    assert replay_server.calls("GET", OCTOPUS_PRODUCTS) == []
    assert result.current["tariff"] == "E-1R-AGILE-24-10-01-C"
    assert {r.tags["region"] for r in result.readings} == {"E-1R-AGILE-24-10-01-C"}


def test_a_retired_product_set_by_the_user_is_a_warning_naming_what_to_set(
    replay_server, adapter, caplog
):
    replay_server.add("GET", OLD_RATES, **no_rates(replay_server))
    caplog.set_level(logging.WARNING, logger="collectors.pricing.octopus")

    result = fetch(adapter, replay_server, product_code=OLD)

    assert result.readings == []
    assert result.current["no_data"] is True and result.current["product"] == OLD
    # the run's one log line says it as a WARNING (test_pipeline_history), not the adapter too
    assert result.warn is True and caplog.records == []
    [said] = result.notes
    assert f"product {OLD} (tariff E-1R-{OLD}-C) has no rates from" in said
    assert "looks retired" in said and "Set options.product_code" in said
    assert result.current["message"] == said  # the run record's note, and the served message


def test_rates_that_end_before_now_count_as_retired(replay_server, adapter):
    old = replay_server.load_fixture("octopus/agile_page3.json")  # the night, ends 02:00 BST
    old["next"] = None
    replay_server.add("GET", OLD_RATES, json=old)

    result = fetch(adapter, replay_server, product_code=OLD)

    # the rates given are written as published (they wrote nothing before), no price for now
    assert [(r.time, r.fields["price"]) for r in result.readings] == sorted(
        (datetime.fromisoformat(r["valid_from"]), per_kwh(r["value_inc_vat"], 100))
        for r in old["results"]
    )
    assert {r.measurement for r in result.readings} == {"electricity_pricing_forecast"}
    assert "looks retired" in result.notes[0]


def test_a_discovered_product_without_rates_is_looked_up_again_next_run(
    replay_server, adapter, caplog
):
    replay_server.add("GET", OCTOPUS_PRODUCTS, json=products(replay_server), times=1)
    launched = {"code": NEW, "available_from": "2026-05-01T00:00:00+01:00"}
    replay_server.add("GET", OCTOPUS_PRODUCTS, json=products(replay_server, launched))
    replay_server.add("GET", OCTOPUS_RATES, **no_rates(replay_server))
    rates = replay_server.load_fixture("octopus/agile_page2.json")
    rates["next"] = None
    replay_server.add("GET", NEW_RATES, json=rates)
    caplog.set_level(logging.WARNING, logger="collectors.pricing.octopus")

    first = fetch(adapter, replay_server)
    second = fetch(adapter, replay_server)

    assert first.readings == [] and "looked up again next run" in first.notes[0]
    assert "set options.product_code" in first.notes[0]
    assert second.current["product"] == NEW and second.readings
    assert len(replay_server.calls("GET", OCTOPUS_PRODUCTS)) == 2


def test_the_products_list_follows_next_pages(replay_server, adapter):
    first = products(replay_server)
    agile = first["results"].pop(0)
    first["next"] = "https://api.octopus.energy/v1/products/?is_variable=true&page=2"
    replay_server.add("GET", OCTOPUS_PRODUCTS, json=first)
    second = {"count": 5, "next": None, "previous": None, "results": [agile]}
    replay_server.add("GET", OCTOPUS_PRODUCTS, json=second, query={"page": "2"})
    replay_server.add(
        "GET", OCTOPUS_RATES, json={**replay_server.load_fixture("octopus/agile_page2.json"),
                                    "next": None}
    )  # fmt: skip

    result = fetch(adapter, replay_server)

    assert result.current["product"] == "AGILE-24-10-01"
    assert [c.query.get("page") for c in replay_server.calls("GET", OCTOPUS_PRODUCTS)] == [
        None,
        "2",
    ]
    assert datetime(2026, 5, 1, 12, 0, tzinfo=UTC) in {r.time for r in result.readings}
