"""Two homes whose calendars name the same person: each home's occupancy is its own, in
InfluxDB (the fetch's points and beat's minute task's), in GET /api/enrichment/current and in
Home Assistant's entities. Real PostgreSQL, Redis and InfluxDB; Google on a local server.

North's alex is at the dentist 10:00-10:20 (Berlin) and home at 10:50 (30 minutes on the way),
South's alex at the dentist 10:50-11:30; both work from home otherwise. At the 10:00 fetch North
is away and South home; from 10:50 it is the other way round."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from collectors.ha_mqtt.entities import occupancy_states, source_entry
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from enrich.redis.cache import ResponseCache
from tests.support.beat import run_every_minute_collectors
from tests.support.google import connect, workday_with_the_dentist

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FETCHED = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 10:00 in Berlin
EDGE = datetime(2026, 5, 4, 8, 50, tzinfo=UTC)  # 10:50: North's alex is home, South's leaves
DENTIST = {"North": ("10:00", "10:20"), "South": ("10:50", "11:30")}


def home_with_a_calendar(google, name: str) -> ProviderConfig:
    """A site `name` whose calendar (its own id) belongs to a person called alex."""
    site = Site.objects.create(
        name=name, latitude=52.52, longitude=13.405, timezone="Europe/Berlin"
    )
    calendar_id = f"alex@{name.lower()}.example"
    config = ProviderConfig.objects.create(
        site=site,
        source="occupancy",
        provider="google_calendar",
        options={"calendars": [{"id": calendar_id, "person": "alex"}]},
    )
    connect(config, expires_in=timedelta(hours=1))
    items = workday_with_the_dentist(google, *DENTIST[name])
    path = f"/calendar/v3/calendars/alex%40{name.lower()}.example/events"
    google.add("GET", path, json={"kind": "calendar#events", "items": items})
    return config


def stored(influx, database: str) -> dict[tuple[str, str, datetime], dict]:
    """Every `occupancy_prediction` point: (site tag, person, time) -> its fields."""
    rows = influx.query(database, 'SELECT * FROM "occupancy_prediction" GROUP BY *')
    return {
        (row.tags.get("site", ""), row.tags["person"], row.time): {
            k: v for k, v in row.values.items() if v is not None
        }
        for row in rows
    }


def answer_of(client, monkeypatch, site: Site, moment: datetime) -> dict:
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    body = client.get("/api/enrichment/current", {"site": site.pk}).json()
    [entry] = body["sources"]["occupancy"]["providers"]
    return entry["value"]


def occupied(config: ProviderConfig) -> str:
    states = occupancy_states(source_entry([config], ResponseCache()))
    return next(s.state for s in states if s.spec.key == "occupancy_prediction")


def test_two_homes_with_a_person_of_one_name_each_keep_their_own_occupancy(
    influx, google, admin_client, monkeypatch, settings
):
    north, south = (home_with_a_calendar(google, name) for name in ("North", "South"))
    for config in (north, south):
        assert pipeline.collect(config, now=FETCHED).status == "ok"
    database = settings.INFLUXDB_DATABASE

    at_fetch = stored(influx, database)
    # One series per home and person (the household too): four, none shared.
    assert set(at_fetch) == {
        (site, person, FETCHED) for site in ("North", "South") for person in ("alex", "household")
    }
    for person in ("alex", "household"):
        assert at_fetch[("North", person, FETCHED)]["currently_home"] is False  # dentist
        assert at_fetch[("North", person, FETCHED)]["confidence"] == 0.7
        assert at_fetch[("South", person, FETCHED)]["currently_home"] is True
        assert at_fetch[("South", person, FETCHED)]["confidence"] == 0.95  # home office
    moment = FETCHED + timedelta(minutes=1)
    assert answer_of(admin_client, monkeypatch, north.site, moment)["currently_home"] is False
    assert answer_of(admin_client, monkeypatch, south.site, moment)["currently_home"] is True
    assert (occupied(north), occupied(south)) == ("OFF", "ON")

    # 10:51, no fetch since: beat's minute task writes each home's prediction from 10:50.
    monkeypatch.setattr(clock, "utc_now", lambda: EDGE + timedelta(minutes=1))
    run_every_minute_collectors()
    at_edge = {key: fields for key, fields in stored(influx, database).items() if key[2] == EDGE}
    assert set(at_edge) == {
        (site, person, EDGE) for site in ("North", "South") for person in ("alex", "household")
    }
    for person in ("alex", "household"):
        assert at_edge[("North", person, EDGE)] == {
            "currently_home": True,
            "wfh_today": True,
            "confidence": 0.95,
            "next_arrival_time": "2026-05-04T20:30:00+02:00",  # climbing 18-20
            "prepare_time": "2026-05-04T19:30:00+02:00",
        }
        assert at_edge[("South", person, EDGE)]["currently_home"] is False
        assert at_edge[("South", person, EDGE)]["confidence"] == 0.7
    moment = EDGE + timedelta(minutes=1)
    assert answer_of(admin_client, monkeypatch, north.site, moment)["currently_home"] is True
    assert answer_of(admin_client, monkeypatch, south.site, moment)["currently_home"] is False
    assert (occupied(north), occupied(south)) == ("ON", "OFF")
    # The 10:00 points are still each home's own: no fetch or minute task wrote over them.
    assert {k: v for k, v in stored(influx, database).items() if k[2] == FETCHED} == at_fetch


def test_points_written_before_the_site_tag_stay_as_they_were(influx, google, settings):
    """A point of the household without a site tag (written before the tag existed) at the
    fetch's own time: the fetch writes its tagged points beside it and neither deletes nor
    changes it (history is not rewritten)."""
    north = home_with_a_calendar(google, "North")
    database = settings.INFLUXDB_DATABASE
    before = {"currently_home": True, "wfh_today": False, "confidence": 0.5,
              "next_arrival_time": "2026-05-04T09:00:00+02:00"}  # fmt: skip
    untagged = {"source": "google_calendar", "person": "household", "provider": "google_calendar"}
    influx.write(database, [Reading("occupancy_prediction", before, FETCHED, untagged)])

    assert pipeline.collect(north, now=FETCHED).status == "ok"
    points = stored(influx, database)
    assert points[("", "household", FETCHED)] == before
    assert points[("North", "household", FETCHED)] == {
        "currently_home": False,
        "wfh_today": True,
        "confidence": 0.7,
        "next_arrival_time": "2026-05-04T20:30:00+02:00",  # climbing 18-20
        "prepare_time": "2026-05-04T19:30:00+02:00",
    }
    assert set(points) == {
        ("", "household", FETCHED),
        ("North", "alex", FETCHED),
        ("North", "household", FETCHED),
    }
