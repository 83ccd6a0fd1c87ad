"""A realistic week of a Berlin home's calendar (tests/support/calendar_week.py), kept in New
York's time zone or Berlin's, fetched every quarter hour as beat does, in two pages: at the
first, last and next minute of every event and of the way home after it (and every midnight),
GET /api/enrichment/current and the household's newest point in InfluxDB say what the person
expects from their week: who is home, whether it is a home-office day, the next arrival and
when to prepare for it."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors import pipeline
from tests.support import calendar_week as week
from tests.support.beat import run_every_minute_collectors
from tests.support.google import PRIMARY, connect, entry_at, newest_points

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

MINUTE = timedelta(minutes=1)
FIELDS = ("currently_home", "wfh_today", "next_arrival_time", "prepare_time")


def probes() -> list:
    """Every edge of the week's events (ignored ones too) and of the way home after the timed
    ones, and every midnight, with the minutes either side, inside the week."""
    edges = {week.midnight(day).astimezone(UTC) for day in range(week.DAYS)}
    for planned in week.WEEK:
        start, end = planned.span()
        edges |= {start, end} | (set() if planned.all_day else {end + week.TRAVEL})
    first, last = week.midnight(0).astimezone(UTC), week.midnight(week.DAYS).astimezone(UTC)
    moments = {edge + step * MINUTE for edge in edges for step in (-1, 0, 1)}
    return sorted(m for m in moments if first <= m < last)


def fetch(google, calendar, slot, zone, number: int) -> None:
    """The fetch of `slot` (a quarter hour), Google answering what events.list lists for the
    fetch's timeMin and timeMax, in two pages."""
    day = slot.astimezone(week.BERLIN).date()
    first = week.midnight((day - week.FIRST_DAY).days)
    time_min = first.astimezone(UTC) - week.TRAVEL
    time_max = week.midnight((day - week.FIRST_DAY).days + 2).astimezone(UTC)
    items = week.listed(time_min, time_max, zone)
    half, token = len(items) // 2, f"CigKGjNxa2Vh{number}"
    google.add("GET", PRIMARY, json=week.page_of(items[:half], zone, token), times=1)
    google.add("GET", PRIMARY, json=week.page_of(items[half:], zone, None), times=1,
               query={"pageToken": token})  # fmt: skip
    assert pipeline.collect(calendar, now=slot).status == "ok", slot


@pytest.mark.parametrize("calendar_zone", ["America/New_York", "Europe/Berlin"])
def test_every_edge_of_a_week_is_what_the_calendar_says(
    influx, google, calendar, admin_client, monkeypatch, settings, calendar_zone
):
    zone = ZoneInfo(calendar_zone)
    connect(calendar, expires_in=timedelta(hours=2))
    fetched, wrong = None, []
    for moment in probes():
        slot = moment - timedelta(minutes=moment.minute % 15)
        if slot != fetched:
            fetch(google, calendar, slot, zone, len(google.requests))
            fetched = slot
        value = entry_at(admin_client, monkeypatch, moment)["value"]
        run_every_minute_collectors()
        point = newest_points(influx, settings.INFLUXDB_DATABASE, moment)["household"]
        want = week.expected(moment)
        for field in FIELDS:
            if not value.get(field) == point.values.get(field) == want.get(field):
                local = moment.astimezone(week.BERLIN).isoformat()
                wrong.append((local, field, value.get(field), point.values.get(field),
                              want.get(field)))  # fmt: skip
        assert point.values["confidence"] == value["confidence"], moment
    assert wrong == [], "(minute, field, served, stored, expected)"
