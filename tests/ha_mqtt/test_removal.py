"""Removing a provider or a site removes its entities: an empty retained config (Home Assistant
deletes the entity), found by comparing with what was published, and the next publication
clears their state topics."""

import pytest

from collectors.ha_mqtt.publisher import STATE_PARTS, publish_all
from collectors.ha_mqtt.tasks import request_publish
from enrich.mqtt.broker import Broker
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL
from tests.ha_mqtt.processes import Publisher
from tests.support.ha_discovery import cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def site_topics(messages: dict[str, str], topics, site) -> set[str]:
    node, base = f"{topics.root}_site_{site.pk}", f"{topics.root}/site_{site.pk}/"
    return {t for t in messages if f"/{node}/" in t or t.startswith(base)}


def test_disabling_a_provider_removes_its_entities_only(
    topics, subscriber, broker, settings, django_capture_on_commit_callbacks
):
    site = homes.home()
    homes.carbon(site)
    air = homes.air_quality(site)
    assert publish_all(broker, topics)["entities"] == 2 + 3 + 7  # AQI, carbon, diagnostics
    node = f"{topics.root}_site_{site.pk}"
    aqi_config = f"{topics.discovery_prefix}/sensor/{node}/aqi/config"
    aqi_state = f"{topics.root}/site_{site.pk}/aqi/state"
    assert subscriber.caught_up(broker)
    assert aqi_state in subscriber.messages and aqi_config in subscriber.messages
    before = site_topics(subscriber.messages, topics, site)

    with django_capture_on_commit_callbacks() as requested:
        air.enabled = False
        air.save()
    assert requested == [request_publish]  # the change asks for a publication

    assert publish_all(broker, topics) == {"status": "ok", "entities": 10, "removed": 2}
    # The configs go first; the next publication clears the state topics (below).
    assert subscriber.caught_up(broker)
    assert before - site_topics(subscriber.messages, topics, site) == {
        f"{topics.discovery_prefix}/sensor/{node}/{key}/config" for key in ("aqi", "aqi_category")
    }

    # Published once: the next run has nothing more to remove.
    assert publish_all(broker, topics)["removed"] == 0
    # Every message of the publication, not only its first: the aqi_category entity's states
    # are cleared after the aqi entity's.
    assert subscriber.caught_up(broker)
    gone = before - site_topics(subscriber.messages, topics, site)
    for key in ("aqi", "aqi_category"):
        assert f"{topics.discovery_prefix}/sensor/{node}/{key}/config" in gone
        for part in STATE_PARTS:
            assert f"{topics.root}/site_{site.pk}/{key}/{part}" in gone
    assert all(cleared(subscriber, topic) for topic in gone)
    assert len(gone) == 2 * 4
    assert f"{topics.discovery_prefix}/sensor/{node}/carbon_intensity/config" in subscriber.messages


def emptied(subscriber, broker, publish) -> set[str]:
    """The topics `publish` sent an empty payload to, once all it sent arrived."""
    start = len(subscriber.log)
    publish()
    assert subscriber.caught_up(broker)
    return {topic for topic, payload, _ in subscriber.log[start:] if payload == ""}


def air_entities(topics) -> tuple:
    """A site with air quality (and carbon): (its provider config, the config topics of its
    two entities, their state, attributes and availability topics)."""
    site = homes.home()
    homes.carbon(site)
    air = homes.air_quality(site)
    node, keys = topics.node(site.pk), ("aqi", "aqi_category")
    configs = {f"{topics.discovery_prefix}/sensor/{node}/{key}/config" for key in keys}
    states = {f"{topics.base(site.pk, key)}/{part}" for key in keys for part in STATE_PARTS}
    return air, configs, states


def test_a_removed_entitys_state_topics_are_cleared_by_the_next_publication(
    topics, subscriber, broker
):
    """Home Assistant unsubscribes from a removed entity's topics only once it has handled its
    empty config: states cleared in the same burst reach it and each is logged (`Erroneous
    JSON: `, `Invalid state message ''`). The removal's publication clears the configs only,
    the next one every state, attributes and availability topic of the entities removed."""
    air, configs, states = air_entities(topics)
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    assert configs | states <= set(subscriber.messages)
    air.enabled = False
    air.save()

    removal = emptied(subscriber, broker, lambda: publish_all(broker, topics))
    assert removal == configs
    assert states <= set(subscriber.messages)  # still retained: Home Assistant reads them
    assert emptied(subscriber, broker, lambda: publish_all(broker, topics)) == states
    assert not states & set(subscriber.messages)
    assert emptied(subscriber, broker, lambda: publish_all(broker, topics)) == set()


def test_state_topics_wait_through_an_interrupted_publication(topics, subscriber, broker):
    """A publication cut off clears nothing for good: the state topics it was to clear are
    cleared by the next one that gets through. An entity back in the cut one (recorded as
    published) and removed again by the next has its config cleared first and its state
    topics one publication later, as any."""
    air, configs, states = air_entities(topics)
    cut = Broker(MQTT_TEST_URL).start()
    assert cut.wait_connected(10)
    cut.stop()  # its connection lost: nothing it is handed reaches the broker
    publish_all(broker, topics)

    for enabled, publish in ((False, broker), (True, cut), (False, broker)):
        air.enabled = enabled
        air.save()
        if publish is cut:
            assert publish_all(cut, topics)["status"] == "interrupted"
        else:
            assert emptied(subscriber, broker, lambda: publish_all(broker, topics)) == configs
    assert publish_all(cut, topics)["status"] == "interrupted"
    assert states <= set(subscriber.messages)
    assert emptied(subscriber, broker, lambda: publish_all(broker, topics)) == states
    assert emptied(subscriber, broker, lambda: publish_all(broker, topics)) == set()


def test_an_entity_back_before_its_states_are_cleared_keeps_its_new_ones(
    topics, subscriber, broker
):
    """A provider disabled and enabled again within a minute: the publication that clears the
    removed entity's state topics publishes its new states after clearing them."""
    site = homes.home()
    homes.carbon(site)
    air = homes.air_quality(site)
    publish_all(broker, topics)
    air.enabled = False
    air.save()
    assert publish_all(broker, topics)["removed"] == 2
    air.enabled = True
    air.save()
    states = {f"{topics.base(site.pk, 'aqi')}/{part}" for part in STATE_PARTS}
    assert emptied(subscriber, broker, lambda: publish_all(broker, topics)) >= states
    state, attributes, availability = homes.published(subscriber, topics, site, "aqi")
    assert (state, availability) == ("62.0", "online") and attributes


def test_deleting_a_site_removes_its_device(topics, subscriber, broker):
    kept, removed = homes.home("Kept"), homes.home("Removed")
    homes.carbon(kept)
    homes.carbon(removed)
    assert publish_all(broker, topics)["entities"] == 2 * (3 + 7)
    node = f"{topics.root}_site_{removed.pk}"
    assert subscriber.wait_for(
        lambda m: f"{topics.root}/site_{removed.pk}/storage_archive/availability" in m
    )
    removed_pk = removed.pk
    removed.delete()
    assert publish_all(broker, topics) == {"status": "ok", "entities": 10, "removed": 10}
    assert publish_all(broker, topics)["removed"] == 0  # clears their state topics
    assert subscriber.wait_for(
        lambda m: not any(f"/{node}/" in t or f"/site_{removed_pk}/" in t for t in m)
    )
    kept_node = f"{topics.root}_site_{kept.pk}"
    assert sum(f"/{kept_node}/" in t for t in subscriber.messages) == 10


# A publication killed once the broker took its messages, before it recorded in Redis what it
# published (the hard time limit while it waited, out of memory, a worker killed).
KILLED_AFTER_PUBLISHING = """
import time
import django
django.setup()
from collectors.ha_mqtt import tasks
from enrich.mqtt.broker import Broker
acknowledged = Broker.flush
def flush(self, timeout):
    assert acknowledged(self, timeout)  # the broker holds every message of the publication
    print("acknowledged", flush=True)
    time.sleep(3600)
Broker.flush = flush
tasks.run()
"""


@pytest.mark.django_db(transaction=True)
def test_entities_of_a_publication_killed_midway_are_removed_later(topics, subscriber, broker):
    """Home Assistant got the air quality entities from a publication that was killed before
    it recorded them; the provider disabled since, the next publication removes them (they
    stayed, available with their last values, for good)."""
    site = homes.home()
    homes.carbon(site)
    assert publish_all(broker, topics)["entities"] == 3 + 7
    air = homes.air_quality(site)
    killed = Publisher(KILLED_AFTER_PUBLISHING)
    try:
        assert killed.proc.stdout.readline() == b"acknowledged\n"
    finally:
        killed.proc.kill()
        killed.proc.wait(10)
    node = f"{topics.root}_site_{site.pk}"
    aqi_config = f"{topics.discovery_prefix}/sensor/{node}/aqi/config"
    aqi_state = f"{topics.root}/site_{site.pk}/aqi/state"
    assert subscriber.wait_for(lambda m: aqi_config in m and aqi_state in m)

    air.enabled = False
    air.save()
    assert publish_all(broker, topics) == {"status": "ok", "entities": 10, "removed": 2}
    publish_all(broker, topics)  # the next publication clears their state topics
    assert subscriber.caught_up(broker)
    assert aqi_config not in subscriber.messages and aqi_state not in subscriber.messages
    for key in ("aqi", "aqi_category"):
        assert cleared(subscriber, f"{topics.discovery_prefix}/sensor/{node}/{key}/config")
        assert cleared(subscriber, f"{topics.root}/site_{site.pk}/{key}/availability")
