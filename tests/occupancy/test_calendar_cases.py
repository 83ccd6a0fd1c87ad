"""What a fetch writes for the calendars people keep: Google Calendar v3 events as the API
lists them (all-day and timed, other zones, midnight and DST, free, invitations and their
answers, status events, cancelled instances, pages), played by the local replay server and
read through the real google-api-python-client. Each test states the points of the person
(site Berlin flat, Europe/Berlin) from the fetch's slot on: the fetch's own and those the
minute task writes at each later moment of the answer (now.readings of its `changes`)."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.occupancy.google import now as ahead
from tests.support import google
from tests.support.beat import run_every_minute_collectors
from tests.support.google import ACCOUNT, PRIMARY, connect, entry_at, newest_points

ME = {"email": ACCOUNT, "self": True}
BOSS = {"email": "boss@example.com", "displayName": "Boss"}


def event(id_, summary, start, end, **fields) -> dict:
    """An event as events.list gives it: `date` for a day (YYYY-MM-DD), else `dateTime`."""

    def when(value: str) -> dict:
        if len(value) == 10:
            return {"date": value}
        return {"dateTime": value, "timeZone": "Europe/Berlin"}

    return {
        "kind": "calendar#event",
        "id": id_,
        "status": "confirmed",
        "summary": summary,
        "eventType": "default",
        "start": when(start),
        "end": when(end),
        **fields,
    }


def points(server, items, now: str, **options) -> list[tuple[str, dict]]:
    """(UTC time, fields) of each point of the person from the fetch's slot on."""
    server.add(
        "GET",
        PRIMARY,
        json={"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": items},
        times=1,
    )
    _, result = google.run(server, datetime.fromisoformat(now), **options)
    written = list(result.readings)
    for change in result.current[ahead.CHANGES]:
        moment = datetime.fromisoformat(change["time"])
        if moment > datetime.fromisoformat(now):
            written += ahead.readings(change, moment, "Berlin flat")
    return [
        (r.time.astimezone(UTC).strftime("%m-%d %H:%M"), r.fields)
        for r in sorted(written, key=lambda r: r.time)
        if r.tags["person"] == ACCOUNT
    ]


def timeline(written) -> str:
    """Where the person is at each time of `points`: "05-04 07:45 home, 08:00 away, ..."."""
    shown, day = [], ""
    for moment, fields in written:
        date, clock = moment.split()
        shown.append(
            f"{date + ' ' if date != day else ''}{clock} {'home' if fields['currently_home'] else 'away'}"
        )
        day = date
    return ", ".join(shown)


def presence(written) -> dict:
    """currently_home at each UTC time of `points`."""
    return {moment: fields["currently_home"] for moment, fields in written}


def answer(home: bool, wfh: bool, confidence: float, arrival="", prepare="") -> dict:
    """A point's fields; the arrival and the time to prepare for it when there is one."""
    times = {"next_arrival_time": arrival, "prepare_time": prepare} if arrival else {}
    return {"currently_home": home, "wfh_today": wfh, "confidence": confidence, **times}


DEFAULT = answer(True, False, 0.5)


def test_an_all_day_event_at_a_place_is_away_to_its_midnight_and_without_place_nothing(
    replay_server,
):
    items = [
        event("fair", "Trade fair", "2026-05-04", "2026-05-05", location="Messe München"),
        event("rest", "Rest day", "2026-05-05", "2026-05-06"),  # no place: no signal
    ]
    written = points(replay_server, items, "2026-05-04T08:05:00+00:00")
    assert written[0] == (
        "05-04 08:00",
        answer(False, False, 0.7, "2026-05-05T00:00:00+02:00", "2026-05-04T23:00:00+02:00"),
    )
    # Home at the local midnight the fair ends (no way home added to an all-day event);
    # Tuesday's rest day says nothing.
    assert ("05-04 22:00", DEFAULT) in written
    assert presence(written)["05-04 22:00"] is True


def test_a_multi_day_trip_is_away_throughout_and_arrives_at_its_end_date(replay_server):
    items = [event("ski", "Ski trip", "2026-05-02", "2026-05-08", location="Zermatt")]
    written = points(replay_server, items, "2026-05-04T08:05:00+00:00")
    assert {fields["currently_home"] for _, fields in written} == {False}
    assert {fields["next_arrival_time"] for _, fields in written} == {"2026-05-08T00:00:00+02:00"}


def test_an_event_in_another_zone_is_at_its_instant(replay_server):
    # 04:00-05:00 in New York is 10:00-11:00 in Berlin: away from 08:00 UTC, home at 09:30.
    items = [
        event("ny", "Call with NY office", "2026-05-04T04:00:00-04:00",
              "2026-05-04T05:00:00-04:00", location="Alexanderplatz 1, Berlin"),
    ]  # fmt: skip
    written = points(replay_server, items, "2026-05-04T07:50:00+00:00")
    assert timeline(written) == "05-04 07:45 home, 08:00 away, 09:00 away, 09:30 home, 22:00 home"
    assert written[0][1]["next_arrival_time"] == "2026-05-04T11:30:00+02:00"


def test_a_night_out_over_the_dst_change_arrives_at_its_instant(replay_server):
    # 25 October 2026: Berlin's clocks go from 03:00 CEST back to 02:00 CET. The shift runs
    # 01:30 CEST (23:30 UTC) to 02:30 CET (01:30 UTC): two hours, home at 03:00 CET.
    items = [
        event("shift", "Night shift", "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+01:00",
              location="Charité, Berlin"),
    ]  # fmt: skip
    written = points(replay_server, items, "2026-10-24T23:00:00+00:00")
    # 23:00 UTC on the 25th: Monday's midnight, CET.
    assert (
        timeline(written)
        == "10-24 23:00 home, 23:30 away, 10-25 01:30 away, 02:00 home, 23:00 home"
    )
    assert written[0][1]["next_arrival_time"] == "2026-10-25T03:00:00+01:00"


def test_a_free_timed_event_at_a_place_is_no_away_signal(replay_server):
    items = [
        event("gym", "Gym (maybe)", "2026-05-04T09:00:00+02:00", "2026-05-04T11:00:00+02:00",
              location="McFit, Berlin", transparency="transparent"),
    ]  # fmt: skip
    written = points(replay_server, items, "2026-05-04T07:05:00+00:00")
    assert written == [("05-04 07:00", DEFAULT), ("05-04 22:00", DEFAULT)]


# A home keyword in a place's name or a title: the place is where the person is. Each was
# home (keyword, 0.8) and a day of working from home.
ELSEWHERE = {
    "Shopping": "The Home Depot, 1 Main St, Springfield",
    "Home Depot run": "The Home Depot, 1 Main St, Springfield",
    "Visit Grandma": "Sunrise Nursing Home, Oak Street 12, Berlin",
    "Home game": "Allianz Arena, Werner-Heisenberg-Allee 25, München",
}
# Home named as the place, or as the address configured, or in the title only.
AT_HOME = {"Focus": "Home", "Deep work": "home office", "WFH": "", "WFH at home": "Musterstraße 1"}


@pytest.mark.parametrize(
    "summary, location, home",
    [*((*case, False) for case in ELSEWHERE.items()), *((*case, True) for case in AT_HOME.items())],
)
def test_where_an_event_takes_place_outranks_a_home_word(replay_server, summary, location, home):
    item = event("e", summary, "2026-05-04T09:00:00+02:00", "2026-05-04T11:00:00+02:00",
                 location=location)  # fmt: skip
    written = points(
        replay_server, [item], "2026-05-04T07:05:00+00:00", home_address="Musterstraße 1"
    )
    now = written[0][1]
    assert (now["currently_home"], now["wfh_today"]) == (home, home)
    assert now["confidence"] == (0.8 if home else 0.7)


def invitation(answer: str | None, attendees=None) -> dict:
    listed = [{**BOSS, "organizer": True, "responseStatus": "accepted"}]
    listed += attendees if attendees is not None else [{**ME, "responseStatus": answer}]
    return event(
        "offsite", "Offsite", "2026-05-04T09:00:00+02:00", "2026-05-04T11:00:00+02:00",
        location="Hotel Adlon, Berlin", organizer=BOSS, attendees=listed,
    )  # fmt: skip


def test_invitations_count_when_accepted_or_maybe_not_declined_or_unanswered(replay_server):
    for answer, going in [
        ("accepted", True), ("tentative", True), ("declined", False), ("needsAction", False)
    ]:  # fmt: skip
        written = points(replay_server, [invitation(answer)], "2026-05-04T06:35:00+00:00")
        assert presence(written)["05-04 06:30"] is True
        assert presence(written).get("05-04 07:00", True) is not going, answer


def test_an_invitation_through_a_group_not_answered_is_no_plan(replay_server):
    # Invited as a member of team@: Google lists the group, not the calendar (no `self`
    # entry), until the invitation is answered. It was counted as going: away 09:00-11:30.
    group = [{"email": "team@example.com", "displayName": "Team", "responseStatus": "needsAction"}]
    written = points(replay_server, [invitation(None, group)], "2026-05-04T06:35:00+00:00")
    assert written == [("05-04 06:30", DEFAULT), ("05-04 22:00", DEFAULT)]


def test_an_invitation_through_a_group_answered_counts(replay_server):
    # Answering adds the person beside the group, as `self`.
    attendees = [
        {"email": "team@example.com", "responseStatus": "needsAction"},
        {**ME, "responseStatus": "accepted"},
    ]
    written = points(replay_server, [invitation(None, attendees)], "2026-05-04T06:35:00+00:00")
    assert presence(written)["05-04 07:00"] is False


def test_own_events_with_guests_imports_and_events_whose_guests_google_left_out_count(
    replay_server,
):
    mine = {**invitation(None, [{"email": "kim@example.com", "responseStatus": "accepted"}]),
            "organizer": {**ME}}  # fmt: skip
    omitted = {**invitation(None, []), "attendeesOmitted": True}
    imported = {**invitation(None, []), "privateCopy": True}
    for item in (mine, omitted, imported):
        written = points(replay_server, [item], "2026-05-04T06:35:00+00:00")
        assert presence(written)["05-04 07:00"] is False


def status(id_, kind, start, end, **fields) -> dict:
    return {**event(id_, kind, start, end), "eventType": kind, **fields}


def test_out_of_office_is_away_and_focus_time_says_nothing(replay_server):
    items = [
        status("focus", "focusTime", "2026-05-04T09:00:00+02:00", "2026-05-04T11:00:00+02:00",
               focusTimeProperties={"chatStatus": "doNotDisturb"}),
        status("ooo", "outOfOffice", "2026-05-05T00:00:00+02:00", "2026-05-06T00:00:00+02:00",
               outOfOfficeProperties={"autoDeclineMode": "declineNone"}),
    ]  # fmt: skip
    written = points(replay_server, items, "2026-05-04T07:05:00+00:00")
    assert written[0] == (
        "05-04 07:00",
        answer(True, False, 0.5, "2026-05-06T00:30:00+02:00", "2026-05-05T23:30:00+02:00"),
    )
    tuesday = dict(written)["05-04 22:00"]
    assert (tuesday["currently_home"], tuesday["confidence"]) == (False, 0.9)


def working(id_, start, end, kind, **place) -> dict:
    properties = {"type": kind, kind: place}
    return {**event(id_, "Working location", start, end), "eventType": "workingLocation",
            "transparency": "transparent", "visibility": "public",
            "workingLocationProperties": properties}  # fmt: skip


def test_a_home_office_day_is_home_and_a_split_day_is_away_at_the_office(replay_server):
    items = [
        working("home", "2026-05-04", "2026-05-05", "homeOffice"),
        working("hq", "2026-05-04T13:00:00+02:00", "2026-05-04T17:00:00+02:00",
                "officeLocation", label="Berlin HQ"),
    ]  # fmt: skip
    written = points(replay_server, items, "2026-05-04T07:05:00+00:00")
    assert written[0] == (
        "05-04 07:00",
        answer(True, True, 0.95, "2026-05-04T17:30:00+02:00", "2026-05-04T16:30:00+02:00"),
    )
    assert timeline(written) == "05-04 07:00 home, 11:00 away, 15:00 away, 15:30 home, 22:00 home"


def test_a_cancelled_instance_of_a_recurring_event_is_no_plan(replay_server):
    item = {
        **event("standup_20260504T080000Z", "Standup", "2026-05-04T10:00:00+02:00",
                "2026-05-04T11:00:00+02:00", location="Office, Friedrichstraße 1, Berlin"),
        "status": "cancelled", "recurringEventId": "standup",
        "originalStartTime": {"dateTime": "2026-05-04T10:00:00+02:00"},
    }  # fmt: skip
    written = points(replay_server, [item], "2026-05-04T07:05:00+00:00")
    assert written == [("05-04 07:00", DEFAULT), ("05-04 22:00", DEFAULT)]


def test_an_all_day_office_day_is_away_for_the_working_hours(replay_server):
    # Google's usual working location: all day, one day, holding for the working hours the
    # API does not give. It was no signal: home (0.5) all day, no arrival to pre-heat for.
    items = [working("hq", "2026-05-04", "2026-05-05", "officeLocation", label="Berlin HQ")]
    written = points(replay_server, items, "2026-05-04T06:05:00+00:00")
    assert written[0] == (
        "05-04 06:00",
        answer(True, False, 0.5, "2026-05-04T17:30:00+02:00", "2026-05-04T16:30:00+02:00"),
    )
    assert dict(written)["05-04 07:00"] == answer(
        False, False, 0.95, "2026-05-04T17:30:00+02:00", "2026-05-04T16:30:00+02:00"
    )
    assert timeline(written) == "05-04 06:00 home, 07:00 away, 15:00 away, 15:30 home, 22:00 home"


def test_working_hours_set_when_an_all_day_working_location_elsewhere_is_away(replay_server):
    items = [working("client", "2026-05-04", "2026-05-05", "customLocation", label="Client")]
    written = points(replay_server, items, "2026-05-04T04:05:00+00:00", working_hours="07:30-15:00")
    assert timeline(written) == "05-04 04:00 home, 05:30 away, 13:00 away, 13:30 home, 22:00 home"
    assert written[0][1]["next_arrival_time"] == "2026-05-04T15:30:00+02:00"
    # A night shift's hours end the next morning.
    written = points(replay_server, items, "2026-05-04T04:05:00+00:00", working_hours="22:00-06:00")
    assert (
        timeline(written)
        == "05-04 04:00 home, 20:00 away, 22:00 away, 22:30 away, 05-05 04:00 away, 04:30 home"
    )


@pytest.mark.django_db
@pytest.mark.influxdb
def test_an_office_day_in_influxdb_and_the_api(
    influx, google, calendar, admin_client, monkeypatch, settings
):
    """Through the pipeline: the fetch at 08:00 (Berlin), then beat's minute task at 09:00,
    when the working hours start, and at 17:30, when the way home ends."""
    connect(calendar, expires_in=timedelta(hours=1))
    items = [working("hq", "2026-05-04", "2026-05-05", "officeLocation", label="Berlin HQ")]
    google.add("GET", PRIMARY, json={"kind": "calendar#events", "items": items})
    assert pipeline.collect(calendar, now=datetime(2026, 5, 4, 6, 0, tzinfo=UTC)).status == "ok"
    for moment, home in [(datetime(2026, 5, 4, 7, 0, tzinfo=UTC), False),
                         (datetime(2026, 5, 4, 15, 30, tzinfo=UTC), True)]:  # fmt: skip
        entry = entry_at(admin_client, monkeypatch, moment)
        run_every_minute_collectors()
        assert (entry["time"], entry["value"]["currently_home"]) == (moment.isoformat(), home)
        point = newest_points(influx, settings.INFLUXDB_DATABASE, moment)["household"]
        assert (point.time, point.values["currently_home"]) == (moment, home)
        assert point.values.get("next_arrival_time") == (
            None if home else "2026-05-04T17:30:00+02:00"
        )
