"""The calendar's `options.base_url` (found by a fuzz run): httplib2 raised KeyError, ValueError
or UnicodeError out of the pipeline for what it cannot call, or a TransientError retried run
after run that never named the option. Now it is checked before the client is built (a failed
run naming it, no call), and httplib2's RelativeURIError is a permanent error, tried once.
Real PostgreSQL and Redis; Google on the local replay server."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.models import CollectorRun
from collectors.occupancy.google import client as google_client
from collectors.occupancy.google.connection import Tokens
from enrich.errors import Transient
from enrich.http import PermanentError
from enrich.models import OAuthConnection
from tests.occupancy.conftest import CLIENT_ID, CLIENT_SECRET
from tests.support.google import (
    ACCOUNT,
    CALENDAR_LIST,
    NOW,
    connect,
    google_answers,
    start,
    workday,
)
from tests.support.replay import unused_url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://x", "scheme is 'ftp'"),
        (["http://x"], "list, not text"),
        (123, "int, not text"),
        ("http://[::1", "not a URL"),
        ("http://☃☃..com", "not a valid name"),
        ("nota url", "spaces"),
        ("http://", "names no host"),
        ("localhost:8000", "scheme is 'localhost'"),
        ("//calendar.example.com", "no scheme"),
    ],
)
def test_a_base_url_that_is_no_http_url_is_a_failed_run_naming_it(google, calendar, url, problem):
    connect(calendar, expires_in=timedelta(minutes=40))
    calendar.options = {"base_url": url}
    calendar.save()
    outcome = pipeline.collect(calendar, now=NOW)
    run = CollectorRun.objects.get()
    assert (outcome.status, run.status, outcome.transient) == ("failed", "failed", False)
    assert run.error.startswith(f"ConfigError: google_calendar: options.base_url {url!r} is not")
    assert problem in run.error and "http:// or https://" in run.error
    assert google.calls() == []


def test_a_relative_api_root_is_a_permanent_error_tried_once(google, caplog):
    tokens = Tokens(
        access_token="ya29.a0stored-access-token",
        refresh_token="1//0gstored-refresh-token",
        expiry=datetime.now(UTC) + timedelta(hours=1),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    # What calendar_service builds from a root without a scheme (called directly, unchecked).
    request = google_client.calendar_service(tokens, "localhost:8000").calendarList().list()
    with caplog.at_level(logging.INFO, logger="enrich.http"):
        with pytest.raises(PermanentError, match="option base_url") as raised:
            google_client.execute(request)
    assert not isinstance(raised.value, Transient)
    assert "not an absolute http:// or https:// URL" in str(raised.value)
    [attempt] = [r.getMessage() for r in caplog.records if r.name == "enrich.http"]
    assert "attempt=1/2 outcome=failed" in attempt  # HTTP_MAX_RETRIES is 1: no retry
    assert google.calls() == []


@pytest.fixture
def proxied(settings, google, calendar, influx):
    """The calendar reaches Google through its option base_url (a proxy: the replay server),
    and GOOGLE_API_BASE, left at its default, is out of reach; its answers go to a database of
    the test's own."""
    calendar.options = {"base_url": google.url}
    calendar.save()
    settings.GOOGLE_API_BASE = unused_url()
    return calendar


def test_the_environment_refresh_token_learns_the_account_through_base_url(
    settings, google, proxied
):
    # The account was learnt from GOOGLE_API_BASE's calendar list, not the option's: the
    # proxied calendar failed at its first run (www.googleapis.com could not be reached).
    settings.GOOGLE_REFRESH_TOKEN = "1//0genvironment-refresh-token"
    google.add("POST", "/token", json=google.load_fixture("google/token_refresh.json"))
    google.add("GET", CALENDAR_LIST, json=google.load_fixture("google/calendar_list.json"))
    workday(google)
    outcome = pipeline.collect(proxied, now=NOW)
    assert (outcome.status, outcome.error) == ("ok", "")
    assert len(google.calls("GET", CALENDAR_LIST)) == 1
    assert OAuthConnection.objects.get(provider_config=proxied).account_email == ACCOUNT


def test_the_setup_page_reads_the_calendar_list_through_base_url(admin_client, google, proxied):
    google_answers(google)
    query = start(admin_client, proxied.site)
    response = admin_client.get(
        "/oauth/google/callback", {"state": query["state"], "code": "4/0AQlEd-test-code"}
    )
    assert response.status_code == 200, response.content.decode()
    assert len(google.calls("GET", CALENDAR_LIST)) == 1
    assert OAuthConnection.objects.get(provider_config=proxied).account_email == ACCOUNT
