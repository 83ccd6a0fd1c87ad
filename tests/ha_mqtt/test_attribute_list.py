"""docs/home_assistant.md's list "What the attributes add": the attributes each bullet gives
are those the entities publish on a real broker. The whole-home power is a source entity like
any other (`provider`, `fetched_at`, ...); a circuit and a phantom load are read from the
stored series, not from the meter's answer, and publish their own list only."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import clock
from collectors.ha_mqtt.publisher import publish_all
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from enrich.readings import Reading
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes
from tests.support.google import NOW

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
        found[about] = set(re.findall(r"`(\w+)`", names)) - {"true", "false"}  # values
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


# The entities each bullet of the list is about (of a home with every source but a meter).
ABOUT = {
    "price and peak": ("electricity_price", "peak_period"),
    "price (not peak) and cheapest window": (
        "electricity_price", "cheapest_window_start", "cheapest_window_end",
    ),
    "cheapest window": ("cheapest_window_start", "cheapest_window_end"),
    "air quality": ("aqi", "aqi_category"),
    "occupancy": ("occupancy_prediction",),
}  # fmt: skip
SOURCE_ENTITIES = (
    "carbon_intensity", "electricity_price", "peak_period", "cheapest_window_start",
    "cheapest_window_end", "aqi", "aqi_category", "occupancy_prediction", "prepare_time",
    "next_arrival_time",
)  # fmt: skip


def test_each_source_entity_publishes_the_attributes_the_list_gives(
    topics, subscriber, broker, settings, monkeypatch
):
    site = homes.berlin_calendar(settings)  # fetched at NOW: the workday calendar
    homes.carbon(site)
    homes.air_quality(site)
    homes.pricing(site, settings.INFLUXDB_DATABASE, NOW.replace(minute=0, second=0))
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    assert publish_all(broker, topics, now=NOW)["status"] == "ok"
    assert subscriber.caught_up(broker)
    base = f"{topics.root}/site_{site.pk}"
    shown = {
        key: set(json.loads(subscriber.messages[f"{base}/{key}/attributes"]))
        for key in SOURCE_ENTITIES
    }
    listed = bullets()
    (source_scope,) = [about for about in listed if about.startswith("every source entity")]
    wrong = [
        f"{key}: {sorted(listed[source_scope] - ONLY_SOME - names)} not published"
        for key, names in shown.items()
        if not listed[source_scope] - ONLY_SOME <= names
    ]
    for about, keys in ABOUT.items():
        wrong += [
            f"{key}: {about}: {sorted(listed[about] - shown[key])} not published"
            for key in keys
            if not listed[about] <= shown[key]
        ]
    assert not wrong, wrong
    # "not peak": what the price is, the peak's attributes leave out
    assert not listed["price (not peak) and cheapest window"] & shown["peak_period"]
