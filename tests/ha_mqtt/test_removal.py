"""Removing a provider or a site removes its entities: an empty retained config (Home Assistant
deletes the entity) and cleared state topics, found by comparing with what was published."""

import pytest

from collectors.ha_mqtt.publisher import publish_all
from collectors.ha_mqtt.tasks import request_publish
from tests.ha_mqtt import homes
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
    # Every message of the publication, not only its first: the aqi_category entity's configs
    # and states are cleared after the aqi entity's.
    assert subscriber.caught_up(broker)
    gone = before - site_topics(subscriber.messages, topics, site)
    for key in ("aqi", "aqi_category"):
        assert f"{topics.discovery_prefix}/sensor/{node}/{key}/config" in gone
        for part in ("state", "attributes", "availability"):
            assert f"{topics.root}/site_{site.pk}/{key}/{part}" in gone
    assert all(cleared(subscriber, topic) for topic in gone)
    assert len(gone) == 2 * 4
    assert f"{topics.discovery_prefix}/sensor/{node}/carbon_intensity/config" in subscriber.messages

    # Published once: the next run has nothing more to remove.
    assert publish_all(broker, topics)["removed"] == 0


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
    assert subscriber.caught_up(broker)
    assert aqi_config not in subscriber.messages and aqi_state not in subscriber.messages
    for key in ("aqi", "aqi_category"):
        assert cleared(subscriber, f"{topics.discovery_prefix}/sensor/{node}/{key}/config")
        assert cleared(subscriber, f"{topics.root}/site_{site.pk}/{key}/availability")
