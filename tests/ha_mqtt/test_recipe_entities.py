"""The entities the Home Assistant recipes of docs/home_assistant.md, docs/providers.md and
docs/storage.md use are enrich's (the ids Home Assistant makes for the device "Home",
tests/ha_mqtt/test_entity_table.py) or the page's own REST and InfluxDB sensors; each attribute
they read with `state_attr()` is one enrich publishes on the entity's attributes topic, or one
Home Assistant adds from the discovery config (`unit_of_measurement`): a home with aWATTar
prices, UK carbon intensity, AirNow and the flexible load "Dishwasher" (with a plan; the
`reason` of a load without one from a site with no price provider), published on the real
broker. Their automations use Home Assistant's current keys (tests.support.ha_recipes)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from collectors.ha_mqtt.discovery import config_payload, slug
from collectors.ha_mqtt.publisher import publish_all
from tests.ha_mqtt import homes
from tests.ha_mqtt.specs import SPECS, entity_id
from tests.support.ha_recipes import automations, influxdb_sensors, old_keys
from tests.support.ha_rest import documented_resources

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("home_assistant.md", "providers.md", "storage.md")  # those with automations
ENTITY = re.compile(r"\b((?:sensor|binary_sensor)\.\w+)")
ATTRIBUTE = re.compile(r"state_attr\(\s*'([\w.]+)',\s*'(\w+)'\s*\)")
# Attributes Home Assistant shows from the discovery config, not from the attributes topic.
FROM_CONFIG = {"unit_of_measurement", "device_class", "state_class", "icon"}


def recipes(*pages: str) -> str:
    """Every ```yaml block of the pages (all of PAGES when none is named)."""
    text = "\n".join((ROOT / "docs" / page).read_text() for page in pages or PAGES)
    return "\n".join(re.findall(r"```yaml\n(.*?)```", text, re.S))


def entity_specs() -> dict[str, object]:
    """{entity id on the device "Home": its spec}."""
    return {entity_id(spec): spec for spec in SPECS}


def own_sensors(page: str) -> set[str]:
    """The ids Home Assistant gives the page's REST and InfluxDB sensors, those of their names
    ("Air quality index": `sensor.air_quality_index`)."""
    rest = [sensor for resource in documented_resources(page) for sensor in resource["sensor"]]
    return {f"sensor.{slug(sensor['name'])}" for sensor in rest + influxdb_sensors(page)}


@pytest.mark.parametrize(
    ("page", "some"),
    [
        (
            "home_assistant.md",
            {"sensor.home_dishwasher_recommended_start", "sensor.household_home"},
        ),
        ("providers.md", {"sensor.phantom_load", "sensor.phantom_load_last_week"}),
        ("storage.md", set()),
    ],
)
def test_every_entity_a_recipe_uses_is_one_enrich_publishes_or_a_sensor_of_the_page(page, some):
    used = set(ENTITY.findall(recipes(page)))
    assert some <= used
    assert used - entity_specs().keys() - own_sensors(page) == set()


@pytest.mark.parametrize("page", PAGES)
def test_every_automation_uses_home_assistants_current_keys(page):
    found = automations(page)
    assert found, f"docs/{page} has no automation"
    assert [problem for each in found for problem in old_keys(each)] == []


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
