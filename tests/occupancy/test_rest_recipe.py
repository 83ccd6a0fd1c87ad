"""docs/home_assistant.md's REST recipe "pre-heat at prepare_time" as Home Assistant's rest
sensor reads enrich's real answers (tests.support.ha_rest): the calendar's documented workday
through the real pipeline, and a day with no event."""

from datetime import timedelta

import pytest

from collectors import clock, pipeline
from tests.support.google import NOW, PRIMARY, connect, workday_pages
from tests.support.ha_rest import documented_sensor, rest_sensor

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def answer(influx, google, calendar, admin_client, monkeypatch):
    """GET /api/enrichment/current (what the recipe's resource asks) at NOW, once the calendar
    was fetched."""
    connect(calendar, expires_in=timedelta(hours=1))

    def collected() -> str:
        assert pipeline.collect(calendar, now=NOW).status == "ok"
        monkeypatch.setattr(clock, "utc_now", lambda: NOW)
        return admin_client.get("/api/enrichment/current").content.decode()

    return collected


def test_the_prepare_time_sensor_shows_the_time_to_start(google, answer):
    workday_pages(google)
    sensor = documented_sensor("home_assistant.md", "Household prepare time")
    assert rest_sensor(sensor, answer()) == ("2026-05-04T19:30:00+02:00", [])


def test_with_nobody_away_ahead_it_is_unavailable_and_logs_nothing(google, answer):
    google.add("GET", PRIMARY, json={"kind": "calendar#events", "items": []})
    body = answer()
    assert '"prepare_time"' not in body  # nobody is away ahead: the answer has none
    sensor = documented_sensor("home_assistant.md", "Household prepare time")
    # The recipe rendered "unknown" into the timestamp sensor: Home Assistant logged
    # "rendered invalid timestamp: unknown" at each poll.
    assert rest_sensor(sensor, body) == ("unavailable", [])


def test_the_home_and_confidence_sensors_show_the_prediction(google, answer):
    """The recipe's automation compares `sensor.household_home` with "False" and the confidence
    with 0.6: Home Assistant's text of the answer's boolean, and its number (the documented
    workday at NOW: working from home, 0.95)."""
    workday_pages(google)
    body = answer()
    home, confidence = (
        rest_sensor(documented_sensor("home_assistant.md", name), body)
        for name in ("Household home", "Occupancy confidence")
    )
    assert (home, confidence) == (("True", []), ("0.95", []))
