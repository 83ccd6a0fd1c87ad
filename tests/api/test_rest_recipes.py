"""docs/home_assistant.md's REST sensors of a time, "Dishwasher planned start" (GET /api/plan)
and "Cheapest 3h window start" (GET /api/pricing/windows), as Home Assistant's rest sensor
reads enrich's real answers (tests.support.ha_rest): the start while there is one; when the
answer is a 409 without one, unavailable with nothing in Home Assistant's log."""

from datetime import datetime

import pytest

from tests.support.ha_rest import documented_sensor, rest_sensor

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

RECIPES = [
    ("Dishwasher planned start", "/api/plan", {"carbon_price": "100", "kw": "1.2"}),
    ("Cheapest 3h window start", "/api/pricing/windows", {"within": "24h"}),
]


@pytest.mark.parametrize("name, url, query", RECIPES)
def test_the_sensor_shows_the_start(collected, api, name, url, query):
    response = api.get(url, {"hours": "3", **query})
    assert response.status_code == 200, response.json()
    state, logged = rest_sensor(documented_sensor("home_assistant.md", name), response.text)
    assert datetime.fromisoformat(state) == datetime.fromisoformat(response.json()["start"])
    assert logged == []


@pytest.mark.parametrize("name, url, query", RECIPES)
def test_without_a_start_it_is_unavailable_and_logs_nothing(collected, api, name, url, query):
    response = api.get(url, {"hours": "12", **query})  # prices are stored for 11 h only
    assert response.status_code == 409
    # The recipes rendered "" into the timestamp sensors: Home Assistant logged "rendered
    # invalid timestamp" at each poll.
    sensor = documented_sensor("home_assistant.md", name)
    assert rest_sensor(sensor, response.text) == ("unavailable", [])
