"""Who is home at every minute, not only at the fetch's: documented events.list payloads
through the real pipeline, one fetch, then the clock moved minute by minute across each
event's first and last minute (the end is exclusive), with GET /api/enrichment/current,
the point beat's minute task writes to InfluxDB and Home Assistant's "Home occupied"
entity compared with what the payload says, worked out here from the events themselves:
away from a busy event's start at a place to its end plus the 30 minutes on the way home
(an all-day one to its end date's local midnight), home otherwise."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors import pipeline
from collectors.ha_mqtt.entities import occupancy_states, source_entry
from enrich.redis.cache import ResponseCache
from tests.support.beat import run_every_minute_collectors
from tests.support.google import PRIMARY, connect, entry_at, newest_points

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

TRAVEL = timedelta(minutes=30)  # travel_minutes' default
MINUTE = timedelta(minutes=1)


def timed(ident: str, start: str, end: str, place: str = "Friedrichstraße 1, Berlin", **more):
    """A busy event at a place, as events.list gives it (start and end with their offset)."""
    return {
        "kind": "calendar#event",
        "id": ident,
        "status": "confirmed",
        "summary": ident,
        "eventType": "default",
        "location": place,
        "start": {"dateTime": start},
        "end": {"dateTime": end},
        **more,
    }


def all_day(ident: str, first: str, after: str, **more):
    """An all-day out-of-office event (`date`, the end date exclusive)."""
    return {
        "kind": "calendar#event",
        "id": ident,
        "status": "confirmed",
        "summary": ident,
        "eventType": "outOfOffice",
        "start": {"date": first},
        "end": {"date": after},
        **more,
    }


def away_spans(items: list[dict], zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """When the payload says the person is away, read from the items, not by our code."""
    spans = []
    for item in items:
        declined = any(
            a.get("self") and a.get("responseStatus") == "declined"
            for a in item.get("attendees", [])
        )
        if item["status"] == "cancelled" or declined or item.get("transparency") == "transparent":
            continue
        if item["eventType"] == "workingLocation":  # home office: not away
            continue
        if "date" in item["start"]:
            start, end = (
                datetime.combine(date.fromisoformat(item[k]["date"]), datetime.min.time(), zone)
                for k in ("start", "end")
            )
        else:
            start = datetime.fromisoformat(item["start"]["dateTime"])
            end = datetime.fromisoformat(item["end"]["dateTime"]) + TRAVEL
        spans.append((start.astimezone(UTC), end.astimezone(UTC)))
    return spans


def probe_minutes(items, zone):
    """Each span's first and last minute and the minutes either side of them."""
    moments = set()
    for start, end in away_spans(items, zone):
        for edge in (start, end):
            moments |= {edge - MINUTE, edge, edge + MINUTE}
    return sorted(moments)


def check_every_minute(client, monkeypatch, influx, database, config, items, zone, moments,
                       until: datetime) -> None:  # fmt: skip
    """At each moment: the API, InfluxDB and Home Assistant agree with the payload (and say
    nothing from `until`, the end of the events the fetch read)."""
    spans = away_spans(items, zone)
    home_days = {
        date.fromisoformat(item["start"]["date"])
        for item in items
        if item["eventType"] == "workingLocation"
    }
    for moment in moments:
        entry = entry_at(client, monkeypatch, moment)
        run_every_minute_collectors()
        states = {
            s.spec.key: s.state for s in occupancy_states(source_entry([config], ResponseCache()))
        }
        if moment >= until:
            assert entry["value"] is None, moment
            assert states["occupancy_prediction"] is None, moment
            continue
        home = not any(start <= moment < end for start, end in spans)
        wfh = moment.astimezone(zone).date() in home_days
        value = entry["value"]
        assert value["currently_home"] is home, (moment, value)
        assert value["wfh_today"] is wfh, (moment, value)
        assert states["occupancy_prediction"] == ("ON" if home else "OFF"), moment
        points = newest_points(influx, database, moment)
        household = points["household"]
        assert household.values["currently_home"] is home, (moment, household.time)
        assert household.time.isoformat() == value["time"], moment
        for field in ("wfh_today", "confidence", "next_arrival_time", "prepare_time"):
            assert household.values[field] == value.get(field), (moment, field)


def serve(google, items):
    google.add("GET", PRIMARY, json={"kind": "calendar#events", "timeZone": "Europe/Berlin",
                                     "items": items})  # fmt: skip


def test_edges_of_back_to_back_overlapping_recurring_and_ignored_events(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """A Berlin weekday fetched at 10:00: back-to-back and overlapping events, two expanded
    instances of a weekly choir (singleEvents) and a cancelled one, a free event, a declined
    one, one given in New York time, one running past the end of tomorrow."""
    berlin = ZoneInfo("Europe/Berlin")
    me = [{"email": "alex.morgan@example.com", "self": True, "responseStatus": "declined"}]
    choir = {"recurringEventId": "choir"}
    items = [
        all_day(
            "home0504",
            "2026-05-04",
            "2026-05-05",
            eventType="workingLocation",
            transparency="transparent",
            workingLocationProperties={"type": "homeOffice", "homeOffice": {}},
        ),
        timed("flight", "2026-05-02T08:00:00+02:00", "2026-05-04T09:45:00+02:00"),
        timed("walk", "2026-05-04T20:00:00Z", "2026-05-04T21:00:00Z"),
        timed("physio", "2026-05-04T10:07:00+02:00", "2026-05-04T10:50:00+02:00"),
        timed("coffee", "2026-05-04T10:50:00+02:00", "2026-05-04T11:10:00+02:00"),
        timed("gym", "2026-05-04T11:00:00+02:00", "2026-05-04T12:01:00+02:00"),
        timed(
            "park",
            "2026-05-04T13:00:00+02:00",
            "2026-05-04T14:00:00+02:00",
            transparency="transparent",
        ),
        timed("review", "2026-05-04T14:00:00+02:00", "2026-05-04T15:00:00+02:00", attendees=me),
        timed(
            "choir_20260504T160000Z",
            "2026-05-04T18:00:00+02:00",
            "2026-05-04T19:00:00+02:00",
            **choir,
        ),
        timed(
            "choir_20260505T160000Z",
            "2026-05-05T18:00:00+02:00",
            "2026-05-05T19:00:00+02:00",
            **choir,
            status="cancelled",
        ),
        timed("call", "2026-05-05T09:00:00-04:00", "2026-05-05T10:00:00-04:00"),
        timed("trip", "2026-05-05T23:00:00+02:00", "2026-05-07T10:00:00+02:00"),
    ]
    connect(calendar, expires_in=timedelta(hours=1))
    serve(google, items)
    fetched = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    assert pipeline.collect(calendar, now=fetched).status == "ok"
    until = datetime(2026, 5, 5, 22, 0, tzinfo=UTC)  # midnight after tomorrow, Berlin
    moments = [m for m in probe_minutes(items, berlin) if m >= fetched]
    midnight = datetime(2026, 5, 4, 22, 0, tzinfo=UTC)
    moments = sorted({*moments, midnight - MINUTE, midnight, until - MINUTE, until, until + MINUTE})
    check_every_minute(admin_client, monkeypatch, influx, settings.INFLUXDB_DATABASE,
                       calendar, items, berlin, moments, until)  # fmt: skip


@pytest.mark.parametrize(
    ("zone_name", "day", "fetched"),
    [
        ("America/New_York", "2026-03-08", datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # 23 h
        ("America/New_York", "2026-11-01", datetime(2026, 11, 1, 4, 0, tzinfo=UTC)),  # 25 h
        ("Europe/Berlin", "2026-03-29", datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),  # 23 h
        ("Europe/Berlin", "2026-10-25", datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),  # 25 h
    ],
)
def test_all_day_and_timed_events_on_a_dst_day(
    influx, google, calendar, site, admin_client, monkeypatch, settings, zone_name, day, fetched
):
    """Fetched at local midnight of a DST change day: a timed event across the change and an
    all-day out-of-office event tomorrow, whose start and end are the site's midnights (in New
    York also with the calendar's own zone, as `serve` gives it, Berlin's)."""
    site.timezone = zone_name
    site.save()
    zone = ZoneInfo(zone_name)
    today = date.fromisoformat(day)
    local = datetime.combine(today, datetime.min.time(), zone)
    across = (
        (local + timedelta(hours=1, minutes=30)).isoformat(),
        (fetched + timedelta(hours=4, minutes=30)).astimezone(zone).isoformat(),
    )
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)
    items = [
        timed("night", *across),
        all_day("away", tomorrow.isoformat(), after.isoformat()),
    ]
    connect(calendar, expires_in=timedelta(hours=1))
    serve(google, items)
    assert pipeline.collect(calendar, now=fetched).status == "ok"
    until = datetime.combine(after, datetime.min.time(), zone).astimezone(UTC)
    moments = sorted({*probe_minutes(items, zone), until - MINUTE, until})
    check_every_minute(admin_client, monkeypatch, influx, settings.INFLUXDB_DATABASE,
                       calendar, items, zone, [m for m in moments if m >= fetched],
                       until)  # fmt: skip


def test_on_the_way_home_from_an_event_that_ended_before_midnight(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """A concert until 23:50 (Berlin): on the way home until 00:20. The midnight fetch reads
    a new day; Google lists only the events ending after its timeMin, and the way home from
    the concert still counts until 00:20."""
    berlin = ZoneInfo("Europe/Berlin")
    items = [timed("concert", "2026-05-03T20:00:00+02:00", "2026-05-03T23:50:00+02:00")]
    connect(calendar, expires_in=timedelta(hours=1))
    serve(google, items)
    fetched = datetime(2026, 5, 3, 22, 0, tzinfo=UTC)  # 00:00 on 4 May in Berlin
    assert pipeline.collect(calendar, now=fetched).status == "ok"
    [request] = google.calls("GET", PRIMARY)
    # events.list's timeMin is the lower bound (exclusive) of an event's end: the concert is
    # in Google's answer only when timeMin is before 23:50.
    assert datetime.fromisoformat(request.query["timeMin"]) < datetime.fromisoformat(
        items[0]["end"]["dateTime"]
    )
    until = datetime(2026, 5, 5, 22, 0, tzinfo=UTC)
    moments = [fetched, *(m for m in probe_minutes(items, berlin) if m >= fetched)]
    check_every_minute(admin_client, monkeypatch, influx, settings.INFLUXDB_DATABASE,
                       calendar, items, berlin, moments, until)  # fmt: skip


def test_the_next_days_arrival_from_the_first_minute_it_is_shown(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """A night out 22:00-02:00 and work 18:00-19:00 tomorrow, 40 minutes on the way home,
    fetched at 23:45 (Berlin) only. Until 00:40 the arrival shown is the night's (02:40); from
    00:40, midnight plus the way home, the new day's last one, after work (19:40), as a fetch at
    that minute says: in the API, InfluxDB and Home Assistant, not only from the next fetch."""
    calendar.options = {"travel_minutes": 40}
    calendar.save()
    items = [
        timed("night", "2026-05-04T22:00:00+02:00", "2026-05-05T02:00:00+02:00"),
        timed("work", "2026-05-05T18:00:00+02:00", "2026-05-05T19:00:00+02:00"),
    ]
    connect(calendar, expires_in=timedelta(hours=1))
    serve(google, items)
    assert pipeline.collect(calendar, now=datetime(2026, 5, 4, 21, 45, tzinfo=UTC)).status == "ok"
    database = settings.INFLUXDB_DATABASE
    for minute, arrival in ((39, "2026-05-05T02:40:00+02:00"), (40, "2026-05-05T19:40:00+02:00")):
        moment = datetime(2026, 5, 4, 22, minute, tzinfo=UTC)  # 00:39 and 00:40 in Berlin
        value = entry_at(admin_client, monkeypatch, moment)["value"]
        run_every_minute_collectors()
        assert value["currently_home"] is False  # at the night out
        assert value["next_arrival_time"] == arrival, moment
        point = newest_points(influx, database, moment)["household"]
        assert point.values["next_arrival_time"] == arrival, moment
        states = {
            s.spec.key: s.state for s in occupancy_states(source_entry([calendar], ResponseCache()))
        }
        assert states["next_arrival_time"] == arrival, moment
