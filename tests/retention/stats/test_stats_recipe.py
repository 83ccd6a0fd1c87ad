"""docs/storage.md's REST recipe as Home Assistant's rest integration reads enrich's real
GET /retention/stats (tests.support.ha_rest): a request enrich answers a read-only token, each
key its sensors read is in the answer, and each shows the answer's figure, or is unavailable
when the figure is null (InfluxDB out of reach), with nothing in Home Assistant's log. The
recipe rendered "None" then, and Home Assistant logged "the non-numeric value" at each poll.
Its webhook automation reads keys of what enrich posts for an alert."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from enrich import influx as timeseries
from enrich.influx import RetentionTier, get_timeseries
from retention.models import RetentionRun
from retention.schema import DAILY_RP, HOURLY_RP
from retention.stats import alerts
from tests.support.api import create_token
from tests.support.ha_recipes import automations
from tests.support.ha_rest import STRICT, documented_resources, rest_sensor
from tests.support.ha_silence import ha_silence_unchecked  # noqa: F401  (fixture)
from tests.support.isolation import own_storage
from tests.support.replay import unused_url

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
KEYS = re.compile(r"value_json((?:\.\w+)+)")


@pytest.fixture
def stats(settings, ha_db):
    """The recipe's resource and a client sending its header with a read-only token, the tier
    database's retention policies and enrich's own database in place."""
    get_timeseries().create_database(
        ha_db.name, tiers=[RetentionTier(HOURLY_RP, "INF"), RetentionTier(DAILY_RP, "INF")]
    )
    [resource] = documented_resources("storage.md")
    url = urlsplit(resource["resource"])
    assert (url.scheme, url.netloc, url.path) == ("http", "enrich.local:8000", "/retention/stats")
    token = create_token("--read-only", "home-assistant")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=resource["headers"]["Authorization"].replace(
            "YOUR_READ_ONLY_TOKEN", token
        )
    )
    with own_storage(settings, "stats-recipe"):
        yield resource, client


def figure(body: dict, sensor: dict):
    """The figure the sensor's template reads, each key on its way asserted to be there."""
    [keys] = set(KEYS.findall(sensor["value_template"] + sensor.get("availability", "")))
    value = body
    for key in keys.strip(".").split("."):
        assert isinstance(value, dict) and key in value, (sensor["name"], key, value)
        value = value[key]
    return value


def test_each_sensor_shows_the_answers_figure(stats):
    resource, client = stats
    response = client.get("/retention/stats")
    assert response.status_code == 200, response.content
    shown = {}
    for sensor in resource["sensor"]:
        value = figure(response.json(), sensor)
        state, logged = rest_sensor(sensor, response.text)
        assert logged == []
        shown[sensor["name"]] = state
        assert state == ("unavailable" if value is None else str(float(value))), sensor["name"]
    assert shown["InfluxDB size"] != "unavailable"  # the databases above, measured (empty: 0)


def test_without_figures_each_sensor_is_unavailable_and_logs_nothing(stats, settings):
    resource, client = stats
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = unused_url(), 2.0
    timeseries.reset_timeseries()
    try:
        response = client.get("/retention/stats")
    finally:
        timeseries.reset_timeseries()
    assert response.status_code == 200, response.content
    for sensor in resource["sensor"]:
        assert figure(response.json(), sensor) is None
        assert rest_sensor(sensor, response.text) == ("unavailable", []), sensor["name"]


@pytest.mark.usefixtures("ha_silence_unchecked")
def test_the_alert_automation_reads_what_the_webhook_posts(settings, replay_server):
    [automation] = automations("storage.md")
    [trigger] = automation["triggers"]
    hook = f"/api/webhook/{trigger['webhook_id']}"
    settings.ALERT_WEBHOOK_URL = replay_server.url_for(hook)
    replay_server.add("POST", hook, 200, body="")  # Home Assistant answers 200, no body
    started = datetime.now(UTC) - timedelta(minutes=10)
    RetentionRun.objects.create(operation="downsample_hourly", status="failed", started=started,
                                finished=started, errors="InfluxDB did not answer")  # fmt: skip
    alerts.check_alerts()
    [post] = [call.json() for call in replay_server.calls("POST", hook)]
    [step] = automation["actions"]
    # Strict: a key the post lacks raises, where Home Assistant would render it empty.
    shown = {
        name: STRICT.from_string(template).render(trigger={"json": post})
        for name, template in step["data"].items()
    }
    assert shown == {
        "title": "Storage failed: downsample_hourly",
        "message": post["message"],
    }
