"""Who is home is known only as far as the events the last fetch read: today and tomorrow (the
site's days). When the fetches stop (the connection needs reconnecting: the 7-day trap of an
app left in "Testing"), GET /api/enrichment/current and Home Assistant's occupancy entities
keep following the last answer's predictions up to the end of tomorrow, and after it serve no
prediction, saying why, instead of the last one made for ever (away, "home at 00:30" on
Wednesday afternoon and every day after, from events nobody read). The workday's documented events, through the real pipeline.
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.ha_mqtt.entities import occupancy_states, source_entry
from enrich.redis.cache import ResponseCache
from tests.support import google as played

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FETCHED = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
READ_UNTIL = datetime(2026, 5, 5, 22, 0, tzinfo=UTC)  # Wednesday 00:00 in Berlin


def test_after_the_events_read_no_prediction_is_served(
    influx, google, calendar, admin_client, monkeypatch
):
    played.connect(calendar, expires_in=timedelta(hours=1))
    items = played.workday_with_the_dentist(google, "10:07", "10:50")
    google.add("GET", played.PRIMARY, json={"kind": "calendar#events", "items": items})
    assert pipeline.collect(calendar, now=FETCHED).status == "ok"

    last = played.entry_at(admin_client, monkeypatch, READ_UNTIL - timedelta(minutes=1))
    # Tuesday is out of office, to its midnight: away, home at 00:30.
    assert last["value"]["currently_home"] is False
    assert last["value"]["rule"] == "out_of_office"
    assert last["value"]["next_arrival_time"] == "2026-05-06T00:30:00+02:00"

    after = played.entry_at(admin_client, monkeypatch, READ_UNTIL + timedelta(minutes=1))
    assert after["value"] is None
    assert after["stale"] is True and after["fetched_at"] == FETCHED.isoformat()
    assert "2026-05-06T00:00:00+02:00" in after["message"]
    assert "no prediction" in after["message"]
    states = {s.spec.key: s for s in occupancy_states(source_entry([calendar], ResponseCache()))}
    assert states["occupancy_prediction"].state is None  # unavailable in Home Assistant
    assert "no prediction" in states["occupancy_prediction"].attributes["reason"]
