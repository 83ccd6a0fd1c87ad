"""An Emporia channel or a Sense device renamed in its app keeps its Home Assistant entity:
the same unique id and config topic (so the same entity id and history), available with the
channel's value, its name following the app. Before, the renamed circuit came as a new entity
under the new name, and the one the user had read unavailable from that poll on, for good (a
day later it was removed): dashboards and automations on it lost the circuit."""

import json
from copy import deepcopy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline, registry
from collectors.ha_mqtt.publisher import publish_all
from collectors.models import CircuitKey
from collectors.smart_meter.common import MEASUREMENT
from enrich.influx import get_timeseries, stored_rows
from enrich.models import ProviderConfig
from enrich.readings import Reading
from tests.collectors import scenarios_smart_meter as scenarios
from tests.collectors.sense_feed import FeedServer, frame
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import shown
from tests.support.meter_days import forget_schedules

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
MINUTE = timedelta(minutes=1)


def renamed(answer: dict, instant: str, names: dict[str, str]) -> dict:
    """The minute usage `answer` at `instant`, its channels renamed by `names` (old -> new)."""
    later = deepcopy(answer)
    later["deviceListUsages"]["instant"] = instant
    for channel in later["deviceListUsages"]["devices"][0]["channelUsages"]:
        channel["name"] = names.get(channel["name"], channel["name"])
    return later


def circuit_configs(subscriber, topics, site) -> dict[str, dict]:
    """{config topic: config} of the site's circuit entities on the broker."""
    prefix = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/circuit_"
    return {t: json.loads(p) for t, p in subscriber.messages.items() if t.startswith(prefix)}


def published(config, broker, topics, subscriber, site, now) -> tuple[int, dict[str, dict]]:
    """One collection at `now` and a publication: (how many entities it published, the site's
    circuit configs on the broker)."""
    assert pipeline.collect(config, now=now).status == "ok"
    entities = publish_all(broker, topics, now=now)["entities"]
    assert subscriber.caught_up(broker)
    return entities, circuit_configs(subscriber, topics, site)


def republished(broker, topics, subscriber, site, now, entities: int) -> dict[str, dict]:
    """A publication at `now` that publishes `entities` entities and removes none: the site's
    circuit configs on the broker."""
    assert publish_all(broker, topics, now=now) == {
        "status": "ok", "entities": entities, "removed": 0
    }  # fmt: skip
    assert subscriber.caught_up(broker)
    return circuit_configs(subscriber, topics, site)


def back_renamed_at_night(config, broker, topics, subscriber, site, seen) -> None:
    """The Vue of `renamed_vue` back at 02:35 the next day as "Basement panel": each of its
    circuits keeps the entity it had (`seen`: the entities published, the circuit configs)."""
    entities, before = seen
    forget_schedules("emporia_devices")  # the device list is read again: "Basement panel"
    registry.adapter_for.cache_clear()
    now = datetime(2026, 5, 2, 2, 36, 30, tzinfo=UTC)
    assert pipeline.collect(config, now=now).status == "ok"
    after = republished(broker, topics, subscriber, site, now, entities)
    base = f"{topics.root}/site_{site.pk}/circuit_main_panel_furnace_power"
    same_entities_renamed(subscriber, base, before, after)
    registry.adapter_for.cache_clear()


def renamed_vue(server, site) -> ProviderConfig:
    """An Emporia Vue config of `site` (homes.emporia_vue) whose Vue, gid 1234, is "Main panel"
    in the first device list and "Basement panel" in the next ones; its minute usage the same
    at 14:05, 14:10 and 02:35 the next day."""
    registry.adapter_for.cache_clear()  # no device list of another test's server
    first = server.load_fixture("emporia/usage_1min.json")
    config = homes.emporia_vue(server, site, first, renamed(first, "2026-05-01T14:10:00Z", {}))
    devices = server.load_fixture("emporia/devices.json")
    devices["devices"][0]["locationProperties"]["deviceName"] = "Basement panel"
    server.add("GET", "/customers/devices", json=devices)  # after the first device list
    night = renamed(first, "2026-05-02T02:35:00Z", {})
    query = {**scenarios.MINUTE_USAGE, "instant": "2026-05-02T02:35:00.000Z"}
    scenarios.answer_app_api(server, query, json=night)
    return config


def sense_config(site, server, feed: FeedServer) -> ProviderConfig:
    """A Sense config of `site` reading `feed`, every 5 minutes, ten reads a minute allowed."""
    credentials = scenarios.sense_credentials(server, feed.url, budget="10/minute")
    return ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="sense", interval_seconds=300,
        username=credentials.username, password=credentials.password,
        options=dict(credentials.options),
    )  # fmt: skip


def same_entities_renamed(subscriber, base: str, before: dict, after: dict) -> None:
    """The Vue's circuit configs `after` its rename are those `before` it (no entity more, none
    gone, the same unique ids), and the Furnace's (at `base`) shows its power under the new
    device name."""
    assert sorted(after) == sorted(before)
    assert {t: c["unique_id"] for t, c in after.items()} == {
        t: c["unique_id"] for t, c in before.items()
    }
    assert shown(subscriber, base) == "432.0"
    attributes = json.loads(subscriber.messages[f"{base}/attributes"])
    assert (attributes["device"], attributes["device_gid"]) == ("Basement panel", "1234")


def test_an_emporia_channel_renamed_in_the_app_keeps_its_entity(
    topics, subscriber, broker, replay_server
):
    site = homes.home()
    first = replay_server.load_fixture("emporia/usage_1min.json")
    heat_pump = renamed(first, "2026-05-01T14:10:00Z", {"Furnace": "Heat pump"})
    back = renamed(first, "2026-05-01T14:15:00Z", {})
    config = homes.emporia_vue(replay_server, site, first, heat_pump, heat_pump, back)
    base = f"{topics.root}/site_{site.pk}/circuit_main_panel_furnace_power"
    now = scenarios.EMPORIA_NOW
    entities, before = published(config, broker, topics, subscriber, site, now)
    topic = next(t for t, c in before.items() if c["name"] == "Furnace power")

    now += timedelta(minutes=5)  # channel 7 is "Heat pump" in the app from now on
    assert pipeline.collect(config, now=now).status == "ok"
    for minute in (0, 4):  # at the poll and at a publication without a new one
        after = republished(broker, topics, subscriber, site, now + minute * MINUTE, entities)
        assert shown(subscriber, base) == "432.0"
        assert sorted(after) == sorted(before)  # no entity more, none gone
        assert after[topic]["unique_id"] == before[topic]["unique_id"]
        assert after[topic]["name"] == "Heat pump power"
        attributes = json.loads(subscriber.messages[f"{base}/attributes"])
        assert attributes["circuit"] == "Heat pump"
    # The series in InfluxDB is the new name's (the tag is the app's name); the entity key
    # passed to it, kept for good.
    key = CircuitKey.objects.get(site=site, scope="ha_mqtt", key="circuit_main_panel_furnace")
    assert json.loads(key.owner) == ["Main panel", "Heat pump", "1234"]

    now += timedelta(minutes=10)  # renamed back to "Furnace"
    assert pipeline.collect(config, now=now).status == "ok"
    assert publish_all(broker, topics, now=now)["status"] == "ok"
    assert subscriber.caught_up(broker)
    assert shown(subscriber, base) == "432.0"
    after = circuit_configs(subscriber, topics, site)
    assert sorted(after) == sorted(before)
    assert after[topic]["name"] == "Furnace power"


def test_an_emporia_channel_renamed_while_its_vue_was_offline_keeps_its_entity(
    topics, subscriber, broker, replay_server
):
    """Channel 7 "Furnace" renamed "Heat pump" in the app while the Vue was offline from 14:05
    to 02:35 the next day: no value of the old name lies in the hour read back, yet the
    channel's tags (kept for good) say it is the same channel, and its entity stays."""
    registry.adapter_for.cache_clear()  # no device list of another test's server
    site = homes.home()
    first = replay_server.load_fixture("emporia/usage_1min.json")
    config = homes.emporia_vue(replay_server, site, first)
    night = renamed(first, "2026-05-02T02:35:00Z", {"Furnace": "Heat pump"})
    query = {**scenarios.MINUTE_USAGE, "instant": "2026-05-02T02:35:00.000Z"}
    scenarios.answer_app_api(replay_server, query, json=night)
    base = f"{topics.root}/site_{site.pk}/circuit_main_panel_furnace_power"
    entities, before = published(config, broker, topics, subscriber, site, scenarios.EMPORIA_NOW)
    topic = next(t for t, c in before.items() if c["name"] == "Furnace power")

    now = datetime(2026, 5, 2, 2, 36, 30, tzinfo=UTC)
    assert pipeline.collect(config, now=now).status == "ok"
    after = republished(broker, topics, subscriber, site, now, entities)
    assert sorted(after) == sorted(before)  # no entity more, none gone
    assert (after[topic]["unique_id"], after[topic]["name"]) == (
        before[topic]["unique_id"],
        "Heat pump power",
    )
    assert shown(subscriber, base) == "432.0"
    registry.adapter_for.cache_clear()


def test_a_sense_device_renamed_in_the_app_keeps_its_entity(
    topics, subscriber, broker, replay_server
):
    """The kettle (device k1) renamed "Tea kettle" in the Sense app, then back: its entity
    shows the device's power under its name of the moment, also while it is off (0 W under
    both names in that frame); its old name gets no 0 W while it is on under the new one."""
    registry.adapter_for.cache_clear()  # no session of another test's feed
    site = homes.home()
    kettle = f"{topics.root}/site_{site.pk}/circuit_98765_kettle_power"
    with FeedServer() as feed:
        scenarios.sense_routes(replay_server)
        feed.script(
            frame(0, ("k1", "Kettle", 2000.0)),
            frame(5, ("k1", "Tea kettle", 1900.0)),
            frame(10, ("always_on", "Always On", 726.0)),
            frame(15, ("k1", "Kettle", 1800.0)),
        )
        config = sense_config(site, replay_server, feed)
        seen = []
        for run, watts in enumerate(("2000.0", "1900.0", "0.0", "1800.0")):
            now = scenarios.SENSE_NOW + run * timedelta(minutes=5)
            assert pipeline.collect(config, now=now).status == "ok"
            assert publish_all(broker, topics, now=now)["status"] == "ok"
            assert subscriber.caught_up(broker)
            assert shown(subscriber, kettle) == watts, run
            configs = circuit_configs(subscriber, topics, site)
            seen.append({c["unique_id"]: c["name"] for c in configs.values()})
    registry.adapter_for.cache_clear()
    unique_id = f"{topics.root}_site_{site.pk}_circuit_98765_kettle_power"
    assert [names.get(unique_id) for names in seen] == [
        "Kettle power", "Tea kettle power", "Tea kettle power", "Kettle power"
    ]  # fmt: skip
    assert [len([n for n in names if "kettle" in n]) for names in seen] == [1, 1, 1, 1]
    rows = stored_rows('SELECT "power_w" FROM "smart_meter_circuit" GROUP BY "circuit"')
    stored: dict[str, list[float]] = {}
    for row in sorted(rows, key=lambda row: row.time):
        stored.setdefault(row.tags["circuit"], []).append(row.values["power_w"])
    assert stored["Kettle"] == [2000.0, 0.0, 1800.0]
    assert stored["Tea kettle"] == [1900.0, 0.0]


def test_an_emporia_vue_renamed_in_the_app_keeps_its_circuits_entities(
    topics, subscriber, broker, replay_server
):
    """The Vue itself (gid 1234) renamed "Basement panel" in the Emporia app: each of its
    circuits keeps its entity (unique id, config topic, value), the `device` attribute follows
    the app. Before, all its circuits came as new entities under the new device name and the
    ones the user had turned unavailable for good (removed a day later)."""
    site = homes.home()
    config = renamed_vue(replay_server, site)
    base = f"{topics.root}/site_{site.pk}/circuit_main_panel_furnace_power"
    now = scenarios.EMPORIA_NOW
    entities, before = published(config, broker, topics, subscriber, site, now)
    assert len(before) == 4  # Dryer, Solar, Furnace, Balance

    forget_schedules("emporia_devices")  # the device list is read again: its hour passed
    registry.adapter_for.cache_clear()
    now += timedelta(minutes=5)
    assert pipeline.collect(config, now=now).status == "ok"
    for minute in (0, 4):  # at the poll and at a publication without a new one
        after = republished(broker, topics, subscriber, site, now + minute * MINUTE, entities)
        same_entities_renamed(subscriber, base, before, after)
    registry.adapter_for.cache_clear()
    # InfluxDB: the circuit's series is the new device name's from the rename on, as a renamed
    # channel's is the new circuit name's; device_gid and circuit stay.
    rows = stored_rows(
        'SELECT "power_w" FROM "smart_meter_circuit" WHERE "circuit" = \'Furnace\' GROUP BY *'
    )
    assert sorted((r.time.minute, r.tags["device"], r.tags["device_gid"]) for r in rows) == [
        (5, "Main panel", "1234"), (10, "Basement panel", "1234")
    ]  # fmt: skip


def test_an_emporia_vue_silent_for_hours_and_renamed_meanwhile_keeps_its_circuits_entities(
    topics, subscriber, broker, replay_server
):
    """The Vue offline from 14:05 to 02:35 the next day and renamed "Basement panel" in the
    app meanwhile: no value of "Main panel" lies in the hour before the first answer under the
    new name, yet each circuit keeps its entity, found by the Vue's gid and the circuit's tag.
    Before, all its circuits came as new entities and the user's turned unavailable, then
    were removed a day later."""
    site = homes.home()
    config = renamed_vue(replay_server, site)
    entities, before = published(config, broker, topics, subscriber, site, scenarios.EMPORIA_NOW)
    assert len(before) == 4  # Dryer, Solar, Furnace, Balance
    back_renamed_at_night(config, broker, topics, subscriber, site, (entities, before))


def test_an_emporia_vue_renamed_in_the_app_keeps_its_phantom_load_entity(
    topics, subscriber, broker, replay_server, settings
):
    """The Vue renamed "Basement panel" after 03:30: its phantom load entity shows the night's
    figure of "Main panel" until the next night's, stored under the new name, which it then
    shows (same unique id). Before, it turned unavailable an hour after the rename and the
    next night's came as a new entity."""
    site = homes.home()
    config = renamed_vue(replay_server, site)
    tags = {"meter_type": "emporia_vue", "provider": "emporia_vue", "site": site.name}

    def phantom_load(device: str, watts: float, night: datetime) -> None:
        """The night's figure as collectors.smart_meter.watch stores it, at 03:30 in London."""
        fields, series = {"phantom_load_w": watts}, tags | {"device": device, "device_gid": "1234"}
        get_timeseries().write(
            settings.INFLUXDB_DATABASE, [Reading(MEASUREMENT, fields, night, series)]
        )

    night = datetime(2026, 5, 1, 2, 30, tzinfo=UTC)
    phantom_load("Main panel", 150.0, night)
    key = "phantom_load_main_panel"
    base = f"{topics.root}/site_{site.pk}/{key}"
    topic = f"{topics.discovery_prefix}/sensor/{topics.root}_site_{site.pk}/{key}/config"
    now = scenarios.EMPORIA_NOW
    entities, _ = published(config, broker, topics, subscriber, site, now)
    unique_id = json.loads(subscriber.messages[topic])["unique_id"]
    assert shown(subscriber, base) == "150.0"

    forget_schedules("emporia_devices")  # the device list is read again: "Basement panel"
    registry.adapter_for.cache_clear()
    now += timedelta(minutes=5)
    assert pipeline.collect(config, now=now).status == "ok"
    republished(broker, topics, subscriber, site, now, entities)
    assert shown(subscriber, base) == "150.0"

    now = datetime(2026, 5, 2, 2, 36, 30, tzinfo=UTC)  # the next night, after 03:30
    assert pipeline.collect(config, now=now).status == "ok"
    phantom_load("Basement panel", 140.0, night + timedelta(days=1))
    republished(broker, topics, subscriber, site, now, entities)
    assert shown(subscriber, base) == "140.0"
    discovery = json.loads(subscriber.messages[topic])
    assert (discovery["unique_id"], discovery["name"]) == (unique_id, "Phantom load Basement panel")
    attributes = json.loads(subscriber.messages[f"{base}/attributes"])
    assert (attributes["device"], attributes["device_gid"]) == ("Basement panel", "1234")
    registry.adapter_for.cache_clear()


def test_a_sense_device_renamed_while_its_monitor_was_silent_keeps_its_entity(
    topics, subscriber, broker, replay_server
):
    """The kettle (device k1) renamed "Tea kettle" in the Sense app while the monitor was
    offline for two hours: no value of "Kettle" lies in the hour read back before the first
    frame under the new name, yet the device's id (its tags kept for good) says it is the same
    device, and its entity stays, as an Emporia channel's does (docs/home_assistant.md)."""
    registry.adapter_for.cache_clear()  # no session of another test's feed
    site = homes.home()
    kettle = f"{topics.root}/site_{site.pk}/circuit_98765_kettle_power"
    with FeedServer() as feed:
        scenarios.sense_routes(replay_server)
        feed.script(frame(0, ("k1", "Kettle", 2000.0)), frame(120, ("k1", "Tea kettle", 1900.0)))
        config = sense_config(site, replay_server, feed)
        now = scenarios.SENSE_NOW
        entities, before = published(config, broker, topics, subscriber, site, now)
        assert shown(subscriber, kettle) == "2000.0"
        now += timedelta(hours=2)
        assert pipeline.collect(config, now=now).status == "ok"
        after = republished(broker, topics, subscriber, site, now, entities)
    registry.adapter_for.cache_clear()
    assert sorted(after) == sorted(before)  # no entity more, none gone
    topic = next(t for t, c in before.items() if c["name"] == "Kettle power")
    assert (after[topic]["unique_id"], after[topic]["name"]) == (
        before[topic]["unique_id"],
        "Tea kettle power",
    )
    assert shown(subscriber, kettle) == "1900.0"


def test_entity_keys_kept_before_gids_were_read_follow_a_vue_renamed_while_silent(
    topics, subscriber, broker, replay_server
):
    """An install upgraded from a release that kept the entity keys by names alone (the owner
    ["Main panel", "Furnace"], no device_gid: collectors.ha_mqtt.entities before it read
    gids), whose Vue was renamed "Basement panel" while offline from 14:05 to 02:35, over the
    upgrade: the old name's keys are the gid's, since its series say "Main panel" was gid
    1234's name. Before, each circuit came as a new entity and the user's were removed a day
    later."""
    site = homes.home()
    config = renamed_vue(replay_server, site)
    entities, before = published(config, broker, topics, subscriber, site, scenarios.EMPORIA_NOW)
    for row in CircuitKey.objects.filter(site=site, scope="ha_mqtt"):
        device, circuit, _gid = json.loads(row.owner)  # as the release before gids kept them
        row.owner = json.dumps([device, circuit] if circuit else [device], ensure_ascii=False)
        row.save()
    back_renamed_at_night(config, broker, topics, subscriber, site, (entities, before))
    key = CircuitKey.objects.get(site=site, scope="ha_mqtt", key="circuit_main_panel_furnace")
    assert json.loads(key.owner) == ["Basement panel", "Furnace", "1234"]
