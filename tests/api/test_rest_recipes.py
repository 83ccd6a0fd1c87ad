"""docs/home_assistant.md's REST recipes as Home Assistant's rest integration reads enrich's
real answers (tests.support.ha_rest). Each resource is a request enrich answers, with a
read-only token in the header shown, and has every attribute its sensors list. The sensors of
a plan or window, "Dishwasher planned start" (GET /api/plan), "Cheapest 3h window start" and
"... average price" (GET /api/pricing/windows), and of the values now ("Electricity price
now", "Grid carbon intensity", "Air quality index": GET /api/enrichment/current) show the
answer's figure while there is one; without one (a 409, no stored slot covering now, no answer
of the provider yet) they are unavailable, with nothing in Home Assistant's log."""

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from collectors import clock, pipeline
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_air_quality import airnow
from tests.support import configs
from tests.support.api import create_token
from tests.support.ha_rest import documented_resources, documented_sensor, resource_url, rest_sensor
from tests.support.plan import NOW

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


HOME_ASSISTANT = ZoneInfo("Europe/London")  # the time zone of Home Assistant and of the site


@pytest.mark.parametrize(
    "moment, before, planned",
    [
        (NOW, "2026-05-02T07:00:00+01:00", 200),  # 13:10: today's 07:00 is past
        (datetime(2026, 5, 1, 2, 59, tzinfo=HOME_ASSISTANT), "2026-05-01T07:00:00+01:00", 409),
        (datetime(2026, 5, 1, 4, 1, tzinfo=HOME_ASSISTANT), "2026-05-02T07:00:00+01:00", 200),
    ],
)
def test_each_resource_is_a_request_enrich_answers_a_read_only_token(
    collected, moment, before, planned, monkeypatch
):
    """The URL (a template's rendered at `moment`, its `before` the next 07:00 that leaves 3 h,
    its offset's `+` encoded) is accepted: 200 with every attribute the sensors list, or for a
    plan that cannot be made (here at 02:59: carbon is known from 12:00 only) the 409 with
    `detail` and `known` the page describes, never a 400."""
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    token = create_token("--read-only", "home-assistant")
    resources = documented_resources("home_assistant.md")
    assert len(resources) == 4, resources
    for resource in resources:
        url = urlsplit(resource_url(resource, moment.astimezone(HOME_ASSISTANT)))
        assert (url.scheme, url.netloc) == ("http", "enrich.local:8000"), url
        header = resource["headers"]["Authorization"].replace("YOUR_READ_ONLY_TOKEN", token)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get(f"{url.path}?{url.query}")
        body = response.json()
        if url.path == "/api/plan":
            assert parse_qs(url.query)["before"] == [before] and response.status_code == planned
        if response.status_code == 409 and url.path == "/api/plan":
            assert {"detail", "known"} <= set(body) and "start" not in body, body
            continue
        assert response.status_code == 200, (url, body)
        for sensor in resource["sensor"]:
            assert set(sensor.get("json_attributes", [])) <= set(body), sensor


def current(api) -> str:
    return api.get("/api/enrichment/current").content.decode()


@pytest.mark.parametrize(
    "name, source, field",
    [
        ("Electricity price now", "electricity_pricing", "current_price"),
        ("Grid carbon intensity", "carbon_intensity", "carbon_intensity_gco2_kwh"),
    ],
)
def test_a_sensor_of_the_values_now_shows_the_answers(collected, api, name, source, field):
    body = current(api)
    [provider] = json.loads(body)["sources"][source]["providers"]
    state, logged = rest_sensor(documented_sensor("home_assistant.md", name), body)
    assert float(state) == provider["value"][field] and logged == []


def test_the_air_quality_sensor_shows_the_aqi(own_storage, replay_server, api, monkeypatch):
    _, _, moment = airnow(replay_server)  # Seattle's documented observation, AQI 62 (PM2.5)
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    assert pipeline.collect(configs.airnow(site, replay_server.url), now=moment).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    sensor = documented_sensor("home_assistant.md", "Air quality index")
    assert rest_sensor(sensor, current(api)) == ("62.0", [])


def test_without_a_value_now_those_sensors_are_unavailable_and_log_nothing(
    collected, api, replay_server, monkeypatch
):
    # Past the stored prices (23:00): no stored slot covers now. Providers with no answer yet.
    monkeypatch.setattr(clock, "utc_now", lambda: NOW + timedelta(hours=12))
    ProviderConfig.objects.filter(site=collected, source="carbon_intensity").delete()
    ProviderConfig.objects.create(site=collected, source="carbon_intensity",
                                  provider="electricitymaps", api_key="k")  # fmt: skip
    configs.airnow(collected, replay_server.url)
    body = current(api)
    # The recipes showed the last fetched slot's price (12:00's, 0.05046) as the price now,
    # and rendered "" into the others: Home Assistant logged "the non-numeric value" for the
    # carbon intensity at each poll and showed an empty AQI.
    for name in ("Electricity price now", "Grid carbon intensity", "Air quality index"):
        sensor = documented_sensor("home_assistant.md", name)
        assert rest_sensor(sensor, body) == ("unavailable", []), name
