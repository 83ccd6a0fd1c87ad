"""Who is home at any minute between calendar fetches (collectors.occupancy.google.now).

The workday's documented events go through the real pipeline, with the dentist moved to
10:07-10:50 (Berlin), off the quarter hours the fetches run on: away from 10:07, home at 11:20
after 30 minutes on the way. The clock then moves on with no other fetch: GET /api/enrichment/current and Home Assistant's occupancy entities must follow
the events from their first minute, and so must InfluxDB (beat's minute task).
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from collectors.ha_mqtt.entities import occupancy_states, source_entry
from enrich.redis.cache import ResponseCache
from tests.support.beat import run_every_minute_collectors
from tests.support.google import (
    PRIMARY,
    connect,
    entry_at,
    newest_points,
    workday_with_the_dentist,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FETCHED = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 10:00 in Berlin


def serve_workday_with_a_dentist_at_10_07(google) -> None:
    items = workday_with_the_dentist(google, "10:07", "10:50")
    google.add("GET", PRIMARY, json={"kind": "calendar#events", "items": items})


def test_an_event_off_the_quarter_hours_shows_from_its_first_minute(
    influx, google, calendar, admin_client, monkeypatch
):
    connect(calendar, expires_in=timedelta(hours=1))
    serve_workday_with_a_dentist_at_10_07(google)
    assert pipeline.collect(calendar, now=FETCHED).status == "ok"
    calls = len(google.requests)

    before = entry_at(admin_client, monkeypatch, datetime(2026, 5, 4, 8, 6, tzinfo=UTC))
    assert before["value"]["currently_home"] is True
    assert before["value"]["rule"] == "working_location"  # home office all day

    at_dentist = entry_at(admin_client, monkeypatch, datetime(2026, 5, 4, 8, 8, tzinfo=UTC))
    value = at_dentist["value"]
    assert value["currently_home"] is False and value["rule"] == "event_location"
    assert at_dentist["time"] == value["time"] == "2026-05-04T08:07:00+00:00"
    assert value["next_arrival_time"] == "2026-05-04T20:30:00+02:00"  # climbing ends 20:00
    assert "changes" not in value
    assert at_dentist["fetched_at"] == FETCHED.isoformat()
    states = {
        s.spec.key: s.state for s in occupancy_states(source_entry([calendar], ResponseCache()))
    }
    assert states["occupancy_prediction"] == "OFF"
    assert states["prepare_time"] == "2026-05-04T19:30:00+02:00"

    on_the_way = entry_at(admin_client, monkeypatch, datetime(2026, 5, 4, 9, 19, tzinfo=UTC))
    assert on_the_way["value"]["currently_home"] is False
    assert on_the_way["value"]["rule"] == "event_location"  # the dentist, 30 minutes on
    back = entry_at(admin_client, monkeypatch, datetime(2026, 5, 4, 9, 21, tzinfo=UTC))
    assert back["value"]["currently_home"] is True
    assert back["value"]["time"] == "2026-05-04T09:20:00+00:00"
    assert len(google.requests) == calls  # no fetch: the last one's predictions


def test_influxdb_shows_an_event_off_the_quarter_hours_from_its_first_minute(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """The dentist at 10:07 (08:07 UTC): InfluxDB's household and person points say so from
    10:07, as the API does, not from the 10:15 fetch; before it, nothing new is written."""
    connect(calendar, expires_in=timedelta(hours=1))
    serve_workday_with_a_dentist_at_10_07(google)
    assert pipeline.collect(calendar, now=FETCHED).status == "ok"
    calls = len(google.requests)

    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 5, 4, 8, 6, tzinfo=UTC))
    run_every_minute_collectors()
    database = settings.INFLUXDB_DATABASE
    before = newest_points(influx, database, datetime(2026, 5, 4, 8, 6, tzinfo=UTC))
    assert {row.time for row in before.values()} == {FETCHED}  # the fetch's own points
    assert before["household"].values["currently_home"] is True

    for moment, edge, home in (
        (datetime(2026, 5, 4, 8, 8, tzinfo=UTC), "2026-05-04T08:07:00+00:00", False),
        (datetime(2026, 5, 4, 8, 51, tzinfo=UTC), "2026-05-04T08:50:00+00:00", False),
        (datetime(2026, 5, 4, 9, 21, tzinfo=UTC), "2026-05-04T09:20:00+00:00", True),
    ):
        entry = entry_at(admin_client, monkeypatch, moment)
        run_every_minute_collectors()
        points, value = newest_points(influx, database, moment), entry["value"]
        assert points["household"].values["currently_home"] is value["currently_home"] is home
        served = {**value["people"], "household": value}
        assert set(points) == set(served)
        for person, row in points.items():
            assert row.time.isoformat() == value["time"] == edge, person
            for field in ("currently_home", "wfh_today", "confidence", "next_arrival_time",
                          "prepare_time"):  # fmt: skip
                assert row.values[field] == served[person].get(field), (person, field)
    assert len(google.requests) == calls  # no fetch: the last one's predictions


def test_a_fetch_at_a_served_edge_replaces_its_points_whole(
    influx, google, calendar, monkeypatch, settings
):
    """The dentist moved to 10:15, the quarter hour of the next fetch: beat's minute task writes
    the 10:15 points first (not home, arriving 20:30); the 10:15 fetch finds every away event
    deleted, and its points are all that is left at 10:15: home, with no arrival time."""
    connect(calendar, expires_in=timedelta(hours=1))
    items = workday_with_the_dentist(google, "10:15", "11:00")
    google.add("GET", PRIMARY, json={"kind": "calendar#events", "items": items})
    home_only = [e for e in items if e.get("eventType") == "workingLocation"]
    google.add("GET", PRIMARY, json={"kind": "calendar#events", "items": home_only})
    assert pipeline.collect(calendar, now=FETCHED).status == "ok"
    edge = datetime(2026, 5, 4, 8, 15, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: edge)
    run_every_minute_collectors()
    database = settings.INFLUXDB_DATABASE
    served = newest_points(influx, database, edge)
    assert {row.time for row in served.values()} == {edge}
    assert served["household"].values["currently_home"] is False
    assert served["household"].values["next_arrival_time"] == "2026-05-04T20:30:00+02:00"

    assert pipeline.collect(calendar, now=edge).status == "ok"
    run_every_minute_collectors()
    fetched = newest_points(influx, database, edge)
    assert set(fetched) == set(served)
    for person, row in fetched.items():
        assert row.time == edge, person
        fields = {k: v for k, v in row.values.items() if v is not None}
        assert fields == {"currently_home": True, "wfh_today": True, "confidence": 0.95}, person


def test_an_edge_whose_minute_passed_without_the_minute_task_is_still_written(
    influx, google, calendar, monkeypatch, settings
):
    """Beat's minute task did not run from 10:06 to 11:20 (a worker restarting, runs dropped
    past their expiry): at 11:21 it writes the dentist's 10:07 points (not home) as well as
    the 10:50 and 11:20 ones, so InfluxDB does not say home from 10:00 to 11:20."""
    connect(calendar, expires_in=timedelta(hours=1))
    serve_workday_with_a_dentist_at_10_07(google)
    assert pipeline.collect(calendar, now=FETCHED).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 5, 4, 9, 21, tzinfo=UTC))
    run_every_minute_collectors()

    rows = influx.query(
        settings.INFLUXDB_DATABASE,
        'SELECT "currently_home" FROM "occupancy_prediction" WHERE "person" = \'household\'',
    )
    assert [(row.time.isoformat(), row.values["currently_home"]) for row in rows] == [
        ("2026-05-04T08:00:00+00:00", True),
        ("2026-05-04T08:07:00+00:00", False),
        ("2026-05-04T08:50:00+00:00", False),  # on the way home
        ("2026-05-04T09:20:00+00:00", True),
    ]
