"""Carbon and price entities where enrich knows less: WattTime's free plan (a percentile, no
gCO2/kWh), a price provider with no prices stored yet, and prices that end before now."""

import json
from datetime import UTC, datetime

import pytest

from collectors.ha_mqtt.publisher import publish_all
from enrich.models import ProviderConfig
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_carbon, scenarios_pricing
from tests.ha_mqtt import homes
from tests.support import ha_rules
from tests.support.ha_discovery import availability_timeline, cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def test_watttime_free_plan_shows_the_percentile_and_says_why_there_is_no_gco2(
    topics, subscriber, broker
):
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="carbon_intensity", provider="watttime"
    )
    assert homes.collect(config, scenarios_carbon.watttime, plan="free").status == "ok"
    publish_all(broker, topics)
    base = f"{topics.root}/site_{site.pk}"
    node = f"{topics.root}_site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/carbon_moer_percentile/availability" in m)
    assert subscriber.messages[f"{base}/carbon_moer_percentile/state"] == "37.0"
    moer = json.loads(
        subscriber.messages[
            f"{topics.discovery_prefix}/sensor/{node}/carbon_moer_percentile/config"
        ]
    )
    assert (moer["unit_of_measurement"], moer["state_class"]) == ("%", "measurement")
    assert "device_class" not in moer
    assert subscriber.messages[f"{base}/carbon_intensity/availability"] == "offline"
    assert f"{base}/carbon_intensity/state" not in subscriber.messages
    attributes = json.loads(subscriber.messages[f"{base}/carbon_intensity/attributes"])
    assert attributes["reason"] == "the answer has no carbon_intensity_gco2_kwh"
    assert attributes["moer_percentile"] == 37.0


def test_no_prices_stored_makes_the_price_entities_unavailable_with_the_reason(
    topics, subscriber, broker
):
    site = homes.home()
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    publish_all(broker, topics)
    base = f"{topics.root}/site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/cheapest_window_end/availability" in m)
    for key in ("peak_period", "cheapest_window_start", "cheapest_window_end"):
        assert subscriber.messages[f"{base}/{key}/availability"] == "offline"
        assert f"{base}/{key}/state" not in subscriber.messages
        reason = json.loads(subscriber.messages[f"{base}/{key}/attributes"])["reason"]
        assert reason.startswith("No awattar prices for DE are stored between")
    # The unit of the price is its currency, unknown until the first prices: no entity yet.
    assert not any("electricity_price" in topic for topic in subscriber.messages)


def _awattar_home():
    """A home with aWATTar's documented day (2026-05-01, up to 22:00 UTC) collected."""
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="awattar"
    )
    assert homes.collect(config, scenarios_pricing.awattar).status == "ok"
    return site


def test_a_price_shows_as_the_provider_gave_it_without_float_noise(topics, subscriber, broker):
    # aWATTar's documented answer: 130.4 EUR/MWh from 06:00 UTC on 2026-05-01. Divided by 1000
    # in binary floating point it is 0.13040000000000002, which Home Assistant's frontend shows
    # with every decimal of the state string ("0.13040000000000002 EUR/kWh").
    site = _awattar_home()
    publish_all(broker, topics, now=datetime(2026, 5, 1, 6, 20, tzinfo=UTC))
    state = f"{topics.root}/site_{site.pk}/electricity_price/state"
    assert subscriber.wait_for(lambda m: state in m)
    assert subscriber.messages[state] == "0.1304"


def test_peak_is_unavailable_with_the_reason_when_few_hours_are_priced(topics, subscriber, broker):
    # aWATTar's documented day ends at 22:00 UTC: at 20:30 only 2 h of the next 24 are priced
    site = _awattar_home()
    publish_all(broker, topics, now=datetime(2026, 5, 1, 20, 30, tzinfo=UTC))
    base = f"{topics.root}/site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/peak_period/availability" in m)
    assert subscriber.messages[f"{base}/peak_period/availability"] == "offline"
    assert f"{base}/peak_period/state" not in subscriber.messages
    attributes = json.loads(subscriber.messages[f"{base}/peak_period/attributes"])
    assert attributes["reason"].startswith(
        "peak unknown: prices are known only until 2026-05-01T22"
    )
    assert subscriber.messages[f"{base}/electricity_price/state"]  # the price itself is shown


def test_price_and_peak_after_the_last_stored_slot_say_why_they_are_unavailable(
    topics, subscriber, broker
):
    # aWATTar's documented day ends at 22:00 UTC; at 22:30 no stored slot covers now.
    site = _awattar_home()
    publish_all(broker, topics, now=datetime(2026, 5, 1, 22, 30, tzinfo=UTC))
    assert subscriber.caught_up(broker)
    base = f"{topics.root}/site_{site.pk}"
    for key in ("electricity_price", "peak_period"):
        assert subscriber.messages[f"{base}/{key}/availability"] == "offline"
        attributes = json.loads(subscriber.messages[f"{base}/{key}/attributes"])
        assert attributes["reason"] == (
            "no awattar price for DE is stored for now: the stored prices end at "
            "2026-05-01T22:00:00+00:00 (no newer prices fetched yet)"
        )
        assert f"{base}/{key}/state" not in subscriber.messages
    # Nothing in it moves with the clock: a later minute publishes the same attributes.
    before = dict(subscriber.messages)
    publish_all(broker, topics, now=datetime(2026, 5, 1, 23, 45, tzinfo=UTC))
    assert subscriber.caught_up(broker)
    for key in ("electricity_price", "peak_period"):
        topic = f"{base}/{key}/attributes"
        assert subscriber.messages[topic] == before[topic]


def test_price_before_the_first_stored_slot_says_where_the_prices_start(topics, subscriber, broker):
    # aWATTar's documented day starts at 22:00 UTC on 2026-04-30: at 21:30 only later slots
    # are stored, so the reason says where they start (docs/home_assistant.md's table).
    site = _awattar_home()
    publish_all(broker, topics, now=datetime(2026, 4, 30, 21, 30, tzinfo=UTC))
    assert subscriber.caught_up(broker)
    base = f"{topics.root}/site_{site.pk}/electricity_price"
    assert subscriber.messages[f"{base}/availability"] == "offline"
    assert json.loads(subscriber.messages[f"{base}/attributes"])["reason"] == (
        "no awattar price for DE is stored for now: the stored prices start at "
        "2026-04-30T22:00:00+00:00"
    )


def test_the_cheapest_windows_average_shows_without_float_noise(
    topics, subscriber, broker, settings
):
    # aWATTar's documented day ends with 88.0 EUR/MWh from 21:00 UTC (0.088 EUR/kWh): the
    # cheapest hour at 21:00 is that hour, its time-weighted average 0.08799999999999998 in
    # binary floating point, which Home Assistant shows with every decimal.
    settings.MQTT_CHEAPEST_WINDOW_HOURS = 1
    site = _awattar_home()
    publish_all(broker, topics, now=datetime(2026, 5, 1, 21, tzinfo=UTC))
    topic = f"{topics.root}/site_{site.pk}/cheapest_window_start/attributes"
    assert subscriber.wait_for(lambda m: topic in m)
    assert '"average_price": 0.088,' in subscriber.messages[topic]
    assert json.loads(subscriber.messages[topic])["average_price"] == 0.088


def _price_home_published(topics, subscriber, broker):
    """aWATTar's documented day collected (its answer cached) and published at 06:20 UTC:
    Home Assistant has the price entity, in EUR/kWh, showing 0.1304."""
    site = _awattar_home()
    publish_all(broker, topics, now=datetime(2026, 5, 1, 6, 20, tzinfo=UTC))
    assert subscriber.caught_up(broker)
    assert homes.shown(subscriber, f"{topics.root}/site_{site.pk}/electricity_price") == "0.1304"
    return site


def _price_kept_unavailable(topics, subscriber, site, reason: str) -> None:
    """Home Assistant keeps the price entity (its config never emptied, the unit unchanged) and
    shows it unavailable, its `reason` attribute starting with `reason`, as the peak's."""
    node = f"{topics.root}_site_{site.pk}"
    config_topic = f"{topics.discovery_prefix}/sensor/{node}/electricity_price/config"
    assert not cleared(subscriber, config_topic)
    config = json.loads(subscriber.messages[config_topic])
    assert config["unit_of_measurement"] == "EUR/kWh"
    assert not ha_rules.config_problems("sensor", config)
    assert availability_timeline(config, subscriber.log)[-1] is False
    base = f"{topics.root}/site_{site.pk}"
    for key in ("electricity_price", "peak_period"):
        assert subscriber.messages[f"{base}/{key}/availability"] == "offline"
        attributes = json.loads(subscriber.messages[f"{base}/{key}/attributes"])
        assert not ha_rules.attribute_problems(attributes)
        assert attributes["reason"].startswith(reason), attributes


def test_the_price_entity_stays_unavailable_when_prices_ended_and_the_last_answer_is_gone(
    topics, subscriber, broker
):
    # The stored prices end at 22:00 UTC on 1 May; a day later the read (from 2 h before now)
    # finds none, and Redis lost the last answer (a restart, an eviction): no currency is
    # known for the price's unit. Home Assistant deleted the entity (its id, area, dashboard
    # cards) and made a new one with the next prices.
    site = _price_home_published(topics, subscriber, broker)
    ResponseCache().forget("electricity_pricing", "awattar", "DE")
    outcome = publish_all(broker, topics, now=datetime(2026, 5, 3, tzinfo=UTC))
    assert (outcome["status"], outcome["removed"]) == ("ok", 0)
    assert subscriber.caught_up(broker)
    _price_kept_unavailable(topics, subscriber, site, "No awattar prices for DE are stored between")

    # Disabling the provider still removes it, with the peak and the cheapest window.
    ProviderConfig.objects.filter(site=site).update(enabled=False)
    assert publish_all(broker, topics, now=datetime(2026, 5, 3, 0, 1, tzinfo=UTC))["removed"] == 4
    assert subscriber.caught_up(broker)
    node = f"{topics.root}_site_{site.pk}"
    assert cleared(subscriber, f"{topics.discovery_prefix}/sensor/{node}/electricity_price/config")
    # The next publication clears its state topics.
    publish_all(broker, topics, now=datetime(2026, 5, 3, 0, 2, tzinfo=UTC))
    assert subscriber.caught_up(broker)
    assert not any("electricity_price" in topic for topic in subscriber.messages)


def test_the_price_entity_stays_unavailable_after_a_change_to_a_region_without_prices(
    topics, subscriber, broker
):
    # The site moved to AT: nothing stored nor cached for AT yet, so no currency is known.
    site = _price_home_published(topics, subscriber, broker)
    site.pricing_region = "AT"
    site.save()
    outcome = publish_all(broker, topics, now=datetime(2026, 5, 1, 6, 21, tzinfo=UTC))
    assert (outcome["status"], outcome["removed"]) == ("ok", 0)
    assert subscriber.caught_up(broker)
    _price_kept_unavailable(topics, subscriber, site, "No awattar prices for AT are stored between")


def test_the_old_price_is_not_shown_as_current_when_redis_lost_its_record_too(
    topics, subscriber, broker, settings
):
    # Published at 06:20 with 0.1304 EUR/kWh (retained, available). Two days later no prices
    # are stored around now and Redis lost both the last answer and its record of what was
    # published: the entity was left out, so Home Assistant went on showing 0.1304 as the
    # price now.
    site = _price_home_published(topics, subscriber, broker)
    homes.redis_data_lost(settings)
    outcome = publish_all(broker, topics, now=datetime(2026, 5, 3, tzinfo=UTC))
    assert (outcome["status"], outcome["removed"]) == ("ok", 0)
    assert subscriber.caught_up(broker)
    assert homes.shown(subscriber, f"{topics.root}/site_{site.pk}/electricity_price") is None
    _price_kept_unavailable(topics, subscriber, site, "No awattar prices for DE are stored between")


def test_the_kept_price_entity_follows_the_sites_new_name(topics, subscriber, broker):
    # The price's config is kept (no prices, the last answer gone) while the site is renamed:
    # its retained config went on naming the device "Home", which Home Assistant takes again
    # whenever it reads that config (at each start).
    site = _price_home_published(topics, subscriber, broker)
    ResponseCache().forget("electricity_pricing", "awattar", "DE")
    site.name = "Cottage"
    site.save()
    publish_all(broker, topics, now=datetime(2026, 5, 3, tzinfo=UTC))
    assert subscriber.caught_up(broker)
    node = f"{topics.root}_site_{site.pk}"
    for key in ("electricity_price", "peak_period"):
        component = "binary_sensor" if key == "peak_period" else "sensor"
        config_topic = f"{topics.discovery_prefix}/{component}/{node}/{key}/config"
        assert json.loads(subscriber.messages[config_topic])["device"]["name"] == "Cottage"
    _price_kept_unavailable(topics, subscriber, site, "No awattar prices for DE are stored between")


def test_a_price_entity_home_assistant_never_had_is_not_published_without_prices(
    topics, subscriber, broker, settings
):
    # No prices ever stored, Redis empty: nothing on the broker to keep, nothing published.
    site = homes.home()
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    homes.redis_data_lost(settings)
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    assert f"{topics.root}/site_{site.pk}/peak_period/availability" in subscriber.messages
    assert not any("electricity_price" in topic for topic in subscriber.messages)
