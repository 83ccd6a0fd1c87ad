"""Same-named circuits keep their own series in InfluxDB over many collections through the real
pipeline: two Emporia channels of one Vue named alike (getDeviceListUsages replayed), two Sense
devices named alike (realtime frames from the local feed, each device with its documented
`id`). The circuit that had a name first keeps its tag; one that comes later gets its suffix;
one that is missing from an answer (a Sense frame lists only the devices that are on) never
lends its tag to the other."""

from datetime import timedelta

import pytest
from django.conf import settings

from collectors import pipeline, registry
from collectors.ha_mqtt import meters
from collectors.smart_meter.emporia.usage import iso
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_smart_meter import (
    EMPORIA_NOW,
    MINUTE_USAGE,
    SENSE_NOW,
    USAGE,
    answer_app_api,
    cognito_answers,
    emporia_credentials,
    sense_credentials,
    sense_routes,
)
from tests.collectors.sense_feed import frame
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

RUN_EVERY = timedelta(minutes=5)


@pytest.fixture
def collected(isolated, settings):
    """What InfluxDB holds per circuit tag after the test's runs: power_w in time order."""
    registry.adapter_for.cache_clear()  # no devices or sessions of another test's server

    def stored() -> dict[str, list[float]]:
        rows = get_timeseries().query(
            settings.INFLUXDB_DATABASE, "SELECT power_w FROM smart_meter_circuit GROUP BY circuit"
        )
        found: dict[str, list[float]] = {}
        for row in sorted(rows, key=lambda r: r.time):
            found.setdefault(row.tags["circuit"], []).append(round(row.values["power_w"], 6))
        return found

    yield stored
    registry.adapter_for.cache_clear()


def meter_config(provider: str, credentials) -> ProviderConfig:
    site = Site.objects.create(
        name="Home", latitude=41.88, longitude=-87.63, timezone="America/Chicago"
    )
    return ProviderConfig.objects.create(
        site=site, source="smart_meter", provider=provider, interval_seconds=300,
        username=credentials.username, password=credentials.password,
        options=dict(credentials.options),
    )  # fmt: skip


# --- Emporia: channels of one Vue ---

# Channels of tests/fixtures/emporia/usage_1min.json: the mains, 2 Dryer, 5 Solar, 7 Furnace,
# Balance.
DRYER, SOLAR = 1, 2


def emporia_runs(server, answers: list[dict[int, tuple[str, float] | None]]) -> ProviderConfig:
    """A Vue collected every 5 minutes; each answer changes channels of the minute usage
    ({index: (name, kWh)}, None: the channel is left out of the answer)."""
    cognito_answers(server, "challenge", "tokens", times=1)
    server.add("GET", "/customers/devices", json=load_fixture("emporia/devices.json"))
    answer_app_api(server, {**USAGE, "scale": "1D"}, json=load_fixture("emporia/usage_1day.json"))
    answer_app_api(
        server, {"apiMethod": "getChartUsage"}, json=load_fixture("emporia/chart_usage_live.json")
    )
    config = meter_config("emporia_vue", emporia_credentials(server))
    now = EMPORIA_NOW
    for changes in answers:
        minute = now.replace(second=0) - timedelta(minutes=1)  # the last complete minute
        usage = load_fixture("emporia/usage_1min.json")
        usage["deviceListUsages"]["instant"] = iso(minute)
        channels = usage["deviceListUsages"]["devices"][0]["channelUsages"]
        for index, change in changes.items():
            if change is not None:
                channels[index] |= {"name": change[0], "usage": change[1]}
        channels[:] = [c for i, c in enumerate(channels) if changes.get(i, ()) is not None]
        answer_app_api(server, {**MINUTE_USAGE, "instant": iso(minute)}, json=usage)
        assert pipeline.collect(config, now=now).status == "ok"
        now += RUN_EVERY
    return config


def test_an_emporia_channel_named_like_another_never_takes_its_series(replay_server, collected):
    """Channel 5 is renamed "Dryer" like channel 2: channel 2 keeps "Dryer" (its series went
    on under a new name before), also in an answer without it (the documented answer lists
    only some channels), where channel 5 took the plain name before."""
    emporia_runs(
        replay_server,
        [
            {DRYER: ("Dryer", 0.001)},
            {DRYER: ("Dryer", 0.002), SOLAR: ("Dryer", -0.0415)},
            {DRYER: None, SOLAR: ("Dryer", -0.04)},
            {DRYER: ("Dryer", 0.004), SOLAR: ("Dryer", -0.0415)},
        ],
    )
    assert collected() == {
        "Dryer": [60.0, 120.0, 240.0],
        "Dryer (channel 5)": [-2490.0, -2400.0, -2490.0],
        "Solar": [-2490.0],
        "Furnace": [432.0] * 4,
        "Balance": [24.0] * 4,
    }


def test_emporia_channels_named_alike_from_the_start_keep_their_suffixes(replay_server, collected):
    emporia_runs(
        replay_server,
        [
            {DRYER: ("Kitchen", 0.001), SOLAR: ("Kitchen", -0.0415)},
            {DRYER: ("Kitchen", 0.002), SOLAR: None},
        ],
    )
    assert collected() == {
        "Kitchen (channel 2)": [60.0, 120.0],
        "Kitchen (channel 5)": [-2490.0],
        "Furnace": [432.0] * 2,
        "Balance": [24.0] * 2,
    }


# --- Sense: devices of one monitor ---


def test_sense_devices_named_alike_keep_their_own_series(replay_server, feed, collected, settings):
    """A frame lists only the devices that are on: the second heater, on alone, took the first
    one's series before, and then the first one's came under its id. Who holds a name is kept
    in the database: a new worker with an empty Redis still knows it."""
    sense_routes(replay_server)
    feed.script(
        frame(0, ("a1", "Heater", 1500.0), ("always_on", "Always On", 726.0)),
        frame(5, ("b2", "Heater", 800.0), ("always_on", "Always On", 726.0)),
        frame(10, ("b2", "Heater", 810.0), ("a1", "Heater", 1510.0)),
    )
    credentials = sense_credentials(replay_server, feed.url, budget="10/minute")
    config = meter_config("sense", credentials)
    for run in range(3):
        if run == 2:  # a restart: new adapters, nothing left in Redis
            registry.adapter_for.cache_clear()
            for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
                get_redis().delete(key)
        assert pipeline.collect(config, now=SENSE_NOW + run * RUN_EVERY).status == "ok"
    assert collected() == {
        "Heater": [1500.0, 0.0, 1510.0],  # off in the second frame: 0 W, not its 1500 W
        "Heater (b2)": [800.0, 810.0],
        "Always On": [726.0, 726.0, 0.0],
    }


def sense_runs(server, feed, *sessions) -> list[str]:
    """A Sense monitor collected every 5 minutes through the pipeline, a feed session a run;
    each run's status."""
    sense_routes(server)
    feed.script(*sessions)
    config = meter_config("sense", sense_credentials(server, feed.url, budget="10/minute"))
    return [
        pipeline.collect(config, now=SENSE_NOW + run * RUN_EVERY).status
        for run in range(len(sessions))
    ]


def test_a_sense_device_that_turned_off_reads_0_w(replay_server, feed, collected):
    """A frame lists only the devices that are on: a kettle that turned off is simply no longer
    listed. Its 2000 W stayed its newest value, so Home Assistant's entity (and anything
    reading the newest value) showed it on, until the entity was removed an hour later; now
    each frame gives the devices known by their key 0 W (and 0 %) at its minute."""
    kettle, always_on = ("k1", "Kettle", 2000.0), ("always_on", "Always On", 726.0)
    statuses = sense_runs(
        replay_server, feed, frame(0, kettle, always_on), frame(5, always_on), frame(10, always_on)
    )
    assert statuses == ["ok", "ok", "ok"]
    assert collected() == {"Kettle": [2000.0, 0.0, 0.0], "Always On": [726.0, 726.0, 726.0]}
    newest = SENSE_NOW + 2 * RUN_EVERY
    devices = meters.recent_devices("sense", "Home", newest)
    shown = meters.circuit_powers("sense", "Home", devices, newest)
    assert {(v.circuit, v.watts) for v in shown} == {("Kettle", 0.0), ("Always On", 726.0)}
    (row,) = get_timeseries().query(
        settings.INFLUXDB_DATABASE,
        "SELECT last(percentage) AS percentage FROM smart_meter_circuit WHERE circuit = 'Kettle'",
    )
    assert row.values["percentage"] == 0.0


def test_a_sense_feed_that_failed_or_listed_no_devices_turns_nothing_off(
    replay_server, feed, collected
):
    """An outage of the feed is no 'off': a run whose feed refused the connection writes
    nothing, and a frame without a `devices` list says nothing of the devices."""
    silent = frame(10)
    del silent[1]["payload"]["devices"]
    statuses = sense_runs(replay_server, feed, frame(0, ("k1", "Kettle", 2000.0)), 503, silent)
    assert statuses[0] == "ok" and statuses[1] != "ok" and statuses[2] == "ok"
    assert collected() == {"Kettle": [2000.0]}
