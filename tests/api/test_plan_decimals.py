"""GET /api/plan's figures carry no binary noise: 1.2 kW for 3 h is 3.6 kWh, not the
3.5999999999999996 of binary arithmetic, which a Home Assistant REST sensor's attributes (and
the load's MQTT attributes) would show with every decimal; a plan as clean as another window
saves 0 g/kWh, not 5.7e-14. Each figure keeps 15 significant digits, every decimal the prices
and carbon values have (as the MQTT states, docs/home_assistant.md)."""

import pytest

from collectors import clock
from tests.collectors.scenarios_carbon import ELECTRICITYMAPS_NOW
from tests.support.plan import berlin_collected
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def numbers(value):
    """Every float in a JSON answer."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)


@pytest.mark.parametrize("contiguous", ["true", "false"])
def test_no_binary_noise_in_the_plans_figures(collected, api, contiguous):
    response = api.get(
        "/api/plan",
        {"hours": "3", "kw": "1.2", "carbon_price": "100", "contiguous": contiguous,
         "pareto": "true"},
    )  # fmt: skip
    body = response.json()
    assert response.status_code == 200, body
    assert body["kwh"] == 3.6
    noisy = [x for x in numbers(body) if x != float(f"{x:.15g}")]
    assert noisy == []


def test_a_plan_as_clean_as_another_window_saves_no_carbon(own_storage, replay_server, api,
                                                          monkeypatch):  # fmt: skip
    """Electricity Maps without a forecast: its latest value, 377.3 g/kWh, is carried forward
    over every window, so each emits the same: the saving is 0, not the 5.7e-14 g/kWh (and
    2e-16 kg) of a time-weighted average of one value over parts of slots."""
    latest = load_fixture("electricitymaps/carbon_intensity_latest.json") | {
        "carbonIntensity": 377.3
    }
    replay_server.add("GET", "/v3/carbon-intensity/latest", json=latest)
    replay_server.add("GET", "/v3/power-breakdown/latest",
                      json=load_fixture("electricitymaps/power_breakdown_latest.json"))  # fmt: skip
    now = ELECTRICITYMAPS_NOW.replace(minute=39, second=32, microsecond=878550)
    berlin_collected(replay_server, now)
    monkeypatch.setattr(clock, "utc_now", lambda: now)

    body = api.get("/api/plan", {"hours": "3", "kw": "1.2"})
    plan = body.json()
    assert body.status_code == 200, plan
    assert plan["carbon_last_known_hours"] == 3 and plan["average_carbon"] == 377.3
    for name in ("running_now", "cheapest", "greenest"):
        other = plan["compared"][name]
        assert other["average_carbon"] == 377.3, name
        assert (other["carbon_saving"], other["emissions_saving_kg"]) == (0, 0), name
