"""A circuit missing from a poll or a few (Home Assistant's sensor unavailable, a Vue channel
missing from an answer) keeps its entity in Home Assistant, shown unavailable, and comes back
with its value at the next good poll. Only a circuit without a value for GONE_AFTER (a day) is
removed (an empty retained config). Before, an oven at 0 W since the morning (its one stored
point hours old, carried only while HA gave its state) was removed from Home Assistant at the
first poll its sensor was unavailable and created again at the next: dashboards and
automations lost the entity for five minutes."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from collectors.ha_mqtt.publisher import GONE_AFTER, publish_all
from enrich.influx import stored_rows
from enrich.mqtt.broker import Endpoint
from enrich.mqtt.retained import retained_messages
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL
from tests.support.ha_discovery import cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
CIRCUITS = {"Heat pump": "sensor.heat_pump_power", "Oven": "sensor.oven_power"}
OVEN = "circuit_home_oven_power"


def oven(meter, topics) -> tuple[str, str]:
    """(the oven's discovery config topic, its topic base)."""
    node = f"{topics.root}_site_{meter.site.pk}"
    config = f"{topics.discovery_prefix}/sensor/{node}/{OVEN}/config"
    return config, f"{topics.root}/site_{meter.site.pk}/{OVEN}"


def jump(meter, to: datetime) -> None:
    """The next poll at `to`: HA's history of the gap since the last poll has no states."""
    since = meter.now - meter.EVERY
    meter.server.add("GET", f"/api/history/period/{since.isoformat()}", json=[], times=1)
    meter.now = to


def oven_taken_out(topics, subscriber, broker, replay_server):
    """(meter, the oven's config topic, its topic base) once the oven, published with a value,
    was taken out of options.circuits and published again: unavailable, not removed."""
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    config, base = oven(meter, topics)
    meter.run({"Heat pump": 900.0, "Oven": 2000.0}, 2900.0)
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "online")
    meter.run({"Heat pump": 910.0}, 910.0)  # the oven taken out of options.circuits
    assert publish_all(broker, topics, now=meter.now)["removed"] == 0
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "offline")
    return meter, config, base


def test_one_poll_without_a_circuit_keeps_its_entity_unavailable(
    topics, subscriber, broker, replay_server
):
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    config, base = oven(meter, topics)
    since = T0 - timedelta(hours=3)  # off since the morning: one stored point, 3 h old
    meter.run({"Heat pump": 900.0, "Oven": 0.0}, 2000.0, {"Oven": since})
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "online")
    payload = subscriber.messages[config]

    meter.run({"Heat pump": 910.0, "Oven": None}, 2010.0)  # HA: sensor.oven_power unavailable
    assert publish_all(broker, topics, now=meter.now) == {
        "status": "ok", "entities": 10, "removed": 0
    }  # fmt: skip
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "offline")
    assert not cleared(subscriber, config)  # still in Home Assistant, shown unavailable
    assert subscriber.messages[config] == payload

    meter.run({"Heat pump": 920.0, "Oven": 0.0}, 2020.0, {"Oven": since})  # back
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(
        lambda m: m.get(f"{base}/availability") == "online" and m.get(f"{base}/state") == "0.0"
    )
    assert json.loads(subscriber.messages[f"{base}/attributes"])["data_time"] == since.isoformat()
    assert not cleared(subscriber, config)  # never removed on the way


def test_a_circuit_without_a_value_for_a_day_is_removed(
    topics, subscriber, broker, replay_server, caplog
):
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    config, base = oven(meter, topics)
    meter.run({"Heat pump": 900.0, "Oven": 0.0}, 2000.0)
    last_seen = meter.now  # the last publication with its value
    assert publish_all(broker, topics, now=last_seen)["status"] == "ok"
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "online")
    meter.run({"Heat pump": 910.0}, 2010.0)  # taken out of options.circuits (or dead)
    # Not in the newest answer: unavailable (its value of 5 minutes ago is no current one).
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "offline")

    for later in (last_seen + timedelta(hours=2), last_seen + GONE_AFTER - timedelta(minutes=5)):
        jump(meter, later)
        meter.run({"Heat pump": 920.0}, 2020.0)
        assert publish_all(broker, topics, now=later)["removed"] == 0
        assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "offline")
        assert not cleared(subscriber, config)
    jump(meter, last_seen + GONE_AFTER)
    meter.run({"Heat pump": 930.0}, 2030.0)
    caplog.set_level("INFO", logger="collectors.ha_mqtt")
    assert publish_all(broker, topics, now=last_seen + GONE_AFTER)["removed"] == 1
    # One entity, in the singular: it said "removed 1 entities".
    assert [m for m in caplog.messages if m.startswith("mqtt: removed 1 entity: ")], caplog.text
    assert subscriber.wait_for(lambda m: cleared(subscriber, config))
    publish_all(broker, topics, now=last_seen + GONE_AFTER)  # clears its state topics
    assert subscriber.caught_up(broker)
    assert f"{base}/state" not in subscriber.messages


def test_a_deleted_meter_removes_its_circuits_at_once(topics, subscriber, broker, replay_server):
    """The grace is for a circuit of a meter that still reports: a meter deleted or disabled
    removes its entities at the next publication, as before."""
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    config, base = oven(meter, topics)
    meter.run({"Heat pump": 900.0, "Oven": 0.0}, 2000.0)
    assert publish_all(broker, topics, now=meter.now)["status"] == "ok"
    assert subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "online")
    meter.config.enabled = False
    meter.config.save()
    assert publish_all(broker, topics, now=meter.now)["removed"] == 3  # power and both circuits
    assert subscriber.wait_for(lambda m: cleared(subscriber, config))


def test_mqtt_remove_entities_removes_a_circuit_taken_out_of_the_options_at_once(
    topics, subscriber, broker, replay_server
):
    """docs/home_assistant.md: a circuit taken out of `options.circuits` stays, unavailable,
    for a day, and `manage.py mqtt_remove_entities` removes it at once."""
    meter, config, base = oven_taken_out(topics, subscriber, broker, replay_server)

    out = StringIO()
    call_command("mqtt_remove_entities", stdout=out)
    assert subscriber.wait_for(lambda m: cleared(subscriber, config)), out.getvalue()
    # Its retained state goes too: each topic's removal arrives on its own.
    assert subscriber.wait_for(lambda m: f"{base}/state" not in m), out.getvalue()
    heat_pump = config.replace(OVEN, "circuit_home_heat_pump_power")
    assert not cleared(subscriber, heat_pump)  # still in the options: kept


def test_a_circuit_mqtt_remove_entities_removed_is_not_published_again(
    topics, subscriber, broker, replay_server
):
    """The oven taken out of `options.circuits`, then removed with `mqtt_remove_entities`:
    the publications of the rest of its day (its points of today still in InfluxDB) leave
    nothing of it retained on the broker, neither its config nor an `offline` availability
    nor a state; the heat pump, still read, stays as it was."""
    meter, config, base = oven_taken_out(topics, subscriber, broker, replay_server)
    call_command("mqtt_remove_entities", stdout=StringIO())
    assert subscriber.wait_for(lambda m: f"{base}/availability" not in m)

    later = meter.now + timedelta(hours=3)  # the same day
    jump(meter, later)
    meter.run({"Heat pump": 920.0}, 920.0)
    assert publish_all(broker, topics, now=later) == {
        "status": "ok", "entities": 9, "removed": 0
    }  # fmt: skip
    assert subscriber.caught_up(broker)
    endpoint = Endpoint.parse(MQTT_TEST_URL)
    retained = retained_messages(endpoint, f"{topics.root}/#", timeout=10)
    retained |= retained_messages(endpoint, f"{topics.discovery_prefix}/#", timeout=10)
    assert [t for t in retained if OVEN in t] == []
    heat_pump = f"{topics.root}/site_{meter.site.pk}/circuit_home_heat_pump_power"
    assert retained[f"{heat_pump}/state"] == b"920.0"
    assert retained[f"{heat_pump}/availability"] == b"online"
    # Its stored points of the day are untouched.
    rows = stored_rows(
        'SELECT count("power_w") FROM "smart_meter_circuit" WHERE "circuit" = $circuit',
        {"circuit": "Oven"},
    )
    assert [row.values["count"] for row in rows] == [1]
