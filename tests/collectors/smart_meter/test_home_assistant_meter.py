"""Home Assistant meter adapter against the replay server playing HA's REST API."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from collectors import pipeline
from collectors.base import ConfigError, Credentials, Window
from collectors.smart_meter.home_assistant import HomeAssistantMeterAdapter
from enrich.http import AuthError, MalformedResponse, PermanentError
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from tests.collectors.scenarios_smart_meter import (
    HA_NOW,
    SITE,
    home_assistant_credentials,
    home_assistant_routes,
)
from tests.support.isolation import fresh_database
from tests.support.replay import load_fixture


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1


def fetch(server, **options):
    adapter = HomeAssistantMeterAdapter()
    credentials = home_assistant_credentials(server, **options)
    target = adapter.target(SITE, credentials)
    window = Window(start=HA_NOW - timedelta(minutes=5), end=HA_NOW, now=HA_NOW)
    return adapter.fetch(target, credentials, window)


def test_power_sensors_in_w_and_kw_at_has_own_times(replay_server):
    home_assistant_routes(replay_server)
    result = fetch(replay_server)
    home, heat_pump, daily = result.readings  # the oven is unavailable: nothing written
    assert (home.measurement, home.fields) == ("smart_meter", {"total_power_w": 1843.6})
    assert home.time == datetime(2026, 5, 1, 14, 5, 3, 100002, tzinfo=UTC)  # exactly HA's
    assert home.tags == {
        "meter_type": "home_assistant",
        "device": "home",
        "provider": "home_assistant",
        "site": "Home",
    }
    assert heat_pump.measurement == "smart_meter_circuit"
    assert heat_pump.tags["circuit"] == "Heat pump"
    assert heat_pump.fields == pytest.approx({"power_w": 920.0, "percentage": 920 / 1843.6 * 100})
    assert heat_pump.time == datetime(2026, 5, 1, 14, 4, 41, 250000, tzinfo=UTC)
    assert daily.fields == {"daily_kwh": 12.45}  # 12450 Wh
    assert daily.measurement == "smart_meter"
    tokens = {r.headers["Authorization"] for r in replay_server.requests}
    assert tokens == {"Bearer ha-long-lived-token-xyz"}
    assert [r.path for r in replay_server.requests] == [
        "/api/states/sensor.home_power",
        "/api/states/sensor.heat_pump_power",
        "/api/states/sensor.oven_power",
        "/api/states/sensor.home_energy_today",
        "/api/config",  # HA's time zone: the day of its energy sensor
    ]
    assert result.current["total_power_w"] == 1843.6
    assert result.current["devices"]["home"]["daily_kwh_zone"] == "America/Chicago"


def test_an_ha_not_saying_its_time_zone_leaves_the_sites_day(replay_server, caplog):
    """HA answers its config with a 404 (a proxy in front of it): the run still stores the
    day's energy, and its total is served for the site's day (no zone marked)."""
    replay_server.add("GET", "/api/config", status=404, json={"message": "Not found"}, times=1)
    home_assistant_routes(replay_server)
    result = fetch(replay_server)
    assert result.readings[-1].fields == {"daily_kwh": 12.45}
    assert "daily_kwh_zone" not in result.current["devices"]["home"]
    assert "HA's time zone is not known, the site's is used" in caplog.text


@pytest.mark.influxdb
def test_a_circuit_state_an_earlier_run_stored_keeps_the_share_of_its_moment(replay_server):
    """The heat pump's sensor last reported at 13:04:41 (0.92 kW); the run of 13:05 stored it
    with its share of the home then (1,843.6 W: 49.9 %). An hour later HA still holds that
    state while the home draws 3,687.2 W: the run of 14:05 rewrote the 13:04:41 point as
    24.95 %, a share the heat pump never had at that time."""
    heat_pump = load_fixture("home_assistant/state_heat_pump_kw.json") | {
        "last_reported": "2026-05-01T13:04:41.250000+00:00",
        "last_updated": "2026-05-01T13:04:41.250000+00:00",
    }
    home = load_fixture("home_assistant/state_total_w.json")
    adapter = HomeAssistantMeterAdapter()
    circuits = {"Heat pump": "sensor.heat_pump_power"}
    credentials = home_assistant_credentials(
        replay_server, daily_energy_entity=None, circuits=circuits
    )
    target = adapter.target(SITE, credentials)
    readings = []
    for hour, watts in ((13, "1843.6"), (14, "3687.2")):
        reported = f"2026-05-01T{hour}:05:03.100002+00:00"
        total = home | {"state": watts, "last_reported": reported, "last_updated": reported}
        replay_server.add("GET", "/api/states/sensor.home_power", json=total, times=1)
        replay_server.add("GET", "/api/states/sensor.heat_pump_power", json=heat_pump, times=1)
        now = datetime(2026, 5, 1, hour, 5, 30, tzinfo=UTC)
        window = Window(start=now - timedelta(minutes=5), end=now, now=now)
        readings += adapter.fetch(target, credentials, window).readings
    with fresh_database("ha_share") as db:
        get_timeseries().write(db, readings)
        rows = list(
            get_timeseries().query(db, "SELECT power_w, percentage FROM smart_meter_circuit")
        )
    assert [(r.time, r.values["power_w"], r.values["percentage"]) for r in rows] == [
        (
            datetime(2026, 5, 1, 13, 4, 41, 250000, tzinfo=UTC),
            920.0,
            pytest.approx(49.9024, abs=1e-4),
        )
    ]


def test_unknown_whole_home_state_writes_circuits_without_a_share(replay_server):
    unknown = load_fixture("home_assistant/state_total_w.json") | {"state": "unknown"}
    replay_server.add("GET", "/api/states/sensor.home_power", json=unknown)
    home_assistant_routes(replay_server)
    result = fetch(replay_server, daily_energy_entity=None)
    assert [(r.measurement, dict(r.fields)) for r in result.readings] == [
        ("smart_meter_circuit", {"power_w": 920.0})
    ]


def test_a_whole_home_exporting_to_the_grid_writes_circuits_without_a_share(replay_server):
    """A net whole-home sensor below 0 W (solar exporting): the home still draws power, but no
    share of it is known, so the circuit has no `percentage` (not 920 / -500 x 100 = -184 %)."""
    exporting = load_fixture("home_assistant/state_total_w.json") | {"state": "-500"}
    replay_server.add("GET", "/api/states/sensor.home_power", json=exporting)
    home_assistant_routes(replay_server)
    result = fetch(replay_server, daily_energy_entity=None)
    assert [(r.measurement, dict(r.fields)) for r in result.readings] == [
        ("smart_meter", {"total_power_w": -500.0}),
        ("smart_meter_circuit", {"power_w": 920.0}),
    ]


def test_an_energy_sensor_given_as_power_is_a_config_error(replay_server):
    replay_server.add(
        "GET",
        "/api/states/sensor.dryer_energy",
        json=load_fixture("home_assistant/state_energy_as_power.json"),
    )
    with pytest.raises(ConfigError, match="sensor.dryer_energy is in 'kWh'.*power"):
        fetch(
            replay_server, total_entity="sensor.dryer_energy", circuits={}, daily_energy_entity=None
        )


def test_a_refused_token_says_where_to_make_one(replay_server):
    replay_server.add("GET", "/api/states/sensor.home_power", status=401, body="401: Unauthorized")
    with pytest.raises(AuthError, match="long-lived access token"):
        fetch(replay_server)
    assert len(replay_server.requests) == 1


def test_an_unknown_entity_is_named(replay_server):
    replay_server.add(
        "GET",
        "/api/states/sensor.heat_pump_power",
        status=404,
        json={"message": "Entity not found."},
    )
    home_assistant_routes(replay_server)
    with pytest.raises(PermanentError, match="no entity 'sensor.heat_pump_power'"):
        fetch(replay_server)


def test_a_state_that_is_not_a_number_is_malformed(replay_server):
    odd = load_fixture("home_assistant/state_total_w.json") | {"state": "on"}
    replay_server.add("GET", "/api/states/sensor.home_power", json=odd)
    with pytest.raises(PermanentError, match="'on', not a number"):
        fetch(replay_server, circuits={}, daily_energy_entity=None)


@pytest.mark.parametrize(
    "credentials, problem",
    [
        (Credentials(api_key="t", options={"total_entity": "sensor.p"}), "options.base_url"),
        (Credentials(options={"base_url": "http://ha:8123", "total_entity": "sensor.p"}), "token"),
        (Credentials(api_key="t", options={"base_url": "http://ha:8123"}), "total_entity"),
        (
            Credentials(api_key="t", options={"base_url": "http://ha:8123", "circuits": ["x"]}),
            "circuits must map",
        ),
        (
            Credentials(api_key="t", options={"base_url": "http://ha:8123", "total_entity": "p"}),
            "not an entity id",
        ),
    ],
)
def test_settings_it_cannot_use_are_config_errors(credentials, problem):
    with pytest.raises(ConfigError, match=problem):
        HomeAssistantMeterAdapter().target(SITE, credentials)


def test_target_carries_the_device_and_the_sites_time_zone(replay_server):
    credentials = home_assistant_credentials(replay_server, device="garage", high_power_w=7000)
    target = HomeAssistantMeterAdapter().target(SITE, credentials)
    assert target.key == f"Home|{replay_server.url}|garage"  # the site's own HA
    assert dict(target.params) == {
        "site": "Home",
        "timezone": "America/Chicago",
        "phantom_nights": 7,
        "high_power_w": 7000.0,
        "device": "garage",
    }


# --- answers that are not HA's shape (found by fuzzing) ---


def total_state(**changes) -> dict:
    return load_fixture("home_assistant/state_total_w.json") | changes


@pytest.mark.parametrize("state", [True, False])
def test_a_boolean_state_is_malformed_not_stored_as_one(replay_server, state):
    """HA's states are text ("on" is refused as no number); float(true) was stored as 1.0 W."""
    replay_server.add("GET", "/api/states/sensor.home_power", json=total_state(state=state))
    shown = "true" if state else "false"
    with pytest.raises(MalformedResponse, match=f"sensor.home_power is {shown} \\(a JSON boolean"):
        fetch(replay_server, circuits={}, daily_energy_entity=None)


@pytest.mark.parametrize(
    "state", [10**400, "1e306"], ids=["a 400-digit integer", "1e306 kW, infinite in W"]
)
def test_a_state_past_what_a_number_holds_is_malformed(replay_server, state):
    heat_pump = load_fixture("home_assistant/state_heat_pump_kw.json") | {"state": state}
    replay_server.add("GET", "/api/states/sensor.heat_pump_power", json=heat_pump)
    home_assistant_routes(replay_server)
    with pytest.raises(MalformedResponse, match="the state of sensor.heat_pump_power is"):
        fetch(replay_server)


@pytest.mark.parametrize("attributes", [None, ["unit_of_measurement", "W"], "W"])
def test_a_state_without_an_attributes_object_is_malformed_not_a_setting(replay_server, attributes):
    """The unit is in `attributes`: without them HA's answer is broken, not the settings."""
    state = total_state()
    if attributes is None:
        del state["attributes"]
    else:
        state["attributes"] = attributes
    replay_server.add("GET", "/api/states/sensor.home_power", json=state)
    with pytest.raises(MalformedResponse, match="sensor.home_power.*attributes"):
        fetch(replay_server, circuits={}, daily_energy_entity=None)


def test_a_history_without_the_first_states_attributes_is_malformed(replay_server):
    history = load_fixture("home_assistant/history_period.json")
    del history[1][0]["attributes"]  # the heat pump's first, full state
    home_assistant_routes(replay_server)
    replay_server.add("GET", "/api/history/period/2026-05-01T12:00:00+00:00", json=history)
    adapter = HomeAssistantMeterAdapter()
    credentials = home_assistant_credentials(replay_server)
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(MalformedResponse, match="sensor.heat_pump_power has no 'attributes'"):
        adapter.fetch(adapter.target(SITE, credentials), credentials, Window(start, HA_NOW, HA_NOW))


@pytest.mark.influxdb
@pytest.mark.django_db
def test_the_meter_the_first_start_makes_reads_ha_at_ha_url_with_ha_token(isolated, replay_server):
    """METER_TYPE=home_assistant made a meter without base_url and token: its first run failed
    asking for options.base_url although HA_URL and HA_TOKEN were set. Now only the sensors,
    which no variable names, are left to the admin; then it reads HA there with that token."""
    home_assistant_routes(replay_server)
    first_start = {"SITE_NAME": "Home", "LATITUDE": "41.88", "LONGITUDE": "-87.63"}
    ha = {"HA_URL": replay_server.url, "HA_TOKEN": "ha-long-lived-token-xyz"}
    with override_settings(**first_start, **ha, METER_TYPE="home_assistant"):
        call_command("bootstrap", stdout=StringIO())
    meter = ProviderConfig.objects.get(provider="home_assistant")
    failed = pipeline.collect(meter, now=HA_NOW)
    assert (failed.status, failed.error) == (
        "failed",
        "ConfigError: Home Assistant meter: set options.total_entity (the whole-home power "
        "sensor) and/or options.circuits.",
    )
    meter.options["total_entity"] = "sensor.home_power"
    meter.save()
    read = pipeline.collect(meter, now=HA_NOW)
    assert (read.status, read.points_written) == ("ok", 1)
    (asked,) = replay_server.requests
    assert asked.path == "/api/states/sensor.home_power"
    assert asked.headers["Authorization"] == "Bearer ha-long-lived-token-xyz"
