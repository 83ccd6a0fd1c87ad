"""Two enrich deployments (two databases) on one broker: the one that finds the topic root
another enrich owns publishes nothing and says which setting to change; with a root each, both
publish and neither's cleanup removes the other's entities; mqtt_take_root hands a root over."""

import json
import logging
import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from collectors.ha_mqtt import owner, tasks
from collectors.ha_mqtt.discovery import Topics
from collectors.ha_mqtt.publisher import publish_all
from collectors.models import MqttInstance
from enrich.models import Site
from enrich.mqtt import presence
from enrich.mqtt.broker import Endpoint
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def retained(subscriber, broker) -> dict[str, str]:
    assert subscriber.caught_up(broker)
    return dict(subscriber.messages)


def another_enrich(site: Site, name: str) -> Site:
    """This database becomes another enrich's: an id of its own and, under the same site id
    (each database numbers its sites from 1), another home."""
    MqttInstance.objects.filter(pk=1).update(instance=uuid.uuid4().hex)
    pk = site.pk
    site.delete()
    other = homes.home(name, pk=pk)
    homes.carbon(other)
    return other


def test_a_second_enrich_under_the_same_root_publishes_nothing_and_names_the_root(
    topics, subscriber, broker, caplog
):
    north = homes.home("North")
    homes.carbon(north)
    assert publish_all(broker, topics)["status"] == "ok"
    first = owner.instance_id()
    before = retained(subscriber, broker)
    config = f"{topics.discovery_prefix}/sensor/{topics.node(north.pk)}/carbon_intensity/config"
    assert json.loads(before[config])["device"]["name"] == "North"

    another_enrich(north, "South")
    with pytest.raises(owner.RootTaken) as refused:
        publish_all(broker, topics)
    assert f"MQTT_TOPIC_ROOT='{topics.root}' on 127.0.0.1:1883" in str(refused.value)
    assert f"another enrich (instance {first}, on " in str(refused.value)
    # What the worker runs: an error in its log, nothing published, no presence renewed.
    with caplog.at_level(logging.ERROR, logger="collectors.ha_mqtt"):
        outcome = tasks.run()
    assert outcome["status"] == "root_taken"
    assert any(f"MQTT_TOPIC_ROOT='{topics.root}'" in r.getMessage() for r in caplog.records)
    # North's entities are exactly as North published them: not South's device, not removed.
    assert retained(subscriber, broker) == before


def test_each_enrich_under_a_root_of_its_own_keeps_its_entities(
    topics, subscriber, broker, settings
):
    north = homes.home("North")
    homes.carbon(north)
    assert publish_all(broker, topics)["status"] == "ok"
    north_topics = set(retained(subscriber, broker))

    second = Topics(topics.discovery_prefix, f"{topics.root}/second")
    settings.MQTT_TOPIC_ROOT = second.root
    south = another_enrich(north, "South")
    try:
        assert publish_all(broker, second)["status"] == "ok"
        shown = retained(subscriber, broker)
        assert north_topics <= set(shown)  # North's entities stay
        config = f"{second.discovery_prefix}/sensor/{second.node(south.pk)}/carbon_intensity/config"
        south_config = json.loads(shown[config])
        assert south_config["device"]["name"] == "South"
        assert south_config["unique_id"].startswith(second.node(south.pk))
        assert second.node(south.pk) != topics.node(north.pk)

        # The second enrich's cleanup sees North's entities as not its own: left alone.
        out = StringIO()
        call_command("mqtt_remove_entities", stdout=out)
        assert f"Left alone: 10 entities under {topics.root}/, which belongs to another" in (
            out.getvalue()
        )
        assert set(retained(subscriber, broker)) == set(shown)
    finally:
        presence.release(Endpoint.parse(MQTT_TEST_URL), second.status)


def test_mqtt_take_root_hands_over_the_root_of_an_enrich_gone_for_good(topics, subscriber, broker):
    north = homes.home("North")
    homes.carbon(north)
    assert publish_all(broker, topics)["status"] == "ok"
    first = owner.instance_id()
    south = another_enrich(north, "South")
    with pytest.raises(owner.RootTaken):
        publish_all(broker, topics)

    out = StringIO()
    call_command("mqtt_take_root", stdout=out)
    mine = owner.instance_id()
    assert f"MQTT_TOPIC_ROOT='{topics.root}' is now this enrich's ({mine}); it was " in (
        out.getvalue()
    )
    assert f"instance {first} on " in out.getvalue()
    assert publish_all(broker, topics)["status"] == "ok"
    config = f"{topics.discovery_prefix}/sensor/{topics.node(south.pk)}/carbon_intensity/config"
    assert json.loads(retained(subscriber, broker)[config])["device"]["name"] == "South"

    again = StringIO()
    call_command("mqtt_take_root", stdout=again)
    assert f"is this enrich's already ({mine})" in again.getvalue()
