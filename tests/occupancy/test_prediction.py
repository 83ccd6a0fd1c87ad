"""The occupancy rules on constructed events (pure: no I/O)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors.occupancy.google.events import CalendarEvent, horizon, parse_event
from collectors.occupancy.google.now import changes
from collectors.occupancy.google.prediction import (
    RULES,
    Rules,
    predict,
    predict_person,
    slot_start,
)

BERLIN = ZoneInfo("Europe/Berlin")
RULES_DEFAULT = Rules()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def timed(summary, start, end, location="", **kw) -> CalendarEvent:
    return CalendarEvent(summary=summary, start=at(start), end=at(end), location=location, **kw)


def all_day(summary, day, next_day, zone=BERLIN, **kw) -> CalendarEvent:
    return parse_event(
        {"summary": summary, "start": {"date": day}, "end": {"date": next_day}, **kw}, zone
    )


def working_location(kind, start, end, label=None, **kw) -> CalendarEvent:
    """Google's workingLocation event in Berlin: `kind` is homeOffice, officeLocation or
    customLocation (named by `label`); whole days, or times when `start` has one."""
    key = "dateTime" if "T" in start else "date"
    where = {"type": kind, kind: {} if label is None else {"label": label}}
    event = {"eventType": "workingLocation", "start": {key: start}, "end": {key: end}, **kw}
    return parse_event({**event, "workingLocationProperties": where}, BERLIN)


def person(events, now, zone=BERLIN, rules=RULES_DEFAULT):
    return predict_person("alex", events, at(now), zone, rules)


def test_no_events_is_the_default_home_assumption():
    p = person([], "2026-05-04T09:00:00+02:00")
    assert (p.currently_home, p.wfh_today, p.confidence, p.rule) == (
        True,
        False,
        0.5,
        "default_home",
    )
    assert p.next_arrival_time is None and p.prepare_time is None
    assert set(p.fields()) == {"currently_home", "wfh_today", "confidence"}


def test_working_location_home_office_is_the_most_explicit_home_signal():
    event = working_location("homeOffice", "2026-05-04", "2026-05-05", transparency="transparent")
    p = person([event], "2026-05-04T09:00:00+02:00")
    assert (p.currently_home, p.wfh_today, p.confidence, p.rule) == (
        True,
        True,
        0.95,
        "working_location",
    )


def test_timed_office_working_location_is_away_and_gives_the_arrival():
    event = working_location(
        "officeLocation",
        "2026-05-04T08:30:00+02:00",
        "2026-05-04T17:30:00+02:00",
        label="Alexanderplatz office",
    )
    p = person([event], "2026-05-04T09:00:00+02:00")
    assert (p.currently_home, p.confidence, p.rule, p.wfh_today) == (
        False,
        0.95,
        "working_location",
        False,
    )
    assert p.next_arrival_time == at("2026-05-04T18:00:00+02:00")  # 17:30 + 30 min travel
    assert p.prepare_time == at("2026-05-04T17:00:00+02:00")  # arrival - 60 min lead


def test_custom_working_location_naming_home_is_a_home_signal():
    event = working_location("customLocation", "2026-05-04", "2026-05-05", label="Home")
    assert person([event], "2026-05-04T12:00:00+02:00").wfh_today is True


def test_all_day_office_location_says_nothing_after_the_working_hours():
    event = working_location("officeLocation", "2026-05-04", "2026-05-05")
    p = person([event], "2026-05-04T22:00:00+02:00")
    assert (p.currently_home, p.rule, p.wfh_today) == (True, "default_home", False)


def test_out_of_office_is_away():
    ooo = timed("Out of office", "2026-05-04T00:00:00+02:00", "2026-05-05T00:00:00+02:00")
    ooo = CalendarEvent(**{**ooo.__dict__, "event_type": "outOfOffice"})
    p = person([ooo], "2026-05-04T09:00:00+02:00")
    assert (p.currently_home, p.confidence, p.rule) == (False, 0.9, "out_of_office")
    assert p.next_arrival_time == at("2026-05-05T00:30:00+02:00")


@pytest.mark.parametrize(
    "summary, location, home",
    [
        ("WFH", "", True),
        ("wfh today", "", True),
        ("Working from home", "", True),
        ("Focus", "Home", True),
        ("Homer's birthday drinks", "", False),  # whole words only
        ("WFHX planning", "", False),
    ],
)
def test_home_keywords_match_whole_words_in_any_case(summary, location, home):
    event = timed(summary, "2026-05-04T09:00:00+02:00", "2026-05-04T17:00:00+02:00", location)
    p = person([event], "2026-05-04T10:00:00+02:00")
    assert p.wfh_today is home
    assert p.rule == ("keyword" if home else "default_home")
    assert p.confidence == (0.8 if home else 0.5)


def test_keywords_are_configurable():
    rules = Rules(home_keywords=["Homeoffice"])
    event = timed("Homeoffice", "2026-05-04T09:00:00+02:00", "2026-05-04T17:00:00+02:00")
    assert person([event], "2026-05-04T10:00:00+02:00", rules=rules).rule == "keyword"
    event = timed("WFH", "2026-05-04T09:00:00+02:00", "2026-05-04T17:00:00+02:00")
    assert person([event], "2026-05-04T10:00:00+02:00", rules=rules).rule == "default_home"


def test_busy_event_elsewhere_is_away_but_free_home_online_or_no_location_is_not():
    where = "Friedrichstraße 123, 10117 Berlin"
    args = ("2026-05-04T10:00:00+02:00", "2026-05-04T11:00:00+02:00")
    away = person([timed("Dentist", *args, where)], "2026-05-04T10:30:00+02:00")
    assert (away.currently_home, away.confidence, away.rule) == (False, 0.7, "event_location")
    for event in (
        timed("Dentist", *args, where, transparent=True),  # marked free
        timed("Call", *args, "https://meet.google.com/abc-defg-hij"),
        timed("Call", *args, "Microsoft Teams Meeting"),
        timed("Deep work", *args),
        timed("Plumber", *args, "Musterstraße 1, 10115 Berlin, Germany"),  # home address
    ):
        rules = Rules(home_address="Musterstraße 1, 10115 Berlin")
        p = person([event], "2026-05-04T10:30:00+02:00", rules=rules)
        assert (p.currently_home, p.rule) == (True, "default_home"), event


def test_transparent_all_day_wfh_still_counts_as_home():
    event = all_day("WFH", "2026-05-04", "2026-05-05", transparency="transparent")
    p = person([event], "2026-05-04T08:00:00+02:00")
    assert (p.wfh_today, p.currently_home, p.rule) == (True, True, "keyword")


def test_a_timed_appointment_outranks_the_all_day_home_note_around_it():
    day = all_day("WFH", "2026-05-04", "2026-05-05")
    dentist = timed(
        "Dentist", "2026-05-04T10:00:00+02:00", "2026-05-04T11:00:00+02:00", "Praxis Dr. Weiss"
    )
    during = person([day, dentist], "2026-05-04T10:30:00+02:00")
    assert (during.currently_home, during.confidence, during.rule) == (
        False,
        0.7,
        "event_location",
    )
    after = person([day, dentist], "2026-05-04T11:30:00+02:00")
    assert (after.currently_home, after.rule, after.wfh_today) == (True, "keyword", True)


def test_conflicting_signals_of_one_kind_lower_the_confidence():
    office = timed("Client visit", "2026-05-04T09:00:00+02:00", "2026-05-04T12:00:00+02:00")
    office = CalendarEvent(**{**office.__dict__, "location": "Potsdamer Platz 1, Berlin"})
    wfh = timed("WFH", "2026-05-04T09:00:00+02:00", "2026-05-04T17:00:00+02:00")
    p = person([office, wfh], "2026-05-04T10:00:00+02:00")
    # keyword (0.8) beats event location (0.7): home, 0.5 + (0.8 - 0.7)
    assert (p.currently_home, p.rule) == (True, "keyword")
    assert p.confidence == pytest.approx(0.5 + RULES["keyword"] - RULES["event_location"])


def test_cancelled_declined_and_birthdays_are_ignored():
    base = {"start": {"dateTime": "2026-05-04T10:00:00+02:00"}}
    base["end"] = {"dateTime": "2026-05-04T11:00:00+02:00"}
    assert parse_event({**base, "status": "cancelled", "location": "Paris"}, BERLIN) is None
    assert parse_event({**base, "eventType": "birthday"}, BERLIN) is None
    declined = {
        **base,
        "location": "Paris",
        "attendees": [
            {"email": "a@example.com", "self": True, "responseStatus": "declined"},
            {"email": "b@example.com", "responseStatus": "accepted"},
        ],
    }
    assert parse_event(declined, BERLIN) is None
    accepted = {**declined, "attendees": [{"self": True, "responseStatus": "accepted"}]}
    assert parse_event(accepted, BERLIN).location == "Paris"


def test_an_invitation_not_answered_is_no_plan_but_maybe_is_going():
    """Google puts an invitation in the calendar before its answer (needsAction): not the
    person's plan, so not away; "maybe" (tentative) and accepted are going, and so is an
    event they organise whatever their own entry says."""
    sam = {"email": "sam@example.com", "organizer": True, "responseStatus": "accepted"}
    base = {"location": "Schönhauser Allee 36, Berlin", "organizer": {"email": sam["email"]}}
    base["start"] = {"dateTime": "2026-05-04T19:30:00+02:00"}
    base["end"] = {"dateTime": "2026-05-04T21:00:00+02:00"}
    for answer, going in (("needsAction", False), ("tentative", True), ("accepted", True)):
        me = {"email": "alex@example.com", "self": True, "responseStatus": answer}
        event = parse_event({**base, "attendees": [sam, me]}, BERLIN)
        assert (event is not None) is going, answer
        if going:
            assert person([event], "2026-05-04T20:00:00+02:00").currently_home is False
    mine = {**base, "organizer": {"email": "alex@example.com", "self": True}}
    me = {"email": "alex@example.com", "self": True, "responseStatus": "needsAction"}
    guest = {"email": "sam@example.com", "responseStatus": "needsAction"}
    assert parse_event({**mine, "attendees": [me, guest]}, BERLIN) is not None


def test_an_all_day_event_at_a_place_is_away_also_when_free():
    """Google makes an all-day event free unless told otherwise: a day trip entered as one is
    away all day (a timed free event at a place still is not: the person said so)."""
    trip = all_day(
        "Day trip to Hamburg", "2026-05-05", "2026-05-06", location="Hamburg",
        transparency="transparent",
    )  # fmt: skip
    p = person([trip], "2026-05-05T12:00:00+02:00")
    assert (p.currently_home, p.confidence, p.rule) == (False, 0.7, "event_location")
    assert p.next_arrival_time == at("2026-05-06T00:00:00+02:00")
    assert person([trip], "2026-05-06T00:00:00+02:00").currently_home is True


def test_no_arrival_while_another_away_event_runs_on():
    """A day trip on Tuesday and a vacation from Wednesday: nobody arrives at midnight, the
    person comes home when the vacation ends (and prepares an hour before that, not at 23:00
    on Tuesday); a night out back before the next morning's appointment still arrives."""
    trip = all_day("Trip", "2026-05-05", "2026-05-06", eventType="outOfOffice")
    vacation = all_day("Vacation", "2026-05-06", "2026-05-09", eventType="outOfOffice")
    for moment in ("2026-05-04T20:00:00+02:00", "2026-05-05T12:00:00+02:00"):
        p = person([trip, vacation], moment)
        assert p.next_arrival_time == at("2026-05-09T00:00:00+02:00"), moment
        assert p.prepare_time == at("2026-05-08T23:00:00+02:00"), moment
    flight = timed("Flight", "2026-05-04T22:00:00+02:00", "2026-05-05T01:00:00+02:00", "BER")
    p = person([flight, trip, vacation], "2026-05-04T23:00:00+02:00")
    assert p.next_arrival_time == at("2026-05-09T00:00:00+02:00")  # the way home: on the trip
    night = timed("Bar", "2026-05-04T21:00:00+02:00", "2026-05-04T23:00:00+02:00", "Bar 1")
    early = timed("Gym", "2026-05-05T07:00:00+02:00", "2026-05-05T08:00:00+02:00", "Gym 1")
    assert person([night, early], "2026-05-04T22:00:00+02:00").next_arrival_time == at(
        "2026-05-04T23:30:00+02:00"
    )


def test_all_day_end_date_is_exclusive_in_the_site_time_zone():
    trip = all_day("Trip", "2026-05-02", "2026-05-04", eventType="outOfOffice")
    assert trip.start == at("2026-05-02T00:00:00+02:00")
    assert trip.end == at("2026-05-04T00:00:00+02:00")
    assert person([trip], "2026-05-03T23:59:00+02:00").currently_home is False
    back = person([trip], "2026-05-04T00:00:00+02:00")
    assert (back.currently_home, back.rule) == (True, "default_home")


def test_an_all_day_trip_arrives_when_presence_turns_home():
    """The calendar says nothing of the way back from an all-day absence: presence turns home
    at its end, and so does the arrival (it said 00:30, still ahead while the person was home
    from midnight); a timed event the same day ending later still adds the way home."""
    trip = all_day("Trip", "2026-05-02", "2026-05-04", eventType="outOfOffice")
    for moment in ("2026-05-03T12:00:00+02:00", "2026-05-03T23:59:00+02:00"):
        away = person([trip], moment)
        assert away.currently_home is False
        assert away.next_arrival_time == at("2026-05-04T00:00:00+02:00"), moment
        assert away.prepare_time == at("2026-05-03T23:00:00+02:00"), moment
    for moment in ("2026-05-04T00:00:00+02:00", "2026-05-04T00:10:00+02:00"):
        home = person([trip], moment)
        assert (home.currently_home, home.next_arrival_time) == (True, None), moment
    flight = timed("Flight", "2026-05-03T21:00:00+02:00", "2026-05-03T23:45:00+02:00", "BER")
    late = person([trip, flight], "2026-05-03T22:00:00+02:00")
    assert late.next_arrival_time == at("2026-05-04T00:15:00+02:00")


def test_the_same_instant_is_a_different_day_in_another_time_zone():
    new_york = ZoneInfo("America/New_York")
    instant = at("2026-05-04T02:00:00+00:00")  # 04:00 in Berlin, 22:00 the day before in NY
    wfh = all_day("WFH", "2026-05-04", "2026-05-05", zone=new_york)
    ny = predict_person("alex", [wfh], instant, new_york, RULES_DEFAULT)
    assert ny.wfh_today is False  # in New York it is still 3 May
    wfh_berlin = all_day("WFH", "2026-05-04", "2026-05-05")
    assert predict_person("alex", [wfh_berlin], instant, BERLIN, RULES_DEFAULT).wfh_today


def test_horizon_on_the_dst_day_is_23_plus_24_hours():
    start, end = horizon(at("2026-03-29T07:30:00+00:00"), BERLIN)
    assert start.isoformat() == "2026-03-29T00:00:00+01:00"
    assert end.isoformat() == "2026-03-31T00:00:00+02:00"  # today and all of tomorrow
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23 + 24)
    start, end = horizon(at("2026-10-25T07:30:00+00:00"), BERLIN)  # clocks go back
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25 + 24)


def test_a_day_whose_midnight_the_clock_skips_or_repeats_runs_from_its_first_instant():
    """Santiago goes from 23:59:59 (-04) to 01:00 (-03) on 6 September 2026: that day starts at
    04:00 UTC. Havana reads midnight twice on 1 November 2026 (00:59 -04 -> 00:00 -05): that
    day starts at the first, 04:00 UTC. A WFH day counts from then to the next day's start,
    and the new day is an edge of the predictions."""
    santiago, havana = ZoneInfo("America/Santiago"), ZoneInfo("America/Havana")
    wfh = all_day("WFH", "2026-09-06", "2026-09-07", zone=santiago)
    assert (wfh.start, wfh.end) == (
        at("2026-09-06T04:00:00+00:00"),
        at("2026-09-07T03:00:00+00:00"),
    )

    def today(moment: str, event=wfh, zone=santiago) -> bool:
        return predict_person("alex", [event], at(moment), zone, RULES_DEFAULT).wfh_today

    assert not today("2026-09-06T03:59:59+00:00") and today("2026-09-06T04:00:00+00:00")
    assert today("2026-09-07T02:59:59+00:00") and not today("2026-09-07T03:00:00+00:00")
    start, end = horizon(at("2026-09-06T12:00:00+00:00"), santiago)
    assert (start.astimezone(UTC), end.astimezone(UTC) - start) == (
        at("2026-09-06T04:00:00+00:00"), timedelta(hours=23 + 24))  # fmt: skip
    people, _ = predict({"alex": [wfh]}, at("2026-09-05T20:00:00+00:00"), santiago, RULES_DEFAULT)
    assert at("2026-09-06T04:00:00+00:00") in changes(people, at("2026-09-05T20:00:00+00:00"),
                                                      santiago, end)  # fmt: skip
    home_day = all_day("Home office", "2026-11-01", "2026-11-02", zone=havana)
    assert (home_day.start, home_day.end) == (
        at("2026-11-01T04:00:00+00:00"),
        at("2026-11-02T05:00:00+00:00"),
    )
    assert not today("2026-11-01T03:59:59+00:00", home_day, havana)
    assert today("2026-11-01T04:30:00+00:00", home_day, havana)  # the first 00:30


def test_arrival_is_after_the_last_away_event_of_the_next_away_day():
    events = [
        timed("Dentist", "2026-05-04T10:00:00+02:00", "2026-05-04T11:00:00+02:00", "Praxis"),
        timed("Climbing", "2026-05-04T18:00:00+02:00", "2026-05-04T20:00:00+02:00", "Halle"),
        timed("Standup", "2026-05-05T09:00:00+02:00", "2026-05-05T10:00:00+02:00", "Office"),
    ]
    morning = person(events, "2026-05-04T08:00:00+02:00")
    assert morning.next_arrival_time == at("2026-05-04T20:30:00+02:00")
    assert morning.prepare_time == at("2026-05-04T19:30:00+02:00")
    late = person(events, "2026-05-04T21:00:00+02:00")  # today's are over: tomorrow morning
    assert late.next_arrival_time == at("2026-05-05T10:30:00+02:00")
    rules = Rules(travel_minutes=45, lead_minutes=90)
    custom = person(events, "2026-05-04T21:00:00+02:00", rules=rules)
    assert custom.next_arrival_time == at("2026-05-05T10:45:00+02:00")
    assert custom.prepare_time == at("2026-05-05T09:15:00+02:00")


def test_on_the_way_home_is_away_until_the_arrival():
    """From an away event's end until the arrival travel_minutes later the person is on the way:
    away, by the away event's rule (before, home the minute the event ended, while the next
    arrival said 30 minutes later)."""
    climbing = timed("Climbing", "2026-05-04T18:00:00+02:00", "2026-05-04T20:00:00+02:00", "Halle")
    for minute in ("20:00", "20:10", "20:29"):
        p = person([climbing], f"2026-05-04T{minute}:00+02:00")
        assert (p.currently_home, p.confidence, p.rule) == (False, 0.7, "event_location"), minute
        assert p.next_arrival_time == at("2026-05-04T20:30:00+02:00"), minute
    home = person([climbing], "2026-05-04T20:30:00+02:00")
    assert (home.currently_home, home.rule, home.next_arrival_time) == (True, "default_home", None)
    quick = person([climbing], "2026-05-04T20:10:00+02:00", rules=Rules(travel_minutes=5))
    assert quick.currently_home is True  # home at 20:05


def test_on_the_way_back_from_an_appointment_on_a_home_day_is_away():
    """The way home from the dentist is timed, so it outranks the all-day WFH note as the
    appointment did; a timed home event starting at once (a call at home) is home."""
    wfh = all_day("WFH", "2026-05-04", "2026-05-05")
    dentist = timed("Dentist", "2026-05-04T10:00:00+02:00", "2026-05-04T11:00:00+02:00", "Praxis")
    p = person([wfh, dentist], "2026-05-04T11:15:00+02:00")
    assert (p.currently_home, p.rule) == (False, "event_location")
    assert person([wfh, dentist], "2026-05-04T11:30:00+02:00").currently_home is True
    call = timed("Call HOME", "2026-05-04T11:00:00+02:00", "2026-05-04T12:00:00+02:00")
    assert person([wfh, dentist, call], "2026-05-04T11:15:00+02:00").rule == "keyword"


def test_household_is_home_when_anyone_is():
    now = at("2026-05-04T10:00:00+02:00")
    office = timed("Office", "2026-05-04T08:30:00+02:00", "2026-05-04T17:30:00+02:00", "HQ")
    wfh = all_day("WFH", "2026-05-04", "2026-05-05")
    people, household = predict({"alex": [office], "sam": [wfh]}, now, BERLIN, RULES_DEFAULT)
    assert [p.currently_home for p in people] == [False, True]
    assert household.person == "household"
    assert (household.currently_home, household.wfh_today, household.confidence) == (
        True,
        True,
        0.8,
    )
    assert household.next_arrival_time is None  # sam stays home: the house stays occupied


def test_household_away_takes_the_earliest_arrival_and_the_weakest_confidence():
    now = at("2026-05-04T10:00:00+02:00")
    alex = [timed("Office", "2026-05-04T08:30:00+02:00", "2026-05-04T17:30:00+02:00", "HQ")]
    sam = [
        CalendarEvent(
            summary="Out of office",
            start=at("2026-05-04T00:00:00+02:00"),
            end=at("2026-05-04T16:00:00+02:00"),
            event_type="outOfOffice",
        )
    ]
    _, household = predict({"alex": alex, "sam": sam}, now, BERLIN, RULES_DEFAULT)
    assert (household.currently_home, household.confidence) == (False, 0.7)
    assert household.next_arrival_time == at("2026-05-04T16:30:00+02:00")
    assert household.prepare_time == at("2026-05-04T15:30:00+02:00")


def test_slots_are_15_minutes_so_reruns_overwrite():
    assert slot_start(at("2026-05-04T07:44:59+00:00")) == datetime(2026, 5, 4, 7, 30, tzinfo=UTC)
    assert slot_start(at("2026-05-04T09:45:00+02:00")) == datetime(2026, 5, 4, 7, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    "item, problem",
    [
        ({"start": {}, "end": {"date": "2026-05-05"}}, "neither 'dateTime' nor 'date'"),
        ({"start": {"dateTime": "2026-05-04T10:00:00"}, "end": {}}, "no UTC offset"),
        (
            {"start": {"date": "2026-05-05"}, "end": {"date": "2026-05-04"}},
            "before it starts",
        ),
        ("not an event", "not an object"),
    ],
)
def test_unreadable_events_say_what_is_wrong(item, problem):
    with pytest.raises(ValueError, match=problem):
        parse_event(item, BERLIN)
