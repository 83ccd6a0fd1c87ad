"""A Home Assistant circuit whose sensor does not change (an oven at 0 W all day, a template
sensor, HA before 2024.3 for an unchanged value) keeps its entity with its last value: HA's
state holds until it changes, and every poll reads it from HA again, stamped with the time HA
gave it. Before, its entity was removed from Home Assistant (an empty retained config) once
that time was more than an hour older than the whole-home reading, and came back at the
sensor's next change: the oven's power entity was gone all day."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors.ha_mqtt.publisher import publish_all
from tests.ha_mqtt import homes
from tests.support.ha_discovery import cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
CIRCUITS = {"Heat pump": "sensor.heat_pump_power", "Oven": "sensor.oven_power"}
OVEN = "circuit_home_oven_power"


def test_an_unchanged_circuit_keeps_its_entity_and_value(
    topics, subscriber, broker, settings, replay_server
):
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    site, base = meter.site, f"{topics.root}/site_{meter.site.pk}/{OVEN}"
    config = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/{OVEN}/config"
    oven_since = T0 - timedelta(seconds=30)  # switched off at the first poll, 0 W ever since
    stale_after = 2 * settings.CACHE_TTL_SECONDS["smart_meter"]
    power = f"{topics.root}/site_{site.pk}/power/state"
    for poll in range(16):  # 80 minutes of polls: the heat pump and the home change each time
        meter.run({"Heat pump": 900.0 + poll, "Oven": 0.0}, 2000.0 + poll, {"Oven": oven_since})
        assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
        # The whole publication: the oven's state and availability are the same at every poll,
        # so seeing them says nothing of whether this poll's arrived.
        assert subscriber.caught_up(broker)
        shown = subscriber.messages
        assert shown.get(power) == str(2000.0 + poll), poll
        assert shown.get(f"{base}/state") == "0.0", poll
        assert shown.get(f"{base}/availability") == "online", poll
        attributes = json.loads(subscriber.messages[f"{base}/attributes"])
        # HA's own time of the state, not a time enrich made up; fresh, as HA has it now
        assert attributes["data_time"] == oven_since.isoformat()
        assert attributes["stale"] is False, poll
    assert not cleared(subscriber, config)  # never removed from Home Assistant on the way

    # The whole-home answer ages: the oven's value, read with it, is as stale as it is.
    later = meter.now + timedelta(seconds=stale_after + 60)
    assert publish_all(broker, topics, now=later)["status"] == "ok"
    assert subscriber.caught_up(broker)
    assert json.loads(subscriber.messages[f"{base}/attributes"])["stale"] is True
    assert subscriber.messages.get(f"{base}/state") == "0.0"
    assert not cleared(subscriber, config)


def test_a_circuit_ha_has_no_value_for_is_not_carried(topics, subscriber, broker, replay_server):
    """Carried only while HA still gives a value: an oven sensor unavailable (or taken out of
    options.circuits) falls back to the hour of the meter's data, as every circuit: with no
    value in it, the entity is unavailable."""
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    site, base = meter.site, f"{topics.root}/site_{meter.site.pk}/{OVEN}"
    config = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/{OVEN}/config"
    oven_since = T0 - timedelta(hours=3)
    meter.run({"Heat pump": 900.0, "Oven": 0.0}, 2000.0, {"Oven": oven_since})
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.caught_up(broker)
    assert subscriber.messages.get(f"{base}/state") == "0.0"
    meter.run({"Heat pump": 910.0, "Oven": None}, 2010.0)
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    # Its 3-hour-old value is not shown as current: unavailable (removed only after a day
    # without a value: test_circuit_gaps; before, this one poll removed the entity).
    assert subscriber.caught_up(broker)
    assert subscriber.messages.get(f"{base}/availability") == "offline"
    assert not cleared(subscriber, config)
