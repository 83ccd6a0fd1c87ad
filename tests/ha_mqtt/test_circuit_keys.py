"""Circuits of a Home Assistant meter whose names read alike as an entity key ("Heat pump",
"Heat Pump", "Heat-Pump": all `heat_pump`) keep the key each was given, over many collections
through the real pipeline (HA's REST API replayed) and publications to the real broker: a
circuit added later, or back after an hour without data, never takes another's entity, so
the entity's history in Home Assistant (and in InfluxDB through HA's own integration) and the
automations on it keep one circuit's power."""

import hashlib
import json
from datetime import UTC, datetime

import pytest

from collectors.ha_mqtt.publisher import publish_all
from enrich.influx import get_timeseries
from tests.ha_mqtt import homes

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
ENTITIES = {
    "Heat pump": "sensor.heat_pump_power",
    "Heat Pump": "sensor.attic_heat_pump_power",  # sorts before "Heat pump" ('P' < 'p')
    "Heat-Pump": "sensor.garage_heat_pump_power",  # sorts after it ('-' > ' ')
}
PLAIN = "circuit_home_heat_pump_power"


def suffixed(circuit: str) -> str:
    """The key of a circuit whose plain key another holds: 8 hex digits of device and name."""
    digest = hashlib.sha256(f"home\0{circuit}".encode()).hexdigest()[:8]
    return f"circuit_home_heat_pump_{digest}_power"


class Meter(homes.HaMeter):
    """One site's HA meter, collected every 5 minutes through the pipeline."""

    def __init__(self, server) -> None:
        super().__init__(server, homes.home(), ENTITIES, T0)


def circuit_entities(messages: dict[str, str], topics, site) -> dict[str, tuple[str, str]]:
    """{entity name: (key, state)} of the site's circuit entities on the broker."""
    prefix = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/circuit_"
    found = {}
    for topic, payload in list(messages.items()):
        if topic.startswith(prefix):
            config = json.loads(payload)
            key = topic[len(prefix) - len("circuit_") : -len("/config")]
            found[config["name"]] = (key, messages.get(config["state_topic"], ""))
    return found


def published(broker, topics, subscriber, site) -> dict[str, tuple[str, str]]:
    """The site's circuit entities once every message of a publication reached Home Assistant."""
    assert publish_all(broker, topics)["status"] == "ok"
    assert subscriber.caught_up(broker)
    return circuit_entities(subscriber.messages, topics, site)


def unavailable(subscriber, topics, site, key: str) -> bool:
    topic = f"{topics.root}/site_{site.pk}/{key}/availability"
    return subscriber.wait_for(lambda m: m.get(topic) == "offline", timeout=5)


def stored(settings) -> dict[str, list[float]]:
    """What InfluxDB holds per circuit tag: power_w in time order."""
    rows = get_timeseries().query(
        settings.INFLUXDB_DATABASE, "SELECT power_w FROM smart_meter_circuit GROUP BY circuit"
    )
    found: dict[str, list[float]] = {}
    for row in sorted(rows, key=lambda r: r.time):
        found.setdefault(row.tags["circuit"], []).append(row.values["power_w"])
    return found


def test_a_circuit_added_later_never_takes_the_key_of_the_one_there_before(
    topics, subscriber, broker, settings, replay_server
):
    """ "Heat Pump" comes second but first in name order, then has no data for over an hour
    (it leaves HA), then comes back: "Heat pump" keeps `heat_pump` throughout."""
    meter = Meter(replay_server)
    site, heat_pump = meter.site, "Heat pump power"
    meter.run({"Heat pump": 920.0})
    expected = {heat_pump: (PLAIN, "920.0")}
    assert published(broker, topics, subscriber, site) == expected

    meter.run({"Heat pump": 930.0, "Heat Pump": 100.0})
    expected = {heat_pump: (PLAIN, "930.0"), "Heat Pump power": (suffixed("Heat Pump"), "100.0")}
    assert published(broker, topics, subscriber, site) == expected

    for _ in range(13):  # 65 minutes: older than the hour a circuit's value is shown for
        meter.run({"Heat pump": 940.0, "Heat Pump": None})
    # It stays, unavailable, with its key (removed only after a day without a value).
    expected = {heat_pump: (PLAIN, "940.0"), "Heat Pump power": (suffixed("Heat Pump"), "100.0")}
    assert published(broker, topics, subscriber, site) == expected
    assert unavailable(subscriber, topics, site, suffixed("Heat Pump"))

    meter.run({"Heat pump": 950.0, "Heat Pump": 120.0})
    expected = {heat_pump: (PLAIN, "950.0"), "Heat Pump power": (suffixed("Heat Pump"), "120.0")}
    assert published(broker, topics, subscriber, site) == expected
    # InfluxDB holds each circuit under its own name, with its own values only.
    assert stored(settings) == {
        "Heat pump": [920.0, 930.0, *[940.0] * 13, 950.0],
        "Heat Pump": [100.0, 120.0],
    }


def test_a_circuit_back_after_an_hour_without_data_gets_its_own_key_back(
    topics, subscriber, broker, settings, replay_server
):
    """ "Heat pump" holds `heat_pump`, "Heat-Pump" comes second; "Heat pump" has no data for
    over an hour and comes back: "Heat-Pump" never shows on the heat pump's entity."""
    meter = Meter(replay_server)
    site, other = meter.site, "Heat-Pump power"
    meter.run({"Heat pump": 920.0})
    meter.run({"Heat pump": 930.0, "Heat-Pump": 100.0})
    expected = {"Heat pump power": (PLAIN, "930.0"), other: (suffixed("Heat-Pump"), "100.0")}
    assert published(broker, topics, subscriber, site) == expected

    for _ in range(13):
        meter.run({"Heat pump": None, "Heat-Pump": 110.0})
    # The heat pump's entity is unavailable while it has no value; the other keeps its own key.
    expected = {"Heat pump power": (PLAIN, "930.0"), other: (suffixed("Heat-Pump"), "110.0")}
    assert published(broker, topics, subscriber, site) == expected
    assert unavailable(subscriber, topics, site, PLAIN)

    meter.run({"Heat pump": 950.0, "Heat-Pump": 120.0})
    expected = {"Heat pump power": (PLAIN, "950.0"), other: (suffixed("Heat-Pump"), "120.0")}
    assert published(broker, topics, subscriber, site) == expected
    assert stored(settings) == {
        "Heat pump": [920.0, 930.0, 950.0],
        "Heat-Pump": [100.0, *[110.0] * 13, 120.0],
    }
