"""Every config, state and attributes payload enrich publishes is one Home Assistant's MQTT
integration accepts and shows as meant (tests.support.ha_rules): each kind of entity's config,
and everything a home with every source, a flexible load and a retention run puts on the real
broker, at a moment of the calendar's day and at the current one."""

import json
from datetime import timedelta

import pytest

from collectors import clock
from collectors.ha_mqtt.discovery import Topics, config_payload
from collectors.ha_mqtt.publisher import publish_all
from enrich.models import ProviderConfig
from retention.models import RetentionRun
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes
from tests.ha_mqtt.specs import SPECS
from tests.support import ha_rules
from tests.support.google import NOW


def test_each_kind_of_entity_has_a_config_home_assistant_accepts():
    topics = Topics("homeassistant", "enrich")
    wrong = {
        spec.key: found
        for spec in SPECS
        if (
            found := ha_rules.config_problems(
                spec.component, config_payload(topics, 1, "Home", spec)
            )
        )
        or (found := ha_rules.topic_problems(topics.config(1, spec)))
    }
    assert not wrong, wrong


def broker_problems(subscriber, topics) -> dict[str, list[str]]:
    """{topic: what Home Assistant would refuse or show wrong} of everything on the broker."""
    found = {}
    for topic, payload in subscriber.messages.items():
        if not (topic.startswith(f"{topics.discovery_prefix}/") and topic.endswith("/config")):
            continue
        component = topic.split("/")[-4]
        config = json.loads(payload)
        problems = ha_rules.config_problems(component, config) + ha_rules.topic_problems(topic)
        if (state := subscriber.messages.get(config["state_topic"])) is not None:
            if component == "binary_sensor":
                valid = (config["payload_on"], config["payload_off"])
                problems += [] if state in valid else [f"binary state {state!r}"]
            else:
                problems += ha_rules.state_problems(config, state)
        attributes = subscriber.messages.get(config["json_attributes_topic"], "{}")
        problems += ha_rules.attribute_problems(json.loads(attributes))
        if problems:
            found[topic] = problems
    return found


@pytest.mark.django_db
@pytest.mark.influxdb
def test_everything_a_full_home_publishes_is_valid_for_home_assistant(
    topics, subscriber, broker, settings, monkeypatch
):
    anchor = homes.hour_start()
    calendar = homes.berlin_calendar(settings)  # occupancy, its arrival and prepare time
    site = homes.home("Flat")
    homes.carbon(site)
    homes.air_quality(site)
    homes.pricing(site, settings.INFLUXDB_DATABASE, anchor)
    load = homes.load(site, anchor)
    meter = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(meter, scenarios_smart_meter.home_assistant).status == "ok"
    finished = anchor - timedelta(hours=1)
    RetentionRun.objects.create(
        operation="downsample_hourly", status="ok", started=finished - timedelta(minutes=4),
        finished=finished, records_processed=10, records_deleted=9,
    )  # fmt: skip

    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    assert publish_all(broker, topics, NOW)["status"] == "ok"
    assert subscriber.caught_up(broker)
    assert homes.states(subscriber, topics, calendar)["prepare_time"] != "None"
    assert not broker_problems(subscriber, topics)

    monkeypatch.undo()
    assert publish_all(broker, topics, anchor + timedelta(minutes=20))["status"] == "ok"
    assert subscriber.caught_up(broker)
    shown = homes.states(subscriber, topics, site)
    assert {"electricity_price", f"load_{load.pk}_start", "power", "aqi"} <= set(shown), shown
    assert not broker_problems(subscriber, topics)


@pytest.mark.parametrize(
    ("device", "problem"),
    [
        ({"configuration_url": "enrich.local:8000"}, "configuration_url"),  # no scheme
        ({"configuration_url": "ftp://enrich.example.org/"}, "configuration_url"),
        ({"configuration_url": "https://"}, "configuration_url"),  # no host
        ({"version": "0.1.0"}, "device key 'version'"),
        ({"sw_version": ["0.1.0"]}, "device sw_version"),
    ],
)
def test_the_rules_refuse_a_device_home_assistant_refuses(device, problem):
    found = ha_rules.device_problems({"identifiers": ["enrich_site_1"], **device})
    assert any(problem in each for each in found), found


def test_the_rules_accept_a_version_and_a_link():
    device = {
        "identifiers": ["enrich_site_1"],
        "sw_version": "0.1.0",
        "configuration_url": "https://enrich.example.org/",
    }
    assert ha_rules.device_problems(device) == []
    assert ha_rules.device_problems(device | {"configuration_url": "homeassistant://config"}) == []
