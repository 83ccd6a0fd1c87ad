"""A Home Assistant sensor per flexible load: its exact discovery config, its state (the
recommended start, found by hand here from the slots the test stores), its attributes, its
removal, and what it shows when no plan is possible.

Hourly aWATTar slots from the current UTC hour H (tests.ha_mqtt.homes): 0.30 EUR/kWh, except
H+2 0.12, H+3 0.08, H+4 0.10, H+5 0.20. The sites run on UTC so a deadline of H+6 is simply
H+6 (the site's clock across DST is tests/api/test_plan_api.py's business).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from collectors import clock
from collectors.ha_mqtt.publisher import publish_all
from collectors.ha_mqtt.tasks import request_publish
from collectors.models import CollectorRun, FlexibleLoad
from enrich.models import ProviderConfig
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import load, published, store_carbon, utc_home
from tests.support.api import token_client
from tests.support.ha_discovery import cleared, expected_config

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
ROOT = Path(__file__).resolve().parents[2]
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def test_the_sensor_shows_the_start_that_weighs_price_and_carbon(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    # gCO2/kWh: H+2 and H+3 100, H+4 500, H+5 100, otherwise 300; forecast up to H+8.
    store_carbon(site, settings.INFLUXDB_DATABASE, anchor, {2: 100, 3: 100, 4: 500, 5: 100}, 8)
    dishwasher = load(site, anchor, carbon_price=100, kw=1.5)
    now = anchor + 20 * MINUTE  # in the hour the slots and the forecast were stored for
    assert publish_all(broker, topics, now=now)["status"] == "ok"

    key = f"load_{dishwasher.pk}_start"
    node = f"{topics.root}_site_{site.pk}"
    config_topic = f"{topics.discovery_prefix}/sensor/{node}/{key}/config"
    state, attributes, availability = published(subscriber, topics, site, key)
    assert json.loads(subscriber.messages[config_topic]) == expected_config(
        topics, site, key, "Dishwasher recommended start", device_class="timestamp"
    )
    # Score per hour = price + 100 EUR/t x g / 1e6: H+2 0.13, H+3 0.09, H+4 0.15, H+5 0.21,
    # others 0.33. Two hours ending by H+6: H+2..H+4 averages 0.11, H+3..H+5 0.12 (the
    # cheapest by price alone, 0.09 EUR/kWh), H+4..H+6 0.18; running now costs more.
    assert (state, availability) == ((anchor + 2 * HOUR).isoformat(), "online")
    figures = {
        "average_price": 0.10, "average_carbon": 100.0, "kwh": 3.0, "cost": 0.30,
        "emissions_kg": 0.30, "carbon_price": 100.0, "hours": 2.0, "kw": 1.5,
        "carbon_last_known_hours": 0.0, "penalty_cost": 0.0, "penalty_percent": 6.0,
    }  # fmt: skip
    assert {k: attributes.pop(k) for k in figures} == pytest.approx(figures)
    # Nothing that moves with the clock alone (HA would record each minute's change): no
    # planned_at, and no comparison with running now, which takes a minute less of hour H at
    # each publication (GET /api/plan gives it for the moment asked).
    assert attributes == {
        "load": "Dishwasher", "load_id": dishwasher.pk,
        "before": (anchor + 6 * HOUR).isoformat(), "end": (anchor + 4 * HOUR).isoformat(),
        "contiguous": True, "max_windows": None, "windows_used": 1, "starts_now": False,
        "windows": [{"start": (anchor + 2 * HOUR).isoformat(),
                     "end": (anchor + 4 * HOUR).isoformat()}],
        "currency": "EUR", "unit": "EUR/kWh", "carbon_unit": "gCO2/kWh",
        "carbon_price_unit": "EUR/t CO2", "provider": "awattar", "region": "DE",
        "carbon_known": True, "carbon_provider": "electricitymaps",
        "carbon_forecast_until": (anchor + 8 * HOUR).isoformat(), "carbon_carried_forward": False,
        "carbon_known_from": None,
        "vat_included": False, "price_basis": "EPEX spot day-ahead price, net: no VAT, grid fees "
        "or supplier markup", "prices_until": (anchor + 6 * HOUR).isoformat(),
    }  # fmt: skip


def test_hours_past_the_forecast_say_the_carbon_was_carried_forward(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    # Forecast H-1..H+3 only: 300 g, H+2 100 g; from H+3 on the last known value, 100 g.
    store_carbon(site, settings.INFLUXDB_DATABASE, anchor, {2: 100}, 3)
    dishwasher = load(site, anchor, carbon_price=100)
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    state, attributes, _ = published(subscriber, topics, site, f"load_{dishwasher.pk}_start")
    # Scores: H+2 0.13, H+3 0.09, H+4 0.11, H+5 0.21: H+3..H+5 (0.10) beats H+2..H+4 (0.11).
    assert state == (anchor + 3 * HOUR).isoformat()
    assert attributes["carbon_carried_forward"] is True
    assert attributes["carbon_last_known_hours"] == 2.0
    assert attributes["average_carbon"] == 100.0
    assert attributes["carbon_forecast_until"] == (anchor + 3 * HOUR).isoformat()
    assert attributes["kw"] is attributes["kwh"] is None  # no kw: no absolute figures
    assert attributes["cost"] is None and "cost_saving_vs_now" not in attributes


def test_a_split_plan_lists_its_windows_and_without_carbon_says_so(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices={2: 0.05, 3: 0.30, 4: 0.06})
    ev = load(site, anchor, name="EV", carbon_price=0, contiguous=False)
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    state, attributes, availability = published(subscriber, topics, site, f"load_{ev.pk}_start")
    # H+2 and H+4 average 0.055; one interruption costs 6 % of it (0.0033): 0.0583 beats any
    # two hours in a row (at best 0.175).
    assert (state, availability) == ((anchor + 2 * HOUR).isoformat(), "online")
    assert attributes["windows_used"] == 2
    assert attributes["windows"] == [
        {"start": (anchor + h * HOUR).isoformat(), "end": (anchor + (h + 1) * HOUR).isoformat()}
        for h in (2, 4)
    ]
    assert attributes["end"] == (anchor + 5 * HOUR).isoformat()
    assert attributes["average_price"] == pytest.approx(0.055)
    assert attributes["penalty_cost"] == pytest.approx(0.0033)
    assert attributes["carbon_known"] is False and attributes["average_carbon"] is None
    assert attributes["carbon_message"] == (
        "No carbon data: site 'Home' has no enabled carbon intensity provider. Planned by price "
        "only."
    )
    assert "carbon_saving_vs_now" not in attributes  # no comparison with running now at all


def test_a_load_of_one_and_a_half_hours_over_hourly_prices_is_planned(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    dishwasher = load(site, anchor, hours=1.5, carbon_price=0, kw=2)
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    key = f"load_{dishwasher.pk}_start"
    state, attributes, availability = published(subscriber, topics, site, key)
    # 1.5 h by H+6 over H+2 0.12, H+3 0.08, H+4 0.10, H+5 0.20: H+3..H+4:30 = (0.08 + 0.5 x
    # 0.10) / 1.5 = 0.0867 beats H+2:30..H+4 and H+3:30..H+5 (0.0933): it ends mid-hour.
    assert (state, availability) == ((anchor + 3 * HOUR).isoformat(), "online")
    end = anchor + 4 * HOUR + 30 * MINUTE
    assert attributes["end"] == end.isoformat()
    assert attributes["windows"] == [{"start": state, "end": end.isoformat()}]
    assert attributes["average_price"] == pytest.approx(0.13 / 1.5)
    assert (attributes["hours"], attributes["kwh"]) == (1.5, 3.0)
    assert attributes["cost"] == pytest.approx(3 * 0.13 / 1.5)


def test_when_running_now_is_best_the_start_is_now_and_says_so(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    # H and H+1 0.01, H+2 0.02: from now 2 h cost less than 0.015, H+1..H+3 0.015.
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices={0: 0.01, 1: 0.01, 2: 0.02})
    dishwasher = load(site, anchor, carbon_price=0)
    now = anchor + 20 * MINUTE
    publish_all(broker, topics, now=now)
    key = f"load_{dishwasher.pk}_start"
    state, attributes, _ = published(subscriber, topics, site, key)
    assert state == now.isoformat()
    assert attributes["starts_now"] is True
    assert attributes["windows"] == [
        {"start": now.isoformat(), "end": (now + 2 * HOUR).isoformat()}
    ]


def test_without_a_plan_the_state_is_unknown_and_the_reason_is_shown(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    no_prices = homes.home("No prices")
    no_prices.pricing_region = "AT"  # the DE slots below are not its prices
    no_prices.save()
    ProviderConfig.objects.create(site=no_prices, source="electricity_pricing", provider="awattar")
    no_provider = homes.home("No provider")
    # Slots H-1..H+3 only: four hours cannot end by H+4 when they start after now.
    short = utc_home(settings.INFLUXDB_DATABASE, anchor, count=5)
    loads = [load(no_prices, anchor), load(no_provider, anchor), load(short, anchor, hours=4)]
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    found = [published(subscriber, topics, s.site, f"load_{s.pk}_start") for s in loads]
    for state, attributes, availability in found:
        # HA reads "None" as unknown; the entity stays available so its reason shows.
        assert (state, availability) == ("None", "online")
        assert "end" not in attributes and "average_price" not in attributes
    assert found[0][1]["reason"].startswith("No awattar prices for AT are stored between")
    assert "no enabled electricity price provider" in found[1][1]["reason"]
    assert found[2][1]["reason"].startswith("only 3 h of price slots lie entirely between now")
    assert found[2][1]["known"] == {
        "prices_until": (anchor + 4 * HOUR).isoformat(),
        "carbon_forecast_until": None,
        "carbon_known_from": None,
    }


def test_renamed_in_the_admin_it_keeps_its_unique_id_and_deleted_it_goes(
    topics, subscriber, broker, settings, admin_client, django_capture_on_commit_callbacks
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    boost = load(site, anchor, name="Boost")
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    key, node = f"load_{boost.pk}_start", f"{topics.root}_site_{site.pk}"
    config_topic = f"{topics.discovery_prefix}/sensor/{node}/{key}/config"
    assert subscriber.wait_for(lambda m: config_topic in m)
    first = json.loads(subscriber.messages[config_topic])

    form = {"site": site.pk, "name": "Heat pump boost", "hours": "2", "deadline": "07:00",
            "carbon_price": "", "kw": "", "contiguous": "on", "max_windows": "", "enabled": "on"}  # fmt: skip
    with django_capture_on_commit_callbacks() as requested:
        page = admin_client.post(f"/admin/collectors/flexibleload/{boost.pk}/change/", form)
    assert page.status_code == 302, page.content.decode()[:2000]
    assert requested == [request_publish]  # the admin's save asks for a publication
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    assert subscriber.wait_for(lambda m: "Heat pump" in m.get(config_topic, ""))
    renamed = json.loads(subscriber.messages[config_topic])
    assert renamed["name"] == "Heat pump boost recommended start"
    assert renamed["unique_id"] == first["unique_id"] == f"{node}_{key}"

    with django_capture_on_commit_callbacks() as requested:
        boost.delete()
    assert requested == [request_publish]
    assert publish_all(broker, topics, now=anchor + 20 * MINUTE)["removed"] == 1
    publish_all(broker, topics, now=anchor + 21 * MINUTE)  # the next: clears its state topics
    assert subscriber.wait_for(lambda m: not any(f"/{key}/" in t for t in m))
    for topic in (config_topic, *(f"{topics.root}/site_{site.pk}/{key}/{p}"
                                  for p in ("state", "attributes", "availability"))):  # fmt: skip
        assert cleared(subscriber, topic)


def test_a_deleted_site_takes_its_loads_with_it(topics, subscriber, broker, settings):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    dishwasher = load(site, anchor)
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    config_topic = (
        f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/load_{dishwasher.pk}_start"
        "/config"
    )
    assert subscriber.wait_for(lambda m: config_topic in m)
    site.delete()
    assert publish_all(broker, topics, now=anchor + 20 * MINUTE)["status"] == "ok"
    assert subscriber.wait_for(lambda m: config_topic not in m)
    assert cleared(subscriber, config_topic)


def test_disabling_a_load_removes_it_and_writes_ask_for_a_publication(
    topics, subscriber, broker, settings, django_capture_on_commit_callbacks
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    dishwasher = load(site, anchor)
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    key = f"load_{dishwasher.pk}_start"
    assert subscriber.wait_for(lambda m: any(f"/{key}/config" in t for t in m))
    dishwasher.enabled = False
    dishwasher.save()
    assert publish_all(broker, topics, now=anchor + 20 * MINUTE)["removed"] == 1
    publish_all(broker, topics, now=anchor + 21 * MINUTE)  # the next: clears its state topics
    assert subscriber.wait_for(lambda m: not any(f"/{key}/" in t for t in m))
    # Prices written (fully, or the latest with the backfill failing) ask for a publication.
    for status in ("ok", "partial"):
        with django_capture_on_commit_callbacks() as requested:
            CollectorRun.objects.create(source="electricity_pricing", provider="awattar",
                                        target="DE", started=datetime.now(UTC), status=status)  # fmt: skip
        assert requested == [request_publish]


def test_a_carbon_forecast_starting_later_is_named_and_what_it_left_unplanned(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    store_carbon(site, settings.INFLUXDB_DATABASE, anchor, {}, 8, since=4)  # 300 g from H+4
    green = load(site, anchor, name="Green", carbon_price=100)
    cheap = load(site, anchor, name="Cheap", carbon_price=0)
    short = FlexibleLoad.objects.create(site=site, name="Short", hours=2, carbon_price=100,
                                        deadline=(anchor + 5 * HOUR).time())  # fmt: skip
    publish_all(broker, topics, now=anchor + 20 * MINUTE)
    since = (anchor + 4 * HOUR).isoformat()
    # With a carbon price only H+4..H+6 has carbon; by price alone H+3..H+5 (0.09 EUR/kWh).
    state, attributes, _ = published(subscriber, topics, site, f"load_{green.pk}_start")
    assert (state, attributes["carbon_known_from"]) == (since, since)
    assert f"known only from {since}" in attributes["carbon_message"]
    assert "carbon_price=0" in attributes["carbon_message"]
    state, attributes, _ = published(subscriber, topics, site, f"load_{cheap.pk}_start")
    assert (state, attributes["carbon_known_from"]) == ((anchor + 3 * HOUR).isoformat(), since)
    assert "planned on price alone" in attributes["carbon_message"]
    # Ending by H+5 leaves one hour with carbon: no plan, and the reason is the carbon's.
    state, attributes, _ = published(subscriber, topics, site, f"load_{short.pk}_start")
    assert state == "None" and attributes["known"]["carbon_known_from"] == since
    assert attributes["reason"].startswith(
        f"Carbon intensity (electricitymaps) is known only from {since}"
    )


def test_the_state_is_the_start_of_the_plan_request_the_page_gives(
    topics, subscriber, broker, settings, monkeypatch
):
    """docs/home_assistant.md names the `GET /api/plan` request whose `start` the state is;
    for a load that may be interrupted, a contiguous plan would start elsewhere."""
    anchor = homes.hour_start()
    # H+1 0.05 and H+4 0.04 apart: split, from H+1; in one piece, from H+3 or H+4 (0.17).
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices={1: 0.05, 4: 0.04})
    ev = load(site, anchor, name="EV", carbon_price=0, contiguous=False, max_windows=2)
    now = anchor + 20 * MINUTE
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    publish_all(broker, topics, now=now)
    state, attributes, _ = published(subscriber, topics, site, f"load_{ev.pk}_start")
    assert state == (anchor + HOUR).isoformat()

    text = " ".join((ROOT / "docs" / "home_assistant.md").read_text().split())
    request = re.search(r"It is the `start` that `GET (/api/plan\?[^`]+)`", text)[1]
    values = {"hours": ev.hours, "the next deadline": attributes["before"], "carbon price": 0,
              "contiguous": "false", "max_windows": ev.max_windows}  # fmt: skip
    path, _, query = request.partition("?")
    asked = {name: str(values[value.strip("<>")]) for name, value in parse_qsl(query)}
    answer = token_client("home-assistant").get(path, asked)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["start"] == state
