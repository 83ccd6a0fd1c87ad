"""The Google Calendar adapter against a local server playing Google's API and token endpoint,
through the real google-api-python-client and google-auth."""

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from collectors.base import ConfigError, Window
from collectors.occupancy.google.adapter import GoogleCalendarAdapter
from collectors.occupancy.google.connection import ReconnectNeeded
from enrich.http import (
    AuthError,
    MalformedResponse,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from tests.support.google import ACCOUNT, BERLIN, PRIMARY, creds, run, workday_pages

FAMILY_ID = "family0a1b2c@group.calendar.google.com"
FAMILY = "/calendar/v3/calendars/family0a1b2c%40group.calendar.google.com/events"


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_MAX_RETRY_AFTER_SECONDS = 1


def by_person(result):
    return {r.tags["person"]: r for r in result.readings}


def test_a_workday_over_two_pages(replay_server):
    page1 = workday_pages(replay_server)
    now = datetime(2026, 5, 4, 6, 5, tzinfo=UTC)  # 08:05 in Berlin
    target, result = run(replay_server, now)
    assert target.key == "Berlin flat"

    first, second = replay_server.calls("GET", PRIMARY)
    assert first.headers["Authorization"] == "Bearer ya29.a0current-access-token"
    # From midnight, and the events that ended in the 30 minutes before it (the way home).
    assert first.query["timeMin"] == "2026-05-03T23:30:00+02:00"
    assert first.query["timeMax"] == "2026-05-06T00:00:00+02:00"  # the end of tomorrow
    assert (first.query["singleEvents"], first.query["orderBy"]) == ("true", "startTime")
    assert first.query["maxResults"] == "250"
    assert set(first.query_all["eventTypes"]) == {
        "default",
        "focusTime",
        "outOfOffice",
        "workingLocation",
        "fromGmail",
    }
    assert "pageToken" not in first.query
    assert second.query["pageToken"] == page1["nextPageToken"]

    readings = by_person(result)
    assert set(readings) == {ACCOUNT, "household"}
    alex = readings[ACCOUNT]
    assert alex.measurement == "occupancy_prediction"
    assert alex.tags == {
        "source": "google_calendar",
        "person": ACCOUNT,
        "provider": "google_calendar",
        "site": "Berlin flat",  # every site has a household, and people may share a name
    }
    assert alex.time == datetime(2026, 5, 4, 6, 0, tzinfo=UTC)  # 15-minute slot
    # Home office all day (working location, 0.95); the dentist (10-11) and climbing (18-20)
    # are away; the declined offsite, cancelled lunch, free pickup and video call are not.
    assert alex.fields == {
        "currently_home": True,
        "wfh_today": True,
        "confidence": 0.95,
        "next_arrival_time": "2026-05-04T20:30:00+02:00",
        "prepare_time": "2026-05-04T19:30:00+02:00",
    }
    assert readings["household"].fields == alex.fields
    assert result.current["time"] == "2026-05-04T06:00:00+00:00"
    assert result.current["people"][ACCOUNT]["rule"] == "working_location"


def test_during_the_dentist_appointment_the_person_is_away(replay_server):
    workday_pages(replay_server)
    _, result = run(replay_server, datetime(2026, 5, 4, 8, 20, tzinfo=UTC))  # 10:20 local
    alex = by_person(result)[ACCOUNT]
    assert alex.fields["currently_home"] is False
    assert alex.fields["confidence"] == 0.7  # event_location
    assert result.current["people"][ACCOUNT]["rule"] == "event_location"


def test_dst_day_in_berlin(replay_server):
    replay_server.add(
        "GET", PRIMARY, json=replay_server.load_fixture("google/events_dst_berlin.json")
    )
    now = datetime(2026, 3, 29, 7, 38, tzinfo=UTC)  # 09:38 CEST, the day clocks went forward
    _, result = run(replay_server, now)
    [call] = replay_server.calls("GET", PRIMARY)
    assert call.query["timeMin"] == "2026-03-28T23:30:00+01:00"  # midnight - travel_minutes
    assert call.query["timeMax"] == "2026-03-31T00:00:00+02:00"
    alex = by_person(result)[ACCOUNT]
    # The ski trip ended with its exclusive end date (29 March, 00:00): not away any more.
    # The free all-day "WFH" still says home (keyword, 0.8); brunch 10-12 is away.
    assert alex.time == datetime(2026, 3, 29, 7, 30, tzinfo=UTC)
    assert alex.fields == {
        "currently_home": True,
        "wfh_today": True,
        "confidence": 0.8,
        "next_arrival_time": "2026-03-29T12:30:00+02:00",
        "prepare_time": "2026-03-29T11:30:00+02:00",
    }


def test_tomorrows_arrival_is_after_its_last_away_event_also_in_the_afternoon(replay_server):
    # 21:00 in Berlin, today's events are over. Tomorrow: the office standup 09:00-10:00 and a
    # client workshop 14:00-17:30. Google lists the events that overlap timeMin..timeMax:
    # asked up to noon tomorrow, it leaves the workshop out, and the arrival was 10:30.
    def event(id_, summary, location, start, end):
        return {
            "id": id_,
            "status": "confirmed",
            "summary": summary,
            "eventType": "default",
            "location": location,
            "start": {"dateTime": f"2026-05-05T{start}:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": f"2026-05-05T{end}:00+02:00", "timeZone": "Europe/Berlin"},
        }

    standup = event("standup0505", "Standup", "Office, Alexanderplatz 1, Berlin", "09:00", "10:00")
    workshop = event(
        "workshop0505", "Client workshop", "Kunde GmbH, Friedrichstraße 1, Berlin", "14:00", "17:30"
    )
    page = {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": [standup]}
    replay_server.add("GET", PRIMARY, json=page, query={"timeMax": "2026-05-05T12:00:00+02:00"})
    whole = {**page, "items": [standup, workshop]}
    replay_server.add("GET", PRIMARY, json=whole, query={"timeMax": "2026-05-06T00:00:00+02:00"})

    _, result = run(replay_server, datetime(2026, 5, 4, 19, 0, tzinfo=UTC))  # 21:00 local

    alex = by_person(result)[ACCOUNT]
    assert alex.fields["currently_home"] is True
    assert alex.fields["next_arrival_time"] == "2026-05-05T18:00:00+02:00"  # 17:30 + 30 min
    assert alex.fields["prepare_time"] == "2026-05-05T17:00:00+02:00"  # 60 min before
    assert by_person(result)["household"].fields["next_arrival_time"] == (
        "2026-05-05T18:00:00+02:00"
    )


def test_several_calendars_and_people(replay_server):
    replay_server.add(
        "GET", PRIMARY, json=replay_server.load_fixture("google/events_dst_berlin.json")
    )
    replay_server.add("GET", FAMILY, json=replay_server.load_fixture("google/events_family.json"))
    replay_server.add("GET", PRIMARY, json=replay_server.load_fixture("google/events_empty.json"))
    now = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 10:00 in Berlin
    _, result = run(
        replay_server,
        now,
        calendars=["primary", {"id": FAMILY_ID, "person": "sam"}],
        person="alex",
    )
    readings = by_person(result)
    assert set(readings) == {"alex", "sam", "household"}
    assert readings["sam"].fields["currently_home"] is False  # office working location 8:30-17:30
    assert readings["sam"].fields["next_arrival_time"] == "2026-05-04T18:00:00+02:00"
    assert readings["alex"].fields["currently_home"] is True  # no events: default assumption
    assert readings["alex"].fields["confidence"] == 0.5
    household = readings["household"].fields
    assert household["currently_home"] is True and "next_arrival_time" not in household
    assert len(replay_server.calls("GET", FAMILY)) == 1


def test_an_expired_access_token_is_renewed_before_the_call(replay_server):
    replay_server.add(
        "POST", "/token", json=replay_server.load_fixture("google/token_refresh.json")
    )
    replay_server.add("GET", PRIMARY, json=replay_server.load_fixture("google/events_empty.json"))
    expired = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC), token_expiry=expired)
    [refresh] = replay_server.calls("POST", "/token")
    form = parse_qs(refresh.text)
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["1//0gstored-refresh-token"]
    assert form["client_id"] == ["123-test.apps.googleusercontent.com"]
    [events] = replay_server.calls("GET", PRIMARY)
    assert events.headers["Authorization"] == "Bearer ya29.a0renewed-access-token"
    assert refresh.time < events.time


def test_a_401_renews_the_token_once_and_retries(replay_server):
    replay_server.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    replay_server.add("GET", PRIMARY, json=replay_server.load_fixture("google/events_empty.json"))
    replay_server.add(
        "POST", "/token", json=replay_server.load_fixture("google/token_refresh.json")
    )
    _, result = run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    assert len(result.readings) == 2
    first, second = replay_server.calls("GET", PRIMARY)
    assert first.headers["Authorization"] == "Bearer ya29.a0current-access-token"
    assert second.headers["Authorization"] == "Bearer ya29.a0renewed-access-token"


def fetch_reporting(server, now, reported: list, **options):
    """Run the adapter with a pipeline-style `on_renewed` that appends to `reported`."""
    adapter = GoogleCalendarAdapter()
    credentials = replace(creds(server, **options), on_renewed=reported.append)
    target = adapter.target(BERLIN, credentials)
    return adapter.fetch(target, credentials, Window(now - timedelta(minutes=15), now, now))


def test_a_token_renewed_on_a_401_is_reported_for_saving(replay_server):
    replay_server.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    replay_server.add("GET", PRIMARY, json=replay_server.load_fixture("google/events_empty.json"))
    replay_server.add(
        "POST", "/token", json=replay_server.load_fixture("google/token_refresh.json")
    )
    reported = []
    result = fetch_reporting(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC), reported)
    assert len(result.readings) == 2
    [renewed] = reported
    assert renewed.options["token"] == "ya29.a0renewed-access-token"
    assert renewed.options["refresh_token"] == "1//0gstored-refresh-token"  # Google kept it
    remaining = datetime.fromisoformat(renewed.options["token_expiry"]) - datetime.now(UTC)
    assert timedelta(minutes=55) < remaining <= timedelta(seconds=3599)
    assert renewed.options["account"] == ACCOUNT  # the rest is what the fetch started with
    assert renewed.on_renewed is None


def test_a_fetch_that_fails_after_renewing_still_reports_the_token(replay_server):
    replay_server.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    replay_server.add("GET", PRIMARY, status=503, body="backend error")
    replay_server.add(
        "POST", "/token", json=replay_server.load_fixture("google/token_refresh.json")
    )
    reported = []
    with pytest.raises(TransientError, match="HTTP 503"):
        fetch_reporting(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC), reported)
    [renewed] = reported
    assert renewed.options["token"] == "ya29.a0renewed-access-token"
    assert len(replay_server.calls("POST", "/token")) == 1


def test_a_token_that_was_not_renewed_is_not_reported(replay_server):
    replay_server.add("GET", PRIMARY, json=replay_server.load_fixture("google/events_empty.json"))
    reported = []
    result = fetch_reporting(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC), reported)
    assert result.readings and reported == []
    assert replay_server.calls("POST", "/token") == []


def test_invalid_grant_means_reconnect(replay_server):
    replay_server.add("GET", PRIMARY, status=401, json={"error": {"code": 401}})
    replay_server.add(
        "POST", "/token", status=400, json=replay_server.load_fixture("google/invalid_grant.json")
    )
    with pytest.raises(ReconnectNeeded, match="/oauth/google/") as caught:
        run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    assert isinstance(caught.value, AuthError)
    assert "Token has been expired or revoked" in str(caught.value)
    assert len(replay_server.calls("POST", "/token")) == 1  # invalid_grant is not retried


def test_429_waits_as_asked_then_succeeds(replay_server):
    replay_server.add(
        "GET", PRIMARY, status=429, body="slow down", headers={"Retry-After": "0"}, times=1
    )
    replay_server.add("GET", PRIMARY, json=replay_server.load_fixture("google/events_empty.json"))
    _, result = run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    assert len(replay_server.calls("GET", PRIMARY)) == 2 and result.readings


@pytest.mark.parametrize("answer", ["calendar_rate_limited", "calendar_daily_limit"])
def test_403_rate_limit_exceeded_is_a_rate_limit_not_an_auth_error(replay_server, answer):
    """Google's usage limits (rateLimitExceeded, dailyLimitExceeded) answer 403: a rate limit,
    not a refused token ("reconnect Google Calendar" would send the user the wrong way)."""
    replay_server.add(
        "GET", PRIMARY, status=403, json=replay_server.load_fixture(f"google/{answer}.json")
    )
    with pytest.raises(RateLimitedError, match="rate limiting"):
        run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    assert len(replay_server.calls("GET", PRIMARY)) == 2  # 1 + HTTP_MAX_RETRIES


def test_unknown_calendar_is_permanent_and_names_the_option(replay_server):
    replay_server.add(
        "GET", FAMILY, status=404, json={"error": {"code": 404, "message": "Not Found"}}
    )
    with pytest.raises(PermanentError, match="options 'calendars'"):
        run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC), calendars=[FAMILY_ID])
    assert len(replay_server.calls("GET", FAMILY)) == 1


def test_a_hanging_api_times_out(replay_server, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.5
    settings.HTTP_MAX_RETRIES = 0
    replay_server.add("GET", PRIMARY, json={"items": []}, delay=3)
    started = time.monotonic()
    with pytest.raises(TransientError, match="within 0.5 s"):
        run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    assert time.monotonic() - started < 3  # the timeout, not the server, ended the wait


def test_an_unreadable_event_is_malformed_and_named(replay_server):
    bad = {
        "items": [
            {"id": "broken1", "summary": "x", "start": {"dateTime": "2026-05-04T10:00"}, "end": {}}
        ]
    }
    replay_server.add("GET", PRIMARY, json=bad)
    with pytest.raises(MalformedResponse, match="event broken1 start"):
        run(replay_server, datetime(2026, 5, 4, 8, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    "options, problem",
    [
        ({"calendars": "primary"}, "options.calendars must be a non-empty list"),
        ({"calendars": [{"person": "x"}]}, "neither a calendar id"),
        ({"travel_minutes": "thirty"}, "options.travel_minutes must be a number"),
        ({"home_keywords": "WFH"}, "options.home_keywords must be a list"),
        # the person is the `person` tag of occupancy_prediction
        ({"person": "Alex\nSam"}, r"the person 'Alex\\nSam' cannot be an InfluxDB tag: a tag "
         "cannot hold a line break"),
        ({"calendars": [{"id": "x@y", "person": "C:\\"}]}, "the person 'C:.*' cannot be an "
         "InfluxDB tag: a tag cannot hold a backslash at its end"),
    ],
)  # fmt: skip
def test_bad_options_are_config_errors_naming_the_option(replay_server, options, problem):
    with pytest.raises(ConfigError, match=problem):
        GoogleCalendarAdapter().target(BERLIN, creds(replay_server, **options))


def test_nothing_connected_says_where_to_connect(replay_server):
    adapter = GoogleCalendarAdapter()
    credentials = creds(replay_server, token="", refresh_token="")
    target = adapter.target(BERLIN, credentials)
    now = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    with pytest.raises(ConfigError, match="/oauth/google/"):
        adapter.fetch(target, credentials, Window(now, now, now))
    assert replay_server.requests == []
