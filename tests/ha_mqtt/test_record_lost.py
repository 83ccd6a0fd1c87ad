"""Redis lost its data (a restart without persistence, a flush): the cached answers and the
record of what was published are gone, while the broker still retains every entity's last
state, available. An entity the next publication no longer publishes (its value came from the
lost answer) must not go on showing that last state as a current one: the publication takes
what the broker retains under its root as published, and reconciles it as any other time."""

from datetime import UTC, datetime

import pytest

from collectors.ha_mqtt.publisher import publish_all
from enrich.models import ProviderConfig
from tests.collectors import scenarios_carbon
from tests.ha_mqtt import homes
from tests.support.ha_discovery import cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
CIRCUITS = {"Heat pump": "sensor.heat_pump_power", "Oven": "sensor.oven_power"}
KEYS = ("circuit_home_heat_pump_power", "circuit_home_oven_power")


def test_the_moer_percentile_is_removed_not_left_showing(topics, subscriber, broker, settings):
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="carbon_intensity", provider="watttime"
    )
    assert homes.collect(config, scenarios_carbon.watttime, plan="free").status == "ok"
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    base = f"{topics.root}/site_{site.pk}/carbon_moer_percentile"
    assert homes.shown(subscriber, base) == "37.0"

    homes.redis_data_lost(settings)
    outcome = publish_all(broker, topics)
    assert (outcome["status"], outcome["removed"]) == ("ok", 1)
    assert subscriber.caught_up(broker)
    node = f"{topics.root}_site_{site.pk}"
    assert cleared(
        subscriber, f"{topics.discovery_prefix}/sensor/{node}/carbon_moer_percentile/config"
    )
    publish_all(broker, topics)  # the next publication clears its state topics
    assert subscriber.caught_up(broker)
    assert homes.shown(subscriber, base) is None
    assert not any(topic.startswith(base) for topic in subscriber.messages)


def test_the_circuits_turn_unavailable_and_stay(
    topics, subscriber, broker, settings, replay_server
):
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    site = meter.site
    meter.run({"Heat pump": 920.0, "Oven": 50.0}, total=2000.0)
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    base = f"{topics.root}/site_{site.pk}"
    assert [homes.shown(subscriber, f"{base}/{key}") for key in KEYS] == ["920.0", "50.0"]

    homes.redis_data_lost(settings)  # the meter's answer with it: its circuits cannot be told now
    outcome = publish_all(broker, topics)
    assert (outcome["status"], outcome["removed"]) == ("ok", 0)
    assert subscriber.caught_up(broker)
    assert [homes.shown(subscriber, f"{base}/{key}") for key in KEYS] == [None, None]
    node = f"{topics.root}_site_{site.pk}"
    for key in KEYS:  # kept, unavailable, for their day without a value (not removed)
        assert not cleared(subscriber, f"{topics.discovery_prefix}/sensor/{node}/{key}/config")

    meter.run({"Heat pump": 930.0, "Oven": 60.0}, total=2100.0)  # the next poll
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    assert [homes.shown(subscriber, f"{base}/{key}") for key in KEYS] == ["930.0", "60.0"]


def test_a_site_disabled_meanwhile_loses_its_entities(topics, subscriber, broker, settings):
    kept, gone = homes.home(), homes.home("Cabin")
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    homes.redis_data_lost(settings)
    gone.enabled = False
    gone.save()
    outcome = publish_all(broker, topics)
    assert (outcome["status"], outcome["removed"]) == ("ok", 7)  # its diagnostics
    publish_all(broker, topics)  # the next publication clears their state topics
    assert subscriber.caught_up(broker)
    assert not any(
        f"_site_{gone.pk}/" in t or f"/site_{gone.pk}/" in t for t in subscriber.messages
    )
    assert any(f"/site_{kept.pk}/" in t for t in subscriber.messages)
