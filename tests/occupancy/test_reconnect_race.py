"""A person reconnects Google Calendar on the setup page while a worker's fetch is running.

The worker runs in its own thread with its own PostgreSQL connection (committed transactions,
real row locks); Google, played by the replay server, holds its answer to the worker until the
reconnect has gone through the real setup page and callback. The reconnect must win: the failing
fetch neither marks the new connection "needs reconnect" nor overwrites its tokens.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection

from collectors import pipeline
from enrich.models import OAuthConnection
from tests.support.google import NOW, PRIMARY, connect, google_answers, start, workday

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]
NEW_ACCESS, NEW_REFRESH = "ya29.a0first-access-token", "1//0gfirst-refresh-token"


def in_worker(function: Callable, *args, **kwargs) -> Future:
    def run():
        try:
            return function(*args, **kwargs)
        finally:
            db_connection.close()  # this thread's own connection

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)  # the thread ends with the task
    return future


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker never called Google"
        time.sleep(0.02)


def reconnect(admin_client, site) -> None:
    """What a person does on /oauth/google/: connect, consent, back to the callback."""
    query = start(admin_client, site)
    callback = {"state": query["state"], "code": "4/0AQlEd-test-code"}
    assert admin_client.get("/oauth/google/callback", callback).status_code == 200


def fetch_while_reconnecting(calendar, google, admin_client, site, held: threading.Event):
    """The worker's fetch, with the person's reconnect made while Google holds its answer
    (until `held` is set: then Google answers the worker)."""
    fetch = in_worker(pipeline.collect, calendar, now=NOW)
    wait_for(lambda: google.calls("POST", "/token"))
    reconnect(admin_client, site)
    assert not fetch.done(), "the fetch did not wait for Google's answer: no race was tested"
    held.set()
    return fetch.result(timeout=30)


def assert_the_reconnect_won(caplog) -> OAuthConnection:
    connection = OAuthConnection.objects.get()
    assert (connection.status, connection.origin) == ("connected", "consent")
    assert (connection.access_token, connection.refresh_token) == (NEW_ACCESS, NEW_REFRESH)
    assert connection.last_error == ""
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("was reconnected" in r.getMessage() for r in caplog.records)
    return connection


@pytest.mark.parametrize("refused", ["renewal before the fetch", "renewal during the fetch"])
def test_a_reconnect_while_the_fetch_fails_is_not_marked_needs_reconnect(
    refused, influx, google, calendar, site, admin_client, caplog
):
    if refused == "renewal before the fetch":
        connect(calendar, expires_in=timedelta(minutes=-5))
    else:  # the stored token looks valid, but Google refuses it: google-auth renews on the 401
        connect(calendar, expires_in=timedelta(minutes=40))
        google.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    invalid_grant = google.load_fixture("google/invalid_grant.json")
    held = threading.Event()
    google.add("POST", "/token", status=400, json=invalid_grant, held=held, times=1)
    google_answers(google)  # then the reconnect's code exchange and calendar list

    with caplog.at_level(logging.INFO):
        outcome = fetch_while_reconnecting(calendar, google, admin_client, site, held)

    assert outcome.status == "failed" and "ReconnectNeeded" in outcome.error
    refresh = google.calls("POST", "/token")[0]
    assert "refresh_token=1%2F%2F0gstored-refresh-token" in refresh.text  # the old token
    assert_the_reconnect_won(caplog)

    workday(google)  # the next run uses the new connection, no renewal needed
    assert pipeline.collect(calendar, now=NOW + timedelta(minutes=15)).status == "ok"
    assert google.calls("GET", PRIMARY)[-1].headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert len(google.calls("POST", "/token")) == 2  # the refused renewal, the code exchange


def test_a_renewal_answered_after_a_reconnect_does_not_overwrite_it(
    influx, google, calendar, site, admin_client, caplog
):
    connect(calendar, expires_in=timedelta(minutes=2))
    renewed = google.load_fixture("google/token_refresh.json")
    held = threading.Event()
    google.add("POST", "/token", json=renewed, held=held, times=1)
    google_answers(google)
    workday(google)

    with caplog.at_level(logging.INFO):
        outcome = fetch_while_reconnecting(calendar, google, admin_client, site, held)

    assert outcome.status == "ok"
    # The fetch went on with the reconnected account's token, and that connection is kept.
    [events] = google.calls("GET", PRIMARY)
    assert events.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    connection = assert_the_reconnect_won(caplog)
    assert connection.token_expiry - datetime.now(UTC) > timedelta(minutes=55)
