"""Occupancy (Google Calendar) and smart meter entities, from real collections through the
replay server: the prediction and prepare_time, whole-home power, each circuit's power and the
phantom load per meter device."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock
from collectors.ha_mqtt.publisher import publish_all
from collectors.smart_meter.common import CIRCUIT_MEASUREMENT
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from enrich.readings import Reading
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes
from tests.support.google import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def test_occupancy_prediction_and_prepare_time(topics, subscriber, broker, settings, monkeypatch):
    site = homes.berlin_calendar(settings)
    [household] = get_timeseries().query(
        settings.INFLUXDB_DATABASE,
        'SELECT * FROM "occupancy_prediction" WHERE "person" = \'household\'',
    )
    # Published at the fetch's moment: the prediction follows the events as time moves on.
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    publish_all(broker, topics, NOW)
    node = f"{topics.root}_site_{site.pk}"
    occupied_config = f"{topics.discovery_prefix}/binary_sensor/{node}/occupancy_prediction/config"
    assert subscriber.wait_for(
        lambda m: f"{topics.root}/site_{site.pk}/next_arrival_time/state" in m
    )
    found = homes.states(subscriber, topics, site)
    # Home office all day, climbing 18-20 (tests/occupancy/test_google_calendar.py): home now,
    # back at 20:30 after climbing, so pre-heat from 19:30 - as the collector stored it.
    assert (found["occupancy_prediction"], found["prepare_time"], found["next_arrival_time"]) == (
        "ON",
        "2026-05-04T19:30:00+02:00",
        "2026-05-04T20:30:00+02:00",
    )
    assert household.values["prepare_time"] == found["prepare_time"]
    attributes = json.loads(
        subscriber.messages[f"{topics.root}/site_{site.pk}/occupancy_prediction/attributes"]
    )
    assert (attributes["confidence"], attributes["wfh_today"]) == (0.95, True)
    config_payload = json.loads(subscriber.messages[occupied_config])
    assert (config_payload["device_class"], config_payload["payload_on"]) == ("occupancy", "ON")
    prepare = json.loads(
        subscriber.messages[f"{topics.discovery_prefix}/sensor/{node}/prepare_time/config"]
    )
    assert prepare["device_class"] == "timestamp" and "unit_of_measurement" not in prepare


def test_home_power_circuits_and_phantom_load(topics, subscriber, broker, settings):
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(config, scenarios_smart_meter.home_assistant).status == "ok"
    # What the after-write hook stores once the night's 02:30-03:30 samples are in, on the
    # meter's series (collectors.smart_meter.common.tags: the site's name too).
    tags = {"meter_type": "home_assistant", "device": "home", "provider": "home_assistant"}
    tags["site"] = site.name
    night = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)  # 03:30 in Chicago
    phantom = Reading("smart_meter", {"phantom_load_w": 212.0}, night, tags)
    get_timeseries().write(settings.INFLUXDB_DATABASE, [phantom])

    publish_all(broker, topics)
    base = f"{topics.root}/site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/circuit_home_heat_pump_power/availability" in m)
    found = homes.states(subscriber, topics, site)
    # tests/fixtures/home_assistant: 1843.6 W in total; the heat pump's 0.92 kW as 920 W; the
    # oven was "unavailable" in Home Assistant, so it has no entity.
    assert {
        k: found[k] for k in ("power", "phantom_load_home", "circuit_home_heat_pump_power")
    } == {
        "power": "1843.6",
        "phantom_load_home": "212.0",
        "circuit_home_heat_pump_power": "920.0",
    }
    assert not any("oven" in key for key in found)
    node = f"{topics.root}_site_{site.pk}"
    circuit = json.loads(
        subscriber.messages[
            f"{topics.discovery_prefix}/sensor/{node}/circuit_home_heat_pump_power/config"
        ]
    )
    assert (circuit["name"], circuit["device_class"], circuit["unit_of_measurement"]) == (
        "Heat pump power",
        "power",
        "W",
    )
    assert circuit["state_class"] == "measurement"
    attributes = json.loads(subscriber.messages[f"{base}/circuit_home_heat_pump_power/attributes"])
    assert attributes["data_time"] == "2026-05-01T14:04:41.250000+00:00"
    assert attributes["stale"] is True  # months old: shown, and marked


def test_circuits_whose_names_slug_alike_are_entities_each(topics, subscriber, broker, settings):
    # slug() keeps a-z and 0-9: "Heat-Pump" reads as the heat pump's "heat_pump", and names in
    # other scripts as "unnamed". One entity took both values before; each is its own now.
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(config, scenarios_smart_meter.home_assistant).status == "ok"
    # The time of the meter's newest data (its whole-home power's): circuits of its newest
    # poll (one whose value is older is unavailable: test_missing_circuits).
    data_time = datetime(2026, 5, 1, 14, 5, 3, 100002, tzinfo=UTC)
    more = {"Heat-Pump": 100.0, "冷蔵庫": 80.0, "洗濯機": 500.0}
    # Circuits the meter reads (options.circuits), stored as its poll stores them.
    configured = config.options["circuits"] | {n: f"sensor.c{i}" for i, n in enumerate(more)}
    config.options = config.options | {"circuits": configured}
    config.save(update_fields=["options"])
    tags = {"provider": "home_assistant", "device": "home", "site": site.name}
    get_timeseries().write(
        settings.INFLUXDB_DATABASE,
        [
            Reading(CIRCUIT_MEASUREMENT, {"power_w": w}, data_time, tags | {"circuit": name})
            for name, w in more.items()
        ],
    )
    assert publish_all(broker, topics)["entities"] == 2 + 3 + 7
    prefix = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/circuit_"

    def circuits(messages) -> list[dict]:
        return [json.loads(p) for t, p in list(messages.items()) if t.startswith(prefix)]

    assert subscriber.wait_for(
        lambda m: len(found := circuits(m)) == 4 and all(e["state_topic"] in m for e in found)
    )
    shown = {
        e["name"]: subscriber.messages[e["state_topic"]] for e in circuits(subscriber.messages)
    }
    assert shown == {
        "Heat pump power": "920.0",
        "Heat-Pump power": "100.0",
        "冷蔵庫 power": "80.0",
        "洗濯機 power": "500.0",
    }
    found = homes.states(subscriber, topics, site)
    assert found["circuit_home_heat_pump_power"] == "920.0"  # the first keeps its id
    assert found["circuit_home_unnamed_power"] == "80.0"


def test_influxdb_down_removes_nothing(topics, subscriber, broker, settings):
    from enrich.influx import reset_timeseries

    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(config, scenarios_smart_meter.home_assistant).status == "ok"
    assert publish_all(broker, topics)["entities"] == 2 + 7  # power, the heat pump, diagnostics
    circuit = f"{topics.root}/site_{site.pk}/circuit_home_heat_pump_power/state"
    assert subscriber.wait_for(lambda m: circuit in m)
    upstream = settings.INFLUXDB_URL
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = "http://127.0.0.1:9", 1.0
    reset_timeseries()
    try:
        # The circuits cannot be read: the site stays as it was, nothing is removed.
        assert publish_all(broker, topics) == {"status": "ok", "entities": 9, "removed": 0}
    finally:
        settings.INFLUXDB_URL = upstream
        reset_timeseries()
    assert subscriber.messages[circuit] == "920.0"
    assert not any(payload == "" for _, payload, _ in subscriber.log)


def test_influxdb_down_keeps_the_circuits_and_shows_no_past_price(
    topics, subscriber, broker, settings
):
    """The circuits that cannot be read stay (unavailable, not removed); the price is not the
    one published before InfluxDB went away: it was, available, past its slot's end, and so
    were the peak period and the cheapest window, for as long as InfluxDB was down."""
    from enrich.influx import reset_timeseries

    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(config, scenarios_smart_meter.home_assistant).status == "ok"
    anchor = homes.hour_start()
    homes.pricing(site, settings.INFLUXDB_DATABASE, anchor)
    publish_all(broker, topics, now=anchor + timedelta(minutes=20))
    base = f"{topics.root}/site_{site.pk}"
    price, circuit = f"{base}/electricity_price", f"{base}/circuit_home_heat_pump_power"
    assert subscriber.wait_for(
        lambda m: m.get(f"{price}/state") == "0.3" and m.get(f"{circuit}/state") == "920.0"
    )
    upstream = settings.INFLUXDB_URL
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = "http://127.0.0.1:9", 1.0
    reset_timeseries()
    try:
        # Two hours on: the 0.30 slot is long over (H+2 costs 0.12).
        outcome = publish_all(broker, topics, now=anchor + timedelta(hours=2, minutes=5))
    finally:
        settings.INFLUXDB_URL = upstream
        reset_timeseries()
    assert outcome["removed"] == 0
    for key in (
        "electricity_price",
        "peak_period",
        "cheapest_window_start",
        "circuit_home_heat_pump_power",
    ):
        assert subscriber.wait_for(
            lambda m, key=key: m.get(f"{base}/{key}/availability") == "offline"
        ), key
    reason = json.loads(subscriber.messages[f"{base}/peak_period/attributes"])["reason"]
    # InfluxDB out of reach, without its address (it named "http://127.0.0.1:9"): the log has it
    assert reason == (
        "The stored prices cannot be read: InfluxDB does not answer (it is down, starting or "
        "overloaded); try again later. The server log names the address tried."
    ), reason
    assert not any(payload == "" for _, payload, _ in subscriber.log)  # nothing removed
    assert subscriber.messages[f"{circuit}/state"] == "920.0"  # kept for when it is back
