"""Sense adapter: REST against the replay server, realtime against a local websocket feed."""

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import Window
from collectors.smart_meter.sense import SenseAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from enrich.ratelimit import parse_budget
from tests.collectors.scenarios_smart_meter import (
    SENSE_NOW,
    SITE,
    sense_credentials,
    sense_routes,
)
from tests.collectors.sense_feed import FeedServer, realtime_session
from tests.support.replay import load_fixture, unused_url

UNAUTHORIZED = load_fixture("sense/frame_error_unauthorized.json")


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1


@pytest.fixture
def feed():
    with FeedServer() as server:
        server.script(realtime_session())
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fetch(server, feed_url, adapter=None, **options):
    adapter = adapter or SenseAdapter()
    credentials = sense_credentials(server, feed_url, **options)
    target = adapter.target(SITE, credentials)
    window = Window(start=SENSE_NOW - timedelta(minutes=5), end=SENSE_NOW, now=SENSE_NOW)
    return adapter.fetch(target, credentials, window)


def test_realtime_frame_becomes_whole_home_and_device_power(replay_server, feed):
    sense_routes(replay_server)
    result = fetch(replay_server, feed.url)
    minute = datetime(2026, 5, 1, 14, 5, tzinfo=UTC)  # epoch 14:05:42, rounded down
    assert {r.time for r in result.readings} == {minute}
    home, *circuits = result.readings
    assert home.measurement == "smart_meter"
    assert home.tags == {"meter_type": "sense", "device": "98765", "provider": "sense"}
    assert home.fields == {"total_power_w": 11163.86, "daily_kwh": 23.84}
    by_name = {r.tags["circuit"]: r.fields for r in circuits}
    assert by_name["Dryer"]["power_w"] == 5584.70
    assert by_name["Dryer"]["percentage"] == pytest.approx(5584.70 / 11163.86 * 100)
    assert by_name["Always On"] == pytest.approx(
        {"power_w": 726.0, "percentage": 6.50313}, abs=1e-5
    )
    assert {r.measurement for r in circuits} == {"smart_meter_circuit"}
    assert result.current["total_power_w"] == 11163.86
    assert result.current["time"] == "2026-05-01T14:05:00+00:00"
    # What was sent.
    login = replay_server.calls("POST", "/authenticate")[0]
    assert login.text == "email=sense.owner%40example.com&password=sense-password-1"
    assert len(login.headers["x-sense-device-id"]) == 32
    assert feed.connections == [
        ("/monitors/98765/realtimefeed", {"access_token": "t1.v2.access-one"})
    ]
    trends = replay_server.calls("GET", "/app/history/trends")[0]
    assert trends.headers["Authorization"] == "bearer t1.v2.access-one"
    assert trends.query == {
        "monitor_id": "98765",
        "device_id": "always_on",
        "scale": "DAY",
        "start": "2026-05-01T14:06:00",
    }


def test_mfa_account_gets_a_clear_permanent_error(replay_server, feed):
    replay_server.add(
        "POST", "/authenticate", status=401, json=load_fixture("sense/authenticate_mfa.json")
    )
    with pytest.raises(AuthError) as caught:
        fetch(replay_server, feed.url)
    message = str(caught.value)
    assert "needs MFA" in message and "Sense app" in message and "home_assistant" in message
    assert "mfa-abc123-token" not in message
    assert len(replay_server.calls("POST", "/authenticate")) == 1 and not feed.connections


def test_refused_password_says_which_settings_to_check(replay_server, feed):
    replay_server.add(
        "POST", "/authenticate", status=401, json=load_fixture("sense/authenticate_refused.json")
    )
    with pytest.raises(AuthError, match="METER_USERNAME and METER_PASSWORD"):
        fetch(replay_server, feed.url)


def test_unauthorized_error_frame_renews_the_token_once(replay_server, feed):
    sense_routes(replay_server)
    replay_server.add("POST", "/renew", json=load_fixture("sense/renew.json"))
    feed.script([UNAUTHORIZED], realtime_session())
    result = fetch(replay_server, feed.url)
    renew = replay_server.calls("POST", "/renew")
    assert [r.text for r in renew] == ["user_id=512345&refresh_token=refresh-one"]
    assert [q["access_token"] for _, q in feed.connections] == [
        "t1.v2.access-one",
        "t1.v2.access-two",
    ]
    assert result.readings[0].fields["total_power_w"] == 11163.86
    assert len(replay_server.calls("POST", "/authenticate")) == 1


def test_still_unauthorized_after_the_renewal_is_an_auth_error(replay_server, feed):
    sense_routes(replay_server)
    replay_server.add("POST", "/renew", json=load_fixture("sense/renew.json"))
    feed.script([UNAUTHORIZED])
    with pytest.raises(AuthError, match="freshly renewed"):
        fetch(replay_server, feed.url)
    assert len(feed.connections) == 2 and len(replay_server.calls("POST", "/renew")) == 1


def test_handshake_401_renews_and_a_refused_renewal_logs_in_again(replay_server, feed):
    sense_routes(replay_server)
    replay_server.add("POST", "/renew", status=401, json={"error_reason": "expired"})
    feed.script(401, realtime_session())
    result = fetch(replay_server, feed.url)
    assert len(replay_server.calls("POST", "/renew")) == 1
    assert len(replay_server.calls("POST", "/authenticate")) == 2
    assert result.readings


def test_a_401_from_the_trends_api_renews_and_retries_once(replay_server, feed):
    replay_server.add("GET", "/app/history/trends", status=401, json={"error": "expired"}, times=1)
    sense_routes(replay_server)
    replay_server.add("POST", "/renew", json=load_fixture("sense/renew.json"))
    result = fetch(replay_server, feed.url)
    auth = [r.headers["Authorization"] for r in replay_server.calls("GET", "/app/history/trends")]
    assert auth == ["bearer t1.v2.access-one", "bearer t1.v2.access-two"]
    assert result.readings[0].fields["daily_kwh"] == 23.84


def test_a_silent_feed_times_out_as_a_transient_error(replay_server, feed):
    sense_routes(replay_server)
    feed.script([load_fixture("sense/frame_hello.json")])
    started = time.monotonic()
    with pytest.raises(TransientError, match="no realtime_update within 0.5 s"):
        fetch(replay_server, feed.url, realtime_timeout=0.5)
    assert time.monotonic() - started < 5  # bounded by the timeout, no hang


def test_an_unreachable_feed_is_transient_and_the_token_is_not_in_the_message(replay_server):
    sense_routes(replay_server)
    with pytest.raises(TransientError) as caught:
        fetch(replay_server, unused_url().replace("http", "ws"))
    assert "access-one" not in str(caught.value) and "access_token=***" in str(caught.value)


def test_a_frame_that_is_not_json_is_malformed(replay_server, feed):
    sense_routes(replay_server)
    feed.script(["<html>maintenance</html>"])
    with pytest.raises(MalformedResponse, match="not JSON"):
        fetch(replay_server, feed.url)


def test_a_realtime_update_without_power_is_malformed(replay_server, feed):
    sense_routes(replay_server)
    frame = load_fixture("sense/frame_realtime_update.json")
    del frame["payload"]["w"]
    feed.script([frame])
    with pytest.raises(MalformedResponse, match="no 'w'"):
        fetch(replay_server, feed.url)


def test_trends_are_asked_every_15_minutes_and_an_unknown_total_is_left_out(
    replay_server, feed, caplog
):
    clock = Clock()
    adapter = SenseAdapter(clock=clock)
    replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    replay_server.add("GET", "/app/history/trends", json={"steps": 24}, times=1)
    replay_server.add("GET", "/app/history/trends", json=load_fixture("sense/trends_day.json"))
    caplog.set_level(logging.WARNING, logger="collectors.smart_meter.sense")
    first = fetch(replay_server, feed.url, adapter)
    assert "daily_kwh" not in first.readings[0].fields  # unknown: left out, never 0
    assert "daily_kwh left out" in caplog.text
    clock.now += 300
    second = fetch(replay_server, feed.url, adapter)
    assert "daily_kwh" not in second.readings[0].fields
    clock.now += 600
    third = fetch(replay_server, feed.url, adapter)
    assert third.readings[0].fields["daily_kwh"] == 23.84
    assert len(replay_server.calls("GET", "/app/history/trends")) == 2
    assert len(replay_server.calls("POST", "/authenticate")) == 1  # the session is kept


def test_budget_is_one_realtime_read_a_minute_per_account():
    adapter = SenseAdapter()
    assert (adapter.budget, adapter.budget_scope, adapter.calls_per_fetch) == (
        "1/minute",
        "account",
        1,
    )
    assert parse_budget(adapter.budget) == (1, 60)
    assert adapter.history is None  # no realtime history: an outage stays a gap
