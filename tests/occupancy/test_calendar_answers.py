"""Google Calendar answers no calendar sends (found by fuzzing): each is a MalformedResponse,
or the error class enrich.http would give, naming what is wrong, not an exception out of
the rules or google-api-python-client, and not a page loop that never ends.

Through the real google-api-python-client and google-auth, against the local replay server."""

import re
from datetime import UTC, datetime

import pytest

from enrich.http import MalformedResponse, PermanentError, TransientError, counting
from enrich.models import OAuthConnection
from tests.support import google
from tests.support.google import ACCOUNT, CALENDAR_LIST, PRIMARY, start

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # 10:00 in Berlin
EVENT = {
    "id": "e1",
    "status": "confirmed",
    "summary": "Dentist",
    "location": "Praxis Dr. Weiss, Torstr. 1, Berlin",
    "start": {"dateTime": "2026-05-04T09:30:00+02:00"},
    "end": {"dateTime": "2026-05-04T11:00:00+02:00"},
}


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1


def run(server, now):
    """The adapter's fetch for the Berlin flat at `now`, its access token still valid."""
    return google.run(server, now)[1]


def malformed_event(server, problem, **fields):
    server.add("GET", PRIMARY, json={"items": [{**EVENT, **fields}]})
    with pytest.raises(MalformedResponse, match=problem):
        run(server, NOW)


def test_the_base_event_gives_an_away_prediction(replay_server):
    # The cases below change one field of it.
    replay_server.add("GET", PRIMARY, json={"items": [EVENT]})
    result = run(replay_server, NOW)
    people = {r.tags["person"]: r.fields for r in result.readings}
    assert people[ACCOUNT]["currently_home"] is False
    assert people[ACCOUNT]["next_arrival_time"] == "2026-05-04T11:30:00+02:00"


WORKING = {"eventType": "workingLocation", "summary": "Working location"}


@pytest.mark.parametrize(
    "fields, problem",
    [
        # each was a TypeError or AttributeError out of parse_event
        ({"attendees": 5}, "event e1 attendees is not a list of objects"),
        ({**WORKING, "workingLocationProperties": {"type": "customLocation",
          "customLocation": "Home"}},
         "event e1 workingLocationProperties.customLocation is str 'Home', not an object"),
        ({**WORKING, "workingLocationProperties": {"type": "officeLocation",
          "officeLocation": ["HQ"]}},
         r"event e1 workingLocationProperties.officeLocation is list \['HQ'\], not an object"),
        # each was read as something it is not (a dict's keys, str() of a list or a number)
        ({"attendees": {"self": True, "responseStatus": "declined"}},
         "event e1 attendees is not a list of objects"),
        ({"attendees": ["alex.morgan@example.com"]}, "event e1 attendees is not a list"),
        ({**WORKING, "workingLocationProperties": {"type": ["homeOffice"]}},
         "event e1 workingLocationProperties.type is list"),
        ({**WORKING, "workingLocationProperties": {"type": "customLocation",
          "customLocation": {"label": {"text": "Home"}}}},
         "event e1 workingLocationProperties.customLocation.label is dict"),
        ({"summary": {"text": "WFH"}}, "event e1 summary is dict .*, not text"),
        ({"location": 5}, "event e1 location is int 5, not text"),
        ({"status": ["cancelled"]}, "event e1 status is list"),
    ],
)  # fmt: skip
def test_an_event_field_of_another_shape_is_malformed_and_named(replay_server, fields, problem):
    malformed_event(replay_server, problem, **fields)


@pytest.mark.parametrize(
    "fields, problem",
    [
        # OverflowError converting to UTC (year 1 east of UTC, year 9999 west of it)
        ({"start": {"dateTime": "0001-01-01T00:30:00+05:00"}},
         r"event e1 start.dateTime '0001-01-01T00:30:00\+05:00' is outside the years 1678-2261"),
        ({"end": {"dateTime": "9999-12-31T23:00:00-05:00"}},
         "event e1 end.dateTime '9999-12-31T23:00:00-05:00' is outside the years 1678-2261"),
        ({"start": {"date": "0001-01-01"}, "end": {"date": "2026-05-05"}},
         "event e1 start.date '0001-01-01' is outside the years 1678-2261"),
        # OverflowError adding the travel time to the end of the away event
        ({"end": {"dateTime": "9999-12-31T23:50:00+00:00"}},
         r"event e1 end.dateTime '9999-12-31T23:50:00\+00:00' is outside the years 1678-2261"),
        # written as an arrival in year 9999
        ({"start": {"date": "2026-05-04"}, "end": {"date": "9999-12-31"}},
         "event e1 end.date '9999-12-31' is outside the years 1678-2261"),
        # a ValueError that named no field
        ({"start": {"dateTime": "tomorrow 9:30"}},
         "event e1 start.dateTime 'tomorrow 9:30' is not an ISO 8601 time"),
    ],
)  # fmt: skip
def test_event_times_no_calendar_holds_are_malformed_and_named(replay_server, fields, problem):
    malformed_event(replay_server, problem, **fields)


@pytest.mark.parametrize("answer", [{}, {"kind": "calendar#events", "nextPageToken": None}])
def test_an_events_answer_without_items_is_malformed(replay_server, answer):
    # events.list always sends `items` (empty when nothing matches): this was the default
    # prediction, "home" at 0.5, as if the calendar were empty.
    replay_server.add("GET", PRIMARY, json=answer)
    with pytest.raises(MalformedResponse, match="the events page has no 'items'"):
        run(replay_server, NOW)


@pytest.mark.parametrize(
    "tokens, calls",
    [(["again", "again"], 2), (["a", "b", "a"], 3)],
    ids=["the-same-token", "a-cycle"],
)
def test_a_page_token_handed_out_again_is_malformed_not_followed(replay_server, tokens, calls):
    # Served forever, the same token looped forever; here the pages end after it comes back,
    # so the old code's "success" ends too.
    replay_server.add("GET", PRIMARY, json={"items": [], "nextPageToken": tokens[0]})
    for asked, given in zip(tokens, [*tokens[1:], None], strict=True):
        page = {"items": [EVENT] if given is None else [], "nextPageToken": given}
        replay_server.add("GET", PRIMARY, json=page, query={"pageToken": asked}, times=1)
    problem = f"the events page: the nextPageToken of page {calls} was handed out before"
    with pytest.raises(MalformedResponse, match=problem):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == calls


def test_more_than_twenty_pages_is_malformed(replay_server):
    replay_server.add("GET", PRIMARY, json={"items": [], "nextPageToken": "p1"})
    for n in range(1, 25):
        page = {"items": [], "nextPageToken": f"p{n + 1}" if n < 24 else None}
        replay_server.add("GET", PRIMARY, json=page, query={"pageToken": f"p{n}"})
    with pytest.raises(MalformedResponse, match="the events page: more than 20 pages"):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == 20


def test_a_page_token_that_is_no_text_is_malformed(replay_server):
    # {"a": 1} was sent back as pageToken=a (served forever, it looped forever)
    replay_server.add("GET", PRIMARY, json={"items": [], "nextPageToken": {"a": 1}}, times=1)
    replay_server.add("GET", PRIMARY, json={"items": []})
    with pytest.raises(MalformedResponse, match="nextPageToken should be text, got dict"):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "pages, problem",
    [
        (
            [{"items": [], "nextPageToken": "again"}] * 2,
            "the nextPageToken of page 2 was handed out",
        ),
        ([{"kind": "calendar#calendarList"}], "the calendar list has no .*items"),
    ],
)
def test_a_calendar_list_that_pages_forever_or_has_no_items_connects_nothing(
    admin_client, google, site, pages, problem
):
    google.add("POST", "/token", json=google.load_fixture("google/token_exchange.json"))
    google.add("GET", CALENDAR_LIST, json=pages[0])
    for page in pages[1:]:
        google.add("GET", CALENDAR_LIST, json=page, query={"pageToken": "again"}, times=1)
    google.add("GET", CALENDAR_LIST, json={"items": []}, query={"pageToken": "again"})
    query = start(admin_client, site)
    response = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    page = response.content.decode()
    assert response.status_code == 502, page
    assert "the calendar list could not be read" in page
    assert re.search(problem, page)
    assert not OAuthConnection.objects.exists()


def test_a_redirect_without_location_is_permanent_not_retried(replay_server):
    # httplib2's RedirectMissingLocation was retried as a TransientError; enrich.http gives a
    # PermanentError for a 3xx it cannot follow.
    replay_server.add("GET", PRIMARY, status=301, body="")
    with pytest.raises(PermanentError, match="answered HTTP 301 without a Location to follow"):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == 1


def test_a_redirect_loop_is_permanent_not_retried(replay_server):
    replay_server.add(
        "GET", PRIMARY, status=302, body="", headers={"Location": replay_server.url_for(PRIMARY)}
    )
    with pytest.raises(PermanentError, match="redirected too many times"):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == 6  # httplib2's 5 redirections, once


@pytest.mark.parametrize("location", ["ftp://files.example.com/events", "file:///etc/passwd"])
def test_a_redirect_off_http_is_permanent_not_followed(replay_server, location):
    # httplib2 raised a KeyError for the scheme, out of collect.
    replay_server.add("GET", PRIMARY, status=302, body="", headers={"Location": location})
    scheme = location.partition(":")[0]
    with pytest.raises(PermanentError, match=f"answered with a redirect to a {scheme}: URL"):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == 1


def test_a_body_that_is_not_utf8_is_malformed(replay_server):
    # UnicodeDecodeError out of google-api-python-client's JSON model
    replay_server.add(
        "GET", PRIMARY, body=b'\xff\xfe{"items": []}', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(MalformedResponse, match="the body is not UTF-8 text"):
        run(replay_server, NOW)


def test_an_answer_cut_short_is_transient_and_retried(replay_server):
    # http.client.IncompleteRead escaped: 100 bytes announced, 13 sent, connection closed.
    short = {"Content-Length": "100", "Connection": "close", "Content-Type": "application/json"}
    replay_server.add("GET", PRIMARY, body='{"items": []}', headers=short)
    with pytest.raises(TransientError, match=r"after 2 attempts \(IncompleteRead\)"):
        run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == 2


@pytest.mark.parametrize("answer", ["503", "cut short"])
def test_a_retry_is_sent_only_once_paid_for_like_enrich_http(replay_server, answer):
    # Google's own retry loop counts each attempt and asks before a retry, as enrich.http does
    # (the pipeline pays for retries from the API budget).
    if answer == "503":
        replay_server.add("GET", PRIMARY, status=503, body="backend error")
    else:
        short = {"Content-Length": "100", "Connection": "close"}
        replay_server.add("GET", PRIMARY, body='{"items": []}', headers=short)
    asked = []
    with counting(lambda: asked.append(1) or "budget used up") as attempts:
        with pytest.raises(TransientError, match=r"after 1 attempt \(budget used up, not retried"):
            run(replay_server, NOW)
    assert len(replay_server.calls("GET", PRIMARY)) == attempts.sent == 1 == len(asked)
