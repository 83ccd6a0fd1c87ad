"""docs/home_assistant.md's list "What the attributes add": the attributes it gives a smart
meter's entities are those they publish on a real broker. The whole-home power is a source
entity like any other (`provider`, `fetched_at`, ...); a circuit and a phantom load are read
from the stored series, not from the meter's answer, and publish their own list only."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.ha_mqtt.publisher import publish_all
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from enrich.readings import Reading
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
ROOT = Path(__file__).resolve().parents[2]
ONLY_SOME = {"reason", "device_gid"}  # without a value; Emporia's devices only


def bullets() -> dict[str, set[str]]:
    """{what a bullet is about: the attribute names it gives}."""
    text = (ROOT / "docs" / "home_assistant.md").read_text()
    part = text[text.index("What the attributes add") :].split("\n### ")[0]
    found = {}
    for item in re.findall(r"^- (.*?)(?=^- |\Z)", part, re.M | re.S):
        about, _, names = " ".join(item.split()).partition(": ")
        found[about] = set(re.findall(r"`(\w+)`", names))
    return found


def test_the_meter_entities_publish_the_attributes_the_list_gives(
    topics, subscriber, broker, settings
):
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(config, scenarios_smart_meter.home_assistant).status == "ok"
    tags = {"meter_type": "home_assistant", "device": "home", "provider": "home_assistant"}
    night = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)  # the night's phantom load, as stored
    phantom = Reading("smart_meter", {"phantom_load_w": 212.0}, night, tags | {"site": site.name})
    get_timeseries().write(settings.INFLUXDB_DATABASE, [phantom])
    publish_all(broker, topics)
    shown = {
        key: set(homes.published(subscriber, topics, site, key)[1])
        for key in ("power", "phantom_load_home", "circuit_home_heat_pump_power")
    }

    listed = bullets()
    (source_scope,) = [about for about in listed if about.startswith("every source entity")]
    (meter_scope,) = [about for about in listed if about.startswith("phantom load and circuits")]
    source, meter = listed[source_scope] - ONLY_SOME, listed[meter_scope] - ONLY_SOME
    assert source <= shown["power"], f"{source_scope}: the whole-home power has {shown['power']}"
    for key in ("phantom_load_home", "circuit_home_heat_pump_power"):
        # A bullet about every source entity that does not leave the meter's entities out
        # says they publish its names too.
        said = meter | (set() if "phantom load" in source_scope else source)
        if key.startswith("phantom_load"):
            said -= {"circuit"}  # a device's, not a circuit's
        assert shown[key] == said, f"{key} publishes {sorted(shown[key])}, the list {sorted(said)}"
