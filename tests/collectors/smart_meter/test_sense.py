"""Sense adapter: REST against the replay server, realtime against a local websocket feed."""

import logging
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from collectors.base import Window
from collectors.circuit_keys import owner
from collectors.smart_meter.sense.adapter import SenseAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from enrich.redis.budget import parse_budget
from tests.collectors.scenarios_smart_meter import (
    SENSE_LOGIN_SESSION,
    SENSE_NOW,
    SITE,
    sense_credentials,
    sense_mfa_routes,
    sense_routes,
)
from tests.collectors.sense_feed import realtime_session
from tests.support.replay import load_fixture, unused_url

UNAUTHORIZED = load_fixture("sense/frame_error_unauthorized.json")


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
    assert home.tags == {
        "meter_type": "sense",
        "device": "98765",
        "provider": "sense",
        "site": "Home",
    }
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
        "start": "2026-05-01T14:05:00",
    }


def test_the_solar_production_listed_among_the_devices_is_no_circuit(replay_server, feed):
    """With solar, a realtime_update lists the production (`solar_w`) as the device `solar`
    too (as captured from Sense's feed: `w` is the loads' sum, without it). Stored as a circuit
    it counted the production as a load of the home: the circuits added up to w + solar_w."""
    frame = load_fixture("sense/frame_realtime_update.json")
    payload = frame["payload"]
    payload["solar_w"] = 2344.08
    payload["devices"].insert(
        1,
        {"id": "solar", "name": "Solar", "icon": "solar_alt", "w": 2344.08,
         "tags": {"DeviceListAllowed": "false", "UserDeviceType": "Solar"}},
    )  # fmt: skip
    feed.script([load_fixture("sense/frame_hello.json"), frame])
    sense_routes(replay_server)
    home, *circuits = fetch(replay_server, feed.url).readings
    assert home.fields["total_power_w"] == 11163.86  # w: the loads, as before
    assert {r.tags["circuit"]: r.fields["power_w"] for r in circuits} == {
        "Dryer": 5584.70,
        "Always On": 726.0,
    }


def test_known_devices_the_frame_does_not_list_are_off_but_never_the_solar(replay_server, feed):
    """The fixture's frame lists Dryer and Always On; the kettle's key is kept from an earlier
    frame: 0 W at the frame's minute. A key the production got before it was no circuit stays
    without a point (0 W would read as a load that turned off)."""
    sense_routes(replay_server)
    kept = {"sense/98765": {"Kettle": owner("k1", "Kettle"), "Solar": owner("solar", "Solar")}}
    credentials = replace(sense_credentials(replay_server, feed.url), kept=kept)
    adapter = SenseAdapter()
    window = Window(start=SENSE_NOW - timedelta(minutes=5), end=SENSE_NOW, now=SENSE_NOW)
    result = adapter.fetch(adapter.target(SITE, credentials), credentials, window)
    home, *circuits = result.readings
    assert {r.tags["circuit"]: r.fields for r in circuits} == {
        "Dryer": pytest.approx({"power_w": 5584.70, "percentage": 5584.70 / 11163.86 * 100}),
        "Always On": pytest.approx({"power_w": 726.0, "percentage": 726.0 / 11163.86 * 100}),
        "Kettle": {"power_w": 0.0, "percentage": 0.0},
    }
    assert {r.time for r in circuits} == {home.time}


def test_mfa_account_gets_a_clear_permanent_error(replay_server, feed):
    replay_server.add(
        "POST", "/authenticate", status=401, json=load_fixture("sense/authenticate_mfa.json")
    )
    with pytest.raises(AuthError) as caught:
        fetch(replay_server, feed.url)
    message = str(caught.value)
    assert "needs MFA" in message and "Sense app" in message and "home_assistant" in message
    assert "manage.py sense_login" in message
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


def test_a_feed_whose_hello_says_the_monitor_is_offline_says_so(replay_server, feed):
    """With the monitor offline the feed says so in its hello (`online: false`) and sends no
    realtime_update: the error named the service as maybe down, not the monitor."""
    sense_routes(replay_server)
    offline = load_fixture("sense/frame_hello.json")
    offline["payload"]["online"] = False
    feed.script([offline])
    with pytest.raises(TransientError, match="the Sense monitor is offline") as raised:
        fetch(replay_server, feed.url, realtime_timeout=0.3)
    assert "service may be slow" not in str(raised.value)


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
        "login",
        1,
    )
    assert parse_budget(adapter.budget) == (1, 60)
    # No realtime history, but the trends give the hours and days of an outage, a call a day.
    assert adapter.history == timedelta(days=7)


SAVED = {
    "account": "sense.owner@example.com",
    "access_token": "t1.v2.saved-access",
    "user_id": "512345",
    "refresh_token": "refresh-saved",
    "monitor_id": "98765",
}


def with_session(server, feed_url, session=None, reported=None, **options):
    credentials = sense_credentials(server, feed_url, **options)
    on_renewed = (lambda renewed: reported.append(dict(renewed.session))) if reported is not None else None  # fmt: skip
    return replace(credentials, session=session or {}, on_renewed=on_renewed)


def fetch_with(adapter, credentials):
    target = adapter.target(SITE, credentials)
    window = Window(start=SENSE_NOW - timedelta(minutes=5), end=SENSE_NOW, now=SENSE_NOW)
    return adapter.fetch(target, credentials, window)


def test_a_saved_session_is_used_without_logging_in(replay_server, feed):
    sense_routes(replay_server)
    reported: list[dict] = []
    result = fetch_with(SenseAdapter(), with_session(replay_server, feed.url, SAVED, reported))
    assert result.readings[0].fields["total_power_w"] == 11163.86
    assert replay_server.calls("POST", "/authenticate") == []
    assert feed.connections == [
        ("/monitors/98765/realtimefeed", {"access_token": "t1.v2.saved-access"})
    ]
    assert reported == []  # nothing new to save


def test_a_login_and_each_renewal_are_reported_for_saving(replay_server, feed):
    sense_routes(replay_server)
    replay_server.add("POST", "/renew", json=load_fixture("sense/renew.json"))
    feed.script(realtime_session(), [UNAUTHORIZED], realtime_session())
    adapter, reported = SenseAdapter(), []
    credentials = with_session(replay_server, feed.url, reported=reported)
    fetch_with(adapter, credentials)
    assert reported == [SENSE_LOGIN_SESSION]
    fetch_with(adapter, credentials)  # the feed refuses the token: renewed, reported again
    assert reported == [
        SENSE_LOGIN_SESSION,
        {**SENSE_LOGIN_SESSION, "access_token": "t1.v2.access-two", "refresh_token": "refresh-two"},
    ]


def test_a_refused_saved_session_is_renewed_with_its_refresh_token(replay_server, feed):
    sense_routes(replay_server)
    replay_server.add("POST", "/renew", json=load_fixture("sense/renew.json"))
    feed.script([UNAUTHORIZED], realtime_session())
    reported: list[dict] = []
    result = fetch_with(SenseAdapter(), with_session(replay_server, feed.url, SAVED, reported))
    assert result.readings
    renew = replay_server.calls("POST", "/renew")
    assert [r.text for r in renew] == ["user_id=512345&refresh_token=refresh-saved"]
    assert replay_server.calls("POST", "/authenticate") == []  # no login, so no code needed
    assert reported == [
        {**SAVED, "access_token": "t1.v2.access-two", "refresh_token": "refresh-two"}
    ]


@pytest.mark.parametrize(
    "saved",
    [
        {k: v for k, v in SAVED.items() if k != "refresh_token"},  # incomplete
        {**SAVED, "account": "previous.owner@example.com"},  # the e-mail was changed since
    ],
    ids=["incomplete", "other-account"],
)
def test_a_saved_session_that_does_not_fit_means_a_login(replay_server, feed, saved):
    sense_routes(replay_server)
    reported: list[dict] = []
    fetch_with(SenseAdapter(), with_session(replay_server, feed.url, saved, reported))
    assert len(replay_server.calls("POST", "/authenticate")) == 1
    assert feed.connections[0][1] == {"access_token": "t1.v2.access-one"}
    assert reported == [SENSE_LOGIN_SESSION]


def test_login_with_a_one_time_code(replay_server, feed):
    sense_mfa_routes(replay_server)
    reported: list[dict] = []
    session = SenseAdapter().login(
        with_session(replay_server, feed.url, reported=reported), lambda: " 123456 "
    )
    assert session.access_token == "t1.v2.access-one" and session.monitor_id == "98765"
    assert reported == [SENSE_LOGIN_SESSION]
    [mfa] = replay_server.calls("POST", "/authenticate/mfa")
    form = parse_qs(mfa.text)
    assert form["totp"] == ["123456"] and form["mfa_token"] == ["mfa-abc123-token"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", form["client_time"][0])
    assert mfa.headers["x-sense-device-id"]


def test_a_refused_one_time_code_says_to_try_the_current_one(replay_server, feed):
    sense_mfa_routes(replay_server, code_accepted=False)
    with pytest.raises(AuthError, match="the one-time code was refused .HTTP 401.") as caught:
        SenseAdapter().login(with_session(replay_server, feed.url), lambda: "000000")
    assert "current code" in str(caught.value) and "mfa-abc123-token" not in str(caught.value)


def test_login_without_mfa_never_asks_for_a_code(replay_server, feed):
    sense_routes(replay_server)

    def never() -> str:
        raise AssertionError("asked for a code")

    session = SenseAdapter().login(with_session(replay_server, feed.url), never)
    assert session.refresh_token == "refresh-one"
    assert replay_server.calls("POST", "/authenticate/mfa") == []


# The account's day after trends_day.json's (which ends at 2026-05-02T04:00Z), just begun.
NEW_DAY = {
    **load_fixture("sense/trends_day.json"),
    "start": "2026-05-02T04:00:00.000Z",
    "end": "2026-05-03T04:00:00.000Z",
    "consumption": {"total": 0.05, "totals": [0.05], "devices": []},
}


def home_of_frame(server, feed, epoch: datetime, now: datetime):
    """The whole-home reading of a run at `now` whose frame is of `epoch` (login answered)."""
    server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    frame = load_fixture("sense/frame_realtime_update.json")
    frame["payload"]["epoch"] = epoch.timestamp()
    feed.script([load_fixture("sense/frame_hello.json"), frame])
    adapter = SenseAdapter()
    credentials = sense_credentials(server, feed.url)
    window = Window(start=now - timedelta(minutes=5), end=now, now=now)
    return adapter.fetch(adapter.target(SITE, credentials), credentials, window).readings[0]


def test_todays_kwh_is_of_the_frames_day_when_a_run_starts_just_before_midnight(
    replay_server, feed
):
    """The account's day ends at 04:00 UTC (trends_day.json). A run starting at 03:59:58 reads a
    frame of 04:00:01: its daily_kwh is the new day's so far, not the whole previous day's."""
    ended = load_fixture("sense/trends_day.json")  # 23.84 kWh, ending 2026-05-02T04:00Z
    for start, answer in (("2026-05-02T03:59:58", ended), ("2026-05-02T04:00:00", NEW_DAY)):
        replay_server.add("GET", "/app/history/trends", query={"start": start}, json=answer)
    epoch = datetime(2026, 5, 2, 4, 0, 1, tzinfo=UTC)
    home = home_of_frame(replay_server, feed, epoch, datetime(2026, 5, 2, 3, 59, 58, tzinfo=UTC))
    assert home.time == datetime(2026, 5, 2, 4, 0, tzinfo=UTC)
    assert home.fields["daily_kwh"] == 0.05  # not 23.84 at the new day's first minute


def test_trends_of_another_day_than_the_frames_give_no_daily_kwh(replay_server, feed, caplog):
    """`start` is sent as UTC without a zone (as sense_energy does). Were it read as the
    account's local time, the frame of 22:00 New York time (02:00 UTC) would get the next
    day's answer: its total (0.05 kWh) was stored as that evening's daily_kwh."""
    replay_server.add("GET", "/app/history/trends", json=NEW_DAY)
    epoch = datetime(2026, 5, 2, 2, 0, 20, tzinfo=UTC)
    home = home_of_frame(replay_server, feed, epoch, datetime(2026, 5, 2, 2, 0, 30, tzinfo=UTC))
    assert home.time == datetime(2026, 5, 2, 2, 0, tzinfo=UTC)
    assert home.fields == {"total_power_w": 11163.86}  # no daily_kwh of another day
    assert "not the one holding 2026-05-02T02:00:00+00:00" in caplog.text


@pytest.mark.influxdb
def test_the_day_that_ended_gets_its_complete_total_at_its_last_minute(
    replay_server, feed, isolated, settings
):
    """The account's day ends at 04:00 UTC (trends_day.json). Runs every 5 minutes ask the
    trends every 15: the last daily_kwh of that day was 03:50's (23.84 kWh), 10 minutes short of
    it. The first run 15 minutes after 04:00 (the day settled: day_ends.SETTLE) asks that day
    at its last minute and stores its complete total (24.1 kWh) at 03:59; the next run asks
    the new day's. Each run's readings are
    written, as the pipeline does: InfluxDB tells whether the ended day's total is missing."""
    replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    complete = {**load_fixture("sense/trends_day.json"), "consumption": {"total": 24.1}}
    for start, answer in (
        ("2026-05-02T03:50:00", load_fixture("sense/trends_day.json")),
        ("2026-05-02T03:59:00", complete),
        ("2026-05-02T04:20:00", NEW_DAY),
    ):
        replay_server.add("GET", "/app/history/trends", query={"start": start}, json=answer)
    clock = Clock()
    adapter = SenseAdapter(clock=clock)
    credentials = sense_credentials(replay_server, feed.url)
    target = adapter.target(SITE, credentials)
    daily = {}
    for minute in (50, 65, 70, 75, 80):  # 03:50, 04:05 .. 04:20 UTC
        now = datetime(2026, 5, 2, 3, 0, 30, tzinfo=UTC) + timedelta(minutes=minute)
        frame = load_fixture("sense/frame_realtime_update.json")
        frame["payload"]["epoch"] = (now - timedelta(seconds=10)).timestamp()
        feed.script([load_fixture("sense/frame_hello.json"), frame])
        window = Window(start=now - timedelta(minutes=5), end=now, now=now)
        result = adapter.fetch(target, credentials, window)
        isolated.write(settings.INFLUXDB_DATABASE, result.readings)
        daily |= {r.time: r.fields["daily_kwh"] for r in result.readings if "daily_kwh" in r.fields}
        assert result.current.get("devices", {}).get("98765", {}).get("daily_kwh") != 24.1
        clock.now += 300
    assert daily == {
        datetime(2026, 5, 2, 3, 50, tzinfo=UTC): 23.84,  # so far
        datetime(2026, 5, 2, 3, 59, tzinfo=UTC): 24.1,  # the day's complete total
        datetime(2026, 5, 2, 4, 20, tzinfo=UTC): 0.05,  # the new day so far
    }
