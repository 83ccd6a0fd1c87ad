"""The entities docs/home_assistant.md's automations and templates use are enrich's (the ids
Home Assistant makes for the device "Home", tests/ha_mqtt/test_entity_table.py) or the page's
REST sensors, and each attribute they read with `state_attr()` is one enrich publishes on the
entity's attributes topic, or one Home Assistant adds from the discovery config
(`unit_of_measurement`): a home with aWATTar prices, UK carbon intensity, AirNow and the
flexible load "Dishwasher" (with a plan; the `reason` of a load without one from a site with
no price provider), published on the real broker."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from collectors.ha_mqtt.discovery import config_payload, slug
from collectors.ha_mqtt.publisher import publish_all
from tests.ha_mqtt import homes
from tests.ha_mqtt.specs import SPECS, entity_id
from tests.support.ha_rest import documented_resources

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ROOT = Path(__file__).resolve().parents[2]
PAGE = "home_assistant.md"
ENTITY = re.compile(r"\b((?:sensor|binary_sensor)\.\w+)")
ATTRIBUTE = re.compile(r"state_attr\(\s*'([\w.]+)',\s*'(\w+)'\s*\)")
# Attributes Home Assistant shows from the discovery config, not from the attributes topic.
FROM_CONFIG = {"unit_of_measurement", "device_class", "state_class", "icon"}


def recipes() -> str:
    """Every ```yaml block of the page."""
    text = (ROOT / "docs" / PAGE).read_text()
    return "\n".join(re.findall(r"```yaml\n(.*?)```", text, re.S))


def entity_specs() -> dict[str, object]:
    """{entity id on the device "Home": its spec}."""
    return {entity_id(spec): spec for spec in SPECS}


def test_every_entity_a_recipe_uses_is_one_enrich_publishes_or_a_rest_sensor_of_the_page():
    """The REST sensors' ids are Home Assistant's of their names ("Air quality index":
    `sensor.air_quality_index`)."""
    used = set(ENTITY.findall(recipes()))
    rest = {f"sensor.{slug(sensor['name'])}" for resource in documented_resources(PAGE)
            for sensor in resource["sensor"]}  # fmt: skip
    assert {"sensor.home_dishwasher_recommended_start", "sensor.household_home"} <= used
    assert used - entity_specs().keys() - rest == set()


def test_every_attribute_a_recipe_reads_is_published(topics, subscriber, broker, settings):
    read = set(ATTRIBUTE.findall(recipes()))
    assert ("binary_sensor.home_peak_period", "slot_end") in read, read
    anchor = homes.hour_start()
    site = homes.home("Home")
    homes.carbon(site)
    homes.air_quality(site)
    homes.pricing(site, settings.INFLUXDB_DATABASE, anchor)
    # The dishwasher's plan, and a load of a site with no price provider: no plan, a reason.
    loads = [homes.load(site, anchor), homes.load(homes.home("Flat"), anchor)]
    assert publish_all(broker, topics, anchor + timedelta(minutes=20))["status"] == "ok"
    specs = entity_specs()
    missing = []
    for entity, name in sorted(read):
        spec = specs[entity]
        found = [(each.site, f"load_{each.pk}_start") for each in loads]
        found = found if spec.key.startswith("load_") else [(site, spec.key)]
        attributes = {attribute for where, key in found
                      for attribute in homes.published(subscriber, topics, where, key)[1]}  # fmt: skip
        config = config_payload(topics, site.pk, site.name, spec)
        if name not in attributes and not (name in FROM_CONFIG and name in config):
            missing.append(f"{entity} {name}: published {sorted(attributes)}")
    assert not missing, missing
