"""A calendar fetch that runs late in its quarter hour (a backlog, a retry: beat dispatched it
at 10:00, it ran at 10:09) writes its points at the slot's start, 10:00. InfluxDB must say what
the calendar says at every minute from there on: at 10:00 the prediction of 10:00, not of
10:09, and nothing left from the answer before it that this one no longer has (an event deleted
meanwhile). The workday's documented events (Berlin, home office all day), through the real
pipeline, the replay server playing Google.
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from tests.support import google as played
from tests.support.beat import run_every_minute_collectors

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

SLOT = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 10:00 in Berlin
EDGE = datetime(2026, 5, 4, 8, 7, tzinfo=UTC)  # the dentist, 10:07-10:50
LATE = datetime(2026, 5, 4, 8, 9, tzinfo=UTC)  # the 10:00 fetch, run at 10:09


def points_at(influx, database: str, moment: datetime) -> dict:
    """The `occupancy_prediction` points stored at `moment`, by person."""
    rows = influx.query(
        database,
        'SELECT * FROM "occupancy_prediction" WHERE time = $at GROUP BY *',
        params={"at": moment},
    )
    return {row.tags["person"]: row for row in rows}


def test_a_late_fetch_writes_the_prediction_of_its_slot_and_each_edge_since(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """Home office until the dentist at 10:07: the 10:00 points say home (they said not home,
    the prediction of 10:09), and the 10:07 points say not home, written by the fetch."""
    played.connect(calendar, expires_in=timedelta(hours=1))
    items = played.workday_with_the_dentist(google, "10:07", "10:50")
    google.add("GET", played.PRIMARY, json={"kind": "calendar#events", "items": items})
    assert pipeline.collect(calendar, now=LATE).status == "ok"

    database = settings.INFLUXDB_DATABASE
    at_slot, at_edge = points_at(influx, database, SLOT), points_at(influx, database, EDGE)
    assert set(at_slot) == set(at_edge) == {"household", "alex.morgan@example.com"}
    for person in at_slot:
        assert at_slot[person].values["currently_home"] is True, person
        assert at_edge[person].values["currently_home"] is False, person
        assert at_edge[person].values["next_arrival_time"] == "2026-05-04T20:30:00+02:00"

    # What the API serves at 10:09 is the 10:07 prediction, and InfluxDB's newest point too.
    entry = played.entry_at(admin_client, monkeypatch, LATE)
    assert entry["value"]["currently_home"] is False
    assert entry["time"] == EDGE.isoformat()
    newest = played.newest_points(influx, database, LATE)
    assert {row.time for row in newest.values()} == {EDGE}


def test_a_late_fetch_removes_what_the_answer_before_it_served_since_its_slot(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """The 09:45 fetch saw the dentist at 10:07, and beat's minute task wrote the 10:07 points
    (not home). The dentist is then deleted; the 10:00 fetch runs at 10:09. InfluxDB's newest
    points said not home (the 10:07 ones, left from the answer before) while the API served
    home; now the late fetch's answer is all that is stored from 10:00 on."""
    played.connect(calendar, expires_in=timedelta(hours=1))
    items = played.workday_with_the_dentist(google, "10:07", "10:50")
    google.add("GET", played.PRIMARY, json={"kind": "calendar#events", "items": items})
    home_only = [e for e in items if e.get("eventType") == "workingLocation"]
    google.add("GET", played.PRIMARY, json={"kind": "calendar#events", "items": home_only})
    assert pipeline.collect(calendar, now=SLOT - timedelta(minutes=15)).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: EDGE + timedelta(minutes=1))
    run_every_minute_collectors()
    database = settings.INFLUXDB_DATABASE
    assert points_at(influx, database, EDGE)["household"].values["currently_home"] is False

    assert pipeline.collect(calendar, now=LATE).status == "ok"
    entry = played.entry_at(admin_client, monkeypatch, LATE)
    assert entry["value"]["currently_home"] is True
    run_every_minute_collectors()
    assert points_at(influx, database, EDGE) == {}
    newest = played.newest_points(influx, database, LATE)
    assert {row.time for row in newest.values()} == {SLOT}
    for person, row in newest.items():
        fields = {k: v for k, v in row.values.items() if v is not None}
        assert fields == {"currently_home": True, "wfh_today": True, "confidence": 0.95}, person
