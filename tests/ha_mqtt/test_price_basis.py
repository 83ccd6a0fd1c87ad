"""What a price is and how far the prices go, on the price, cheapest window and flexible load
sensors over the real broker: `vat_included` and `price_basis` (aWATTar's net spot price,
Octopus' rate with VAT), `known_until` on the cheapest window (where the stored prices end)
and `prices_until` on a load (where the prices its plan compared end). They change only when
new prices are stored, so a publication without new data repeats them.

Hourly aWATTar slots from the current UTC hour H (tests.ha_mqtt.homes); Octopus Agile's half
hours of 2026-05-01 collected from the documented payloads (tests/fixtures/octopus).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors.ha_mqtt.publisher import publish_all
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.collectors import scenarios_pricing
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import load, published, utc_home
from tests.support.stored_prices import slot_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
NET = {
    "vat_included": False,
    "price_basis": "EPEX spot day-ahead price, net: no VAT, grid fees or supplier markup",
}


def test_the_price_sensors_say_what_the_price_is_and_how_far_it_is_known(
    topics, subscriber, broker, settings
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)  # slots H-1 .. H+29
    dishwasher = load(site, anchor, carbon_price=0)  # 2 h by H+6
    publish_all(broker, topics, now=anchor + 20 * MINUTE)

    _, price, _ = published(subscriber, topics, site, "electricity_price")
    assert {k: price[k] for k in NET} == NET
    _, window, _ = published(subscriber, topics, site, "cheapest_window_start")
    # the stored prices end at H+30, beyond the 24 h compared: all of them were compared
    assert {k: window[k] for k in (*NET, "known_until")} == {
        **NET, "known_until": (anchor + 30 * HOUR).isoformat()}  # fmt: skip
    assert published(subscriber, topics, site, "cheapest_window_end")[1] == window
    _, plan, _ = published(subscriber, topics, site, f"load_{dishwasher.pk}_start")
    # the plan compared the prices up to its deadline, H+6
    assert {k: plan[k] for k in (*NET, "prices_until")} == {
        **NET, "prices_until": (anchor + 6 * HOUR).isoformat()}  # fmt: skip
    # the peak sensor is not a price: neither is on it
    _, peak, _ = published(subscriber, topics, site, "peak_period")
    assert not {"vat_included", "price_basis", "known_until"} & set(peak)


def test_known_until_moves_only_when_new_prices_are_stored(topics, subscriber, broker, settings):
    anchor = homes.hour_start()
    # before tomorrow's prices: slots H-1 .. H+8 only
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, count=10)
    # 7 h do not fit before today's H+6: planned for tomorrow's, H+30
    heat_pump = load(site, anchor, name="Heat pump", carbon_price=0, hours=7)
    base = f"{topics.root}/site_{site.pk}"
    window_topic = f"{base}/cheapest_window_start/attributes"
    load_topic = f"{base}/load_{heat_pump.pk}_start/attributes"

    def attributes(now: datetime) -> tuple[str, str]:
        start = len(subscriber.log)
        publish_all(broker, topics, now=now)
        assert subscriber.wait_for(
            lambda _: {window_topic, load_topic} <= {t for t, *_ in subscriber.log[start:]}
        )
        sent = {t: p for t, p, _ in subscriber.log[start:]}
        return sent[window_topic], sent[load_topic]

    first = attributes(anchor + 20 * MINUTE)
    assert attributes(anchor + 21 * MINUTE) == first  # byte for byte
    window, plan = (json.loads(p) for p in first)
    assert window["known_until"] == (anchor + 9 * HOUR).isoformat()  # earlier than now + 24 h
    assert (window["start"], window["end"]) == ((anchor + 3 * HOUR).isoformat(),
                                                 (anchor + 5 * HOUR).isoformat())  # fmt: skip
    # the plan for H+30 compared the prices up to H+9 only
    assert plan["before"] == (anchor + 30 * HOUR).isoformat()
    assert plan["prices_until"] == (anchor + 9 * HOUR).isoformat()

    # tomorrow's prices arrive (H+9 .. H+29): where they end moves, the cheapest window stays
    get_timeseries().write(settings.INFLUXDB_DATABASE,
                           slot_readings(anchor, prices=homes.PRICES)[10:])  # fmt: skip
    window, plan = (json.loads(p) for p in attributes(anchor + 22 * MINUTE))
    assert window["known_until"] == (anchor + 30 * HOUR).isoformat()
    assert (window["start"], window["end"]) == ((anchor + 3 * HOUR).isoformat(),
                                                 (anchor + 5 * HOUR).isoformat())  # fmt: skip
    assert plan["prices_until"] == plan["before"] == (anchor + 30 * HOUR).isoformat()
    assert plan["vat_included"] is False


def test_octopus_prices_include_vat(topics, subscriber, broker):
    site = Site.objects.create(name="London", latitude=51.51, longitude=-0.13,
                               timezone="Europe/London", pricing_region="C")  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="octopus")  # fmt: skip
    assert homes.collect(config, scenarios_pricing.octopus).status == "ok"
    publish_all(broker, topics, now=scenarios_pricing.OCTOPUS_NOW)
    vat = {"vat_included": True, "price_basis": "Octopus unit rate incl. VAT (value_inc_vat)"}
    _, price, _ = published(subscriber, topics, site, "electricity_price")
    assert {k: price[k] for k in vat} == vat
    _, window, _ = published(subscriber, topics, site, "cheapest_window_start")
    # the published Agile rates end at 23:00 UTC: the window compared only those
    assert {k: window[k] for k in (*vat, "known_until")} == {
        **vat, "known_until": datetime(2026, 5, 1, 23, tzinfo=UTC).isoformat()}  # fmt: skip
