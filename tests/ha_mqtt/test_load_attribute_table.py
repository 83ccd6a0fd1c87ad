"""docs/home_assistant.md's table of the flexible-load sensor's attributes names every
attribute the sensor publishes, and only those: with a plan, with a carbon message, and
without a plan (`reason`, `known`). Hourly aWATTar slots and an Electricity Maps forecast from
H+4 (tests.ha_mqtt.homes, as in test_loads.py)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from collectors.ha_mqtt.publisher import publish_all
from collectors.models import FlexibleLoad
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import load, published, store_carbon, utc_home

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
ROOT = Path(__file__).resolve().parents[2]
HOUR = timedelta(hours=1)


def documented() -> set[str]:
    text = (ROOT / "docs" / "home_assistant.md").read_text()
    table = text[text.index("| attribute | meaning |") :].split("\n\n")[0]
    return {
        name
        for line in table.splitlines()[2:]
        for name in re.findall(r"`(\w+)`", line.split(" | ")[0])
    }


def test_the_attribute_table_names_what_the_sensor_publishes(topics, subscriber, broker, settings):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    store_carbon(site, settings.INFLUXDB_DATABASE, anchor, {}, 8, since=4)  # 300 g from H+4
    loads = [
        load(site, anchor, name="Green", carbon_price=100, kw=1.5),  # a plan, a carbon message
        FlexibleLoad.objects.create(
            site=site, name="Short", hours=2, carbon_price=100, deadline=(anchor + 5 * HOUR).time()
        ),  # no plan: two hours before H+5 leave one with carbon
    ]
    publish_all(broker, topics, now=anchor + timedelta(minutes=20))
    planned, none = [
        published(subscriber, topics, site, f"load_{each.pk}_start")[1] for each in loads
    ]
    assert "carbon_message" in planned and {"reason", "known"} <= set(none)
    shown = set(planned) | set(none)
    table = documented()
    assert shown - table == set(), "published, not in the table"
    assert table - shown == set(), "in the table, never published"
