"""A meter's value is the provider's own figure in our unit: Emporia's kWh of a minute x 60,000
and Home Assistant's kW x 1000 or Wh / 1000 as the decimal they are, in InfluxDB and in the
API's answer, not binary floating point's nearest product or quotient (0.0169 kWh a minute
was 1013.9999999999999 W, 2.01 kW 2009.9999999999998 W). Documented payloads go through the
real pipeline into the real InfluxDB."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline, registry
from enrich.influx import stored_rows
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_smart_meter import (
    EMPORIA_NOW,
    HA_NOW,
    at,
    emporia_config,
    emporia_routes,
    home_assistant_credentials,
    mains_minutes,
)
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def fresh_adapters(isolated):
    """The pipeline's adapters made fresh: no tokens or devices of another test's server."""
    registry.adapter_for.cache_clear()
    yield isolated
    registry.adapter_for.cache_clear()


def stored(measurement: str, field: str, device: str) -> dict[datetime, float]:
    query = f'SELECT "{field}" FROM "{measurement}" WHERE "device" = $device'
    return {row.time: row.values[field] for row in stored_rows(query, {"device": device})}


def current_text(monkeypatch, moment: datetime) -> str:
    """`GET /api/enrichment/current` as its JSON text (every digit it shows, no spaces), at
    `moment`."""
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("reader"))
    return client.get("/api/enrichment/current").content.decode().replace(" ", "")


@pytest.mark.usefixtures("fresh_adapters")
def test_emporia_watts_are_the_decimals_of_its_kwh(replay_server, monkeypatch):
    """tests/fixtures/emporia: the mains chart's 0.0169 kWh at 13:58 is 1014.0 W (was
    1013.9999999999999), the plug's 0.0021 kWh 126.0 W (was 125.99999999999999)."""
    emporia_routes(replay_server)
    assert pipeline.collect(emporia_config(replay_server), now=EMPORIA_NOW).status == "ok"
    assert stored("smart_meter", "total_power_w", "Main panel") == mains_minutes(
        at(13, 56), at(14, 5)
    )
    assert stored("smart_meter", "total_power_w", "Office plug") == {at(14, 5): 126.0}
    circuits = stored_rows('SELECT "power_w" FROM "smart_meter_circuit" GROUP BY "circuit"')
    assert {row.tags["circuit"]: row.values["power_w"] for row in circuits} == {
        "Dryer": 0.0,
        "Solar": -2490.0,  # -0.0415
        "Furnace": 432.0,  # 0.0072
        "Balance": 24.0,  # 0.0004
    }
    text = current_text(monkeypatch, EMPORIA_NOW)
    assert '"Officeplug":{"total_power_w":126.0,' in text  # every digit the API shows


def ha_meter(server, states: dict[str, tuple[str, str]]) -> ProviderConfig:
    """A Home Assistant meter (tests/collectors/scenarios_smart_meter's sensors) whose HA
    answers each entity of `states` with that (state, unit), the fixture's times kept."""
    fixtures = {
        "sensor.home_power": "state_total_w",
        "sensor.heat_pump_power": "state_heat_pump_kw",
        "sensor.oven_power": "state_unavailable",
        "sensor.home_energy_today": "state_daily_wh",
    }
    for entity, fixture in fixtures.items():
        answer = load_fixture(f"home_assistant/{fixture}.json")
        if entity in states:
            state, unit = states[entity]
            attributes = answer["attributes"] | {"unit_of_measurement": unit}
            answer |= {"state": state, "attributes": attributes}
        server.add("GET", f"/api/states/{entity}", json=answer)
    site = Site.objects.create(name="Home", latitude=41.88, longitude=-87.63)
    options = dict(home_assistant_credentials(server).options)
    return ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant", interval_seconds=300,
        api_key="ha-long-lived-token-xyz", options=options,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("energy", "daily_kwh"),
    [
        (("10002.8", "Wh"), 10.0028),  # was 10.002799999999999
        (("0.0186", "MWh"), 18.6),  # was 18.599999999999998
    ],
)
def test_home_assistant_watts_and_kwh_are_the_decimals_of_its_states(
    energy, daily_kwh, isolated, replay_server, monkeypatch
):
    """4.03 kW is 4030.0 W (was 4030.0000000000005), 2.01 kW 2010.0 W (was
    2009.9999999999998), and the day's energy in Wh or MWh the kWh it is."""
    states = {
        "sensor.home_power": ("4.03", "kW"),
        "sensor.heat_pump_power": ("2.01", "kW"),
        "sensor.home_energy_today": energy,
    }
    assert pipeline.collect(ha_meter(replay_server, states), now=HA_NOW).status == "ok"
    assert list(stored("smart_meter", "total_power_w", "home").values()) == [4030.0]
    assert list(stored("smart_meter", "daily_kwh", "home").values()) == [daily_kwh]
    assert list(stored("smart_meter_circuit", "power_w", "home").values()) == [2010.0]
    text = current_text(monkeypatch, HA_NOW)
    assert '"total_power_w":4030.0,' in text
    assert f'"daily_kwh":{daily_kwh!r},' in text


def test_home_assistant_states_read_back_from_its_history_are_the_decimals_too(
    isolated, replay_server
):
    """After an outage HA's history is read (ha_history): the heat pump's 4.07 kW at 12:47:09
    is 4070.0 W (was 4070.0000000000005)."""
    history = load_fixture("home_assistant/history_period.json")
    history[1][1]["state"] = "4.07"
    config = ha_meter(replay_server, {})
    config.interval_seconds = 2 * 3600  # the window from 12:05:30: an outage
    config.save()
    start = HA_NOW - timedelta(hours=2)
    replay_server.add("GET", f"/api/history/period/{start.isoformat()}", json=history)
    assert pipeline.collect(config, now=HA_NOW).status == "ok"
    powers = stored_rows('SELECT "power_w" FROM "smart_meter_circuit"')
    assert {row.time: row.values["power_w"] for row in powers} == {
        at(12, 47) + timedelta(seconds=9): 4070.0,
        at(14, 4) + timedelta(seconds=41.25): 920.0,  # 0.92 kW, also the live state
    }
