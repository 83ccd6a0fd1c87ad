"""A circuit that had a value and is missing from the meter's newest poll (Home Assistant's
sensor unavailable, a Vue channel or a Sense device the answer does not list) is unavailable
from that poll on, with a reason, and comes back with the next value. Before, its last value
(an oven's 2000 W) stayed on as current and available for up to an hour after the meter last
gave one, only its `stale` attribute flagging it ten minutes on: automations read 2000 W for
an hour after the oven stopped reporting."""

import json
from copy import deepcopy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.ha_mqtt.publisher import publish_all
from tests.collectors import scenarios_smart_meter as scenarios
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import shown
from tests.support.ha_discovery import cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
CIRCUITS = {"Heat pump": "sensor.heat_pump_power", "Oven": "sensor.oven_power"}
OVEN = "circuit_home_oven_power"


def test_a_circuit_missing_from_the_newest_poll_is_unavailable_at_once(
    topics, subscriber, broker, replay_server
):
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    base = f"{topics.root}/site_{meter.site.pk}/{OVEN}"
    config = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{meter.site.pk}/{OVEN}/config"
    meter.run({"Heat pump": 900.0, "Oven": 2000.0}, 2900.0)
    last_value = meter.now - meter.EVERY - timedelta(seconds=30)  # HA reported it then
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(lambda m: shown(subscriber, base) == "2000.0")

    # Every poll of the next hour without the oven; at each minute between the first ones too.
    for poll in range(12):
        meter.run({"Heat pump": 910.0, "Oven": None}, 910.0)
        for minute in range(5) if poll < 2 else (0, 4):
            now = meter.now - meter.EVERY + timedelta(minutes=minute)
            start = len(subscriber.log)
            assert publish_all(broker, topics, now=now)["status"] == "ok"
            assert subscriber.wait_for(
                lambda _, start=start: any(
                    t == f"{base}/availability" for t, _, _ in subscriber.log[start:]
                )
            )
            assert shown(subscriber, base) is None, now
            about = json.loads(subscriber.messages[f"{base}/attributes"])
            assert about["reason"] == (
                f"the meter's newest answer has no value for it (its last: {last_value.isoformat()})"
            )
            assert about["data_time"] == last_value.isoformat()
    assert not cleared(subscriber, config)  # unavailable, not removed

    meter.run({"Heat pump": 920.0, "Oven": 1500.0}, 2420.0)  # back
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(lambda m: shown(subscriber, base) == "1500.0")
    assert "reason" not in json.loads(subscriber.messages[f"{base}/attributes"])


def test_a_vue_channel_missing_from_the_newest_poll_is_unavailable(
    topics, subscriber, broker, replay_server
):
    """An Emporia Vue's furnace channel, 432 W at 14:05, is missing from the answer of 14:10
    (the channel removed in the app, or its usage not ready): its entity is unavailable from
    that poll, while the Vue's other circuits show their new values."""
    server = replay_server
    site = homes.home()
    first = server.load_fixture("emporia/usage_1min.json")
    later = deepcopy(first)
    later["deviceListUsages"]["instant"] = "2026-05-01T14:10:00Z"
    channels = later["deviceListUsages"]["devices"][0]["channelUsages"]
    channels[:] = [c for c in channels if c["name"] != "Furnace"]
    next(c for c in channels if c["name"] == "Dryer")["usage"] = 0.05  # 3000 W
    config = homes.emporia_vue(server, site, first, later)
    base = f"{topics.root}/site_{site.pk}/circuit_main_panel_"
    furnace, dryer = f"{base}furnace_power", f"{base}dryer_power"

    now = scenarios.EMPORIA_NOW
    assert pipeline.collect(config, now=now).status == "ok"
    assert publish_all(broker, topics, now=now)["status"] == "ok"
    assert subscriber.wait_for(
        lambda m: shown(subscriber, furnace) == "432.0" and shown(subscriber, dryer) == "0.0"
    )

    now += timedelta(minutes=5)
    assert pipeline.collect(config, now=now).status == "ok"
    assert publish_all(broker, topics, now=now)["status"] == "ok"
    assert subscriber.wait_for(
        lambda m: shown(subscriber, furnace) is None and shown(subscriber, dryer) == "3000.0"
    ), (shown(subscriber, furnace), shown(subscriber, dryer))
    about = json.loads(subscriber.messages[f"{furnace}/attributes"])
    last = "2026-05-01T14:05:00+00:00"
    assert about["reason"] == f"the meter's newest answer has no value for it (its last: {last})"
