"""docs/home_assistant.md's REST sensors of a plan or window, "Dishwasher planned start"
(GET /api/plan), "Cheapest 3h window start" and "... average price" (GET /api/pricing/windows),
as Home Assistant's rest sensor reads enrich's real answers (tests.support.ha_rest): the start
or price while there is one; when the answer is a 409 without one, unavailable with nothing in
Home Assistant's log."""

from datetime import datetime

import pytest

from tests.support.ha_rest import documented_sensor, rest_sensor

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

PLAN, WINDOWS = (
    ("/api/plan", {"carbon_price": "100", "kw": "1.2"}),
    ("/api/pricing/windows", {"within": "24h"}),
)
RECIPES = [
    ("Dishwasher planned start", *PLAN),
    ("Cheapest 3h window start", *WINDOWS),
    ("Cheapest 3h window average price", *WINDOWS),
]


@pytest.mark.parametrize("name, url, query", RECIPES[:2])
def test_the_sensor_shows_the_start(collected, api, name, url, query):
    response = api.get(url, {"hours": "3", **query})
    assert response.status_code == 200, response.json()
    state, logged = rest_sensor(documented_sensor("home_assistant.md", name), response.text)
    assert datetime.fromisoformat(state) == datetime.fromisoformat(response.json()["start"])
    assert logged == []


def test_the_price_sensor_shows_the_windows_average(collected, api):
    response = api.get(WINDOWS[0], {"hours": "3", **WINDOWS[1]})
    assert response.status_code == 200, response.json()
    sensor = documented_sensor("home_assistant.md", "Cheapest 3h window average price")
    state, logged = rest_sensor(sensor, response.text)
    assert float(state) == pytest.approx(response.json()["average_price"]) and logged == []


@pytest.mark.parametrize("name, url, query", RECIPES)
def test_without_a_start_it_is_unavailable_and_logs_nothing(collected, api, name, url, query):
    response = api.get(url, {"hours": "12", **query})  # prices are stored for 11 h only
    assert response.status_code == 409
    # The recipes rendered "" into the timestamp sensors: Home Assistant logged "rendered
    # invalid timestamp" at each poll; into the price sensor: "the non-numeric value".
    sensor = documented_sensor("home_assistant.md", name)
    assert rest_sensor(sensor, response.text) == ("unavailable", [])
