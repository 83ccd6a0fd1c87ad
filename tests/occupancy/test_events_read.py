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


def test_a_calendar_with_more_edges_than_predicted_serves_none_after_the_last(
    influx, google, calendar, admin_client, monkeypatch
):
    """Tuesday full of 5-minute appointments (100, from 02:00, every 10 minutes; no out of
    office): with Monday's from the 10:00 fetch on (the dentist, climbing, the arrivals 30
    minutes after each, midnight: 7), more event edges than the answer predicts (MAX_CHANGES,
    200). The 201st is the end of the 97th appointment, 18:05: from then on no prediction is
    served, not the 200th one's (18:00, at an appointment: away) while the person is home
    again."""
    played.connect(calendar, expires_in=timedelta(hours=1))
    items = [
        e
        for e in played.workday_with_the_dentist(google, "10:07", "10:50")
        if e.get("eventType") != "outOfOffice"
    ]
    [climbing] = [e for e in items if e.get("summary") == "Climbing"]
    first = datetime(2026, 5, 5, 0, 0, tzinfo=UTC)  # Tuesday 02:00 in Berlin
    for n in range(100):
        start = first + timedelta(minutes=10 * n)
        items.append(
            {
                **climbing,
                "id": f"appointment{n}",
                "summary": f"Appointment {n}",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(minutes=5)).isoformat()},
            }
        )
    google.add("GET", played.PRIMARY, json={"kind": "calendar#events", "items": items})
    assert pipeline.collect(calendar, now=FETCHED).status == "ok"

    at_97th = played.entry_at(admin_client, monkeypatch, datetime(2026, 5, 5, 16, 2, tzinfo=UTC))
    assert at_97th["value"]["currently_home"] is False
    assert at_97th["time"] == "2026-05-05T16:00:00+00:00"

    after = played.entry_at(admin_client, monkeypatch, datetime(2026, 5, 5, 16, 10, tzinfo=UTC))
    assert after["value"] is None
    assert "2026-05-05T18:05:00+02:00" in after["message"]
