"""manage.py mqtt_remove_entities over the real broker: enrich's entities left under an old
topic root are removed (config, state, attributes, availability, status, the root's owner),
the current ones stay unless --all, another integration's config and another enrich's root are
never touched and --dry-run changes nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectors.ha_mqtt.discovery import Topics
from collectors.ha_mqtt.owner import owner_topic
from collectors.ha_mqtt.publisher import publish_all
from enrich.mqtt import presence
from enrich.mqtt.broker import Endpoint
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ENTITIES = 7  # a site without providers: the storage and retention diagnostics


def remove(*options: str) -> str:
    out = StringIO()
    call_command("mqtt_remove_entities", *options, stdout=out)
    return out.getvalue()


def retained(subscriber, broker, topics) -> dict[str, str]:
    """What is retained on the broker under the test's prefix and root once every message
    published so far arrived (the `scan` markers of the command are not retained)."""
    assert subscriber.caught_up(broker)
    scans = f"{topics.root}/scan/"
    return {t: p for t, p in subscriber.messages.items() if not t.startswith(scans)}


@pytest.fixture
def published(topics, subscriber, broker):
    """One site's entities published under an old root `<root>/old` and the current root, and
    a foreign retained config (with its state) under the same discovery prefix."""
    site = homes.home()
    old = Topics(topics.discovery_prefix, f"{topics.root}/old")
    assert publish_all(broker, old)["entities"] == ENTITIES
    assert publish_all(broker, topics)["entities"] == ENTITIES
    foreign = {
        f"{topics.discovery_prefix}/sensor/other_site_1/temp/config": json.dumps(
            {
                "name": "Temperature",
                "state_topic": f"{topics.root}/foreign/temp",
                "device": {"identifiers": ["other_site_1"], "manufacturer": "other"},
                "origin": {"name": "zigbee2mqtt"},
            }
        ),
        f"{topics.root}/foreign/temp": "21.5",
    }
    for topic, payload in foreign.items():
        broker.publish(topic, payload)
    assert broker.flush(5)
    before = retained(subscriber, broker, topics)
    yield site, old, before, foreign
    presence.release(Endpoint.parse(MQTT_TEST_URL), old.status)


def of(messages: dict[str, str], topics: Topics, site_id: int) -> set[str]:
    node, base = topics.node(site_id), f"{topics.root}/site_{site_id}/"
    return {t for t in messages if f"/{node}/" in t or t.startswith(base) or t == topics.status}


def test_orphans_removes_the_old_roots_entities_only(published, topics, subscriber, broker):
    site, old, before, foreign = published
    old_topics, current = of(before, old, site.pk), of(before, topics, site.pk)
    # Per entity: config, attributes, availability and (when it has a value) state; status.
    assert len(old_topics) == len(current) > 3 * ENTITIES + 1

    out = remove()

    left = retained(subscriber, broker, topics)
    # The current root stays this enrich's; the old one, left without entities, is free again.
    assert set(left) == current | set(foreign) | {owner_topic(topics.root)}
    assert left == {t: before[t] for t in left}
    assert f"Removed {ENTITIES} entities: cleared {4 * ENTITIES + 2} retained topics" in out
    assert f"  {owner_topic(old.root)}\n" in out
    assert f"{2 * ENTITIES} entities of enrich under {topics.discovery_prefix}/" in out
    assert all(f"  {t}\n" in out for t in old_topics)
    port = Endpoint.parse(MQTT_TEST_URL).port
    assert (
        f"{ENTITIES} entities of enrich under {topics.discovery_prefix}/ on 127.0.0.1:{port}, "
        "0 orphaned." in remove()
    )


def test_all_removes_every_entity_of_enrich(published, topics, subscriber, broker):
    site, old, before, foreign = published
    out = remove("--all")
    assert retained(subscriber, broker, topics) == foreign
    assert f"{2 * ENTITIES} entities of enrich" in out
    assert f"Removed {2 * ENTITIES} entities: cleared {2 * (4 * ENTITIES + 2)}" in out


def test_dry_run_lists_and_changes_nothing(published, topics, subscriber, broker):
    site, old, before, foreign = published
    start = len(subscriber.log)
    out = remove("--all", "--dry-run")
    assert retained(subscriber, broker, topics) == before
    assert not [t for t, p, _ in subscriber.log[start:] if p == ""]
    assert f"Dry run: would clear {2 * (4 * ENTITIES + 2)} retained topics" in out
    assert f"  {old.status}\n" in out


def test_mqtt_off_needs_a_broker_and_removes_everything(
    published, topics, subscriber, broker, settings
):
    site, old, before, foreign = published
    settings.MQTT_URL = ""
    with pytest.raises(CommandError, match="--url"):
        remove()
    out = remove("--url", MQTT_TEST_URL)  # nothing is published now: every entity is orphaned
    assert retained(subscriber, broker, topics) == foreign
    assert f"{2 * ENTITIES} orphaned" in out


def test_abbreviated_keys_name_the_topics_to_clear(topics, subscriber, broker):
    """A config written with Home Assistant's abbreviations (and a `~` base topic) is enrich's
    too when its origin and device say so; the topics it names are cleared with it."""
    node, base = f"{topics.root}_gone_site_9", f"{topics.root}/gone/site_9/power"
    config = f"{topics.discovery_prefix}/sensor/{node}/power/config"
    payload = {
        "~": base,
        "name": "Power",
        "stat_t": "~/state",
        "json_attr_t": "~/attributes",
        "avty": [{"t": f"{topics.root}/gone/status"}, {"t": "~/availability"}],
        "dev": {"ids": [node], "mf": "enrich"},
        "o": {"name": "enrich"},
    }
    named = [f"{base}/state", f"{base}/attributes", f"{base}/availability"]
    named.append(f"{topics.root}/gone/status")
    for topic, value in [(config, json.dumps(payload)), *((t, "x") for t in named)]:
        broker.publish(topic, value)
    assert broker.flush(5)
    assert set(retained(subscriber, broker, topics)) == {config, *named}

    out = remove()

    assert retained(subscriber, broker, topics) == {}
    assert f"Removed 1 entity: cleared {1 + len(named)} retained topics" in out
