"""WattTime v3 adapter against the local replay server: token handling, units, plans, backfill."""

import base64
import logging
from datetime import timedelta

import pytest

from collectors.base import ConfigError, Credentials, SiteInfo, Window
from collectors.carbon.watttime import WattTimeAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from tests.collectors.scenarios_carbon import (
    WATTTIME_NOW,
    carbon_tags,
    fetch_checked,
    split,
    watttime,
)

NOW = WATTTIME_NOW
TOKEN = "eyJhbGciOiJIUzI1NiJ9.replay-token-1.c2lnbmF0dXJl"
LBS = 0.453592


@pytest.fixture
def adapter(clock) -> WattTimeAdapter:
    return WattTimeAdapter(clock=clock)


def window(start_ago: timedelta = timedelta(minutes=15), now=NOW) -> Window:
    return Window(start=now - start_ago, end=now, now=now)


def scenario(server, replies=None, **options):
    """The contract scenario; `replies` replace its answers, `options` change its own (None:
    left out)."""
    site, credentials, _ = watttime(server, replies)
    merged = {**credentials.options, **options}
    merged = {k: v for k, v in merged.items() if v is not None}
    return site, Credentials(credentials.username, credentials.password, options=merged)


def run(adapter, server, site, credentials, win=None):
    return fetch_checked(adapter, site, credentials, win or window())


def test_forecast_plan_stores_index_and_moer_converted_to_gco2_kwh(replay_server, adapter):
    site, credentials = scenario(replay_server)
    result = run(adapter, replay_server, site, credentials)

    (headline,), series = split(result)
    assert headline.time.isoformat() == "2026-05-01T14:05:00+00:00"
    assert headline.tags == carbon_tags("watttime", "CAISO_NORTH")
    assert headline.fields["moer_percentile"] == 37.0
    # The forecast's first point is the real-time value: 1048.41 lbs/MWh.
    assert round(headline.fields["carbon_intensity_gco2_kwh"], 2) == 475.55
    # The running period's value as fetched: it replaces a forecast point written there.
    assert headline.fields["is_forecast"] is False
    # now + 1 h = 15:07 lies in the 15:05 slot (1102.2 lbs/MWh).
    assert headline.fields["forecast_1h"] == pytest.approx(1102.2 * LBS)
    # The 25 h forecast runs to 15:00 tomorrow: now + 24 h = 14:07 lies in the 14:05 slot.
    assert headline.fields["forecast_24h"] == pytest.approx(1090.52 * LBS)
    assert result.current["moer_percentile"] == 37.0
    assert result.current["time"] == "2026-05-01T14:05:00+00:00"

    raw = replay_server.load_fixture("watttime/forecast_25h.json")["data"]
    assert len(series) == len(raw) == 300
    assert all(r.fields["slot_minutes"] == 5.0 for r in series)
    assert all(r.tags == headline.tags for r in series)
    for reading, point in zip(series, raw, strict=True):
        assert reading.time.isoformat() == point["point_time"]
        assert reading.fields["carbon_intensity_gco2_kwh"] == pytest.approx(point["value"] * LBS)
        assert "moer_percentile" not in reading.fields

    (login,) = replay_server.calls("GET", "/login")
    basic = base64.b64encode(b"enrich-test:test-watttime-password").decode()
    assert login.headers["Authorization"] == f"Basic {basic}"
    (index,) = replay_server.calls("GET", "/v3/signal-index")
    assert index.query == {"region": "CAISO_NORTH", "signal_type": "co2_moer"}
    assert index.headers["Authorization"] == f"Bearer {TOKEN}"
    (forecast,) = replay_server.calls("GET", "/v3/forecast")
    assert forecast.query == {
        "region": "CAISO_NORTH",
        "signal_type": "co2_moer",
        "horizon_hours": "25",  # the default 24 h end just before now + 24 h
    }


def test_an_index_newer_than_the_forecast_run_gets_a_forecast_marked_as_one(replay_server, adapter):
    # At 14:12 the index has its 14:10 point while the forecast is still the 14:05 run: only
    # that run's first point (14:05) is the real-time value; its 14:10 point is a forecast.
    index = replay_server.load_fixture("watttime/signal_index.json")
    index["data"] = [{"point_time": "2026-05-01T14:10:00+00:00", "value": 41.0}]
    site, credentials = scenario(replay_server, {"/v3/signal-index": [{"json": index}]})
    now = NOW.replace(minute=12)

    (headline,), _ = split(run(adapter, replay_server, site, credentials, window(now=now)))

    assert headline.time.isoformat() == "2026-05-01T14:10:00+00:00"
    assert headline.fields["moer_percentile"] == 41.0
    assert headline.fields["carbon_intensity_gco2_kwh"] == pytest.approx(1005.37 * LBS)
    assert headline.fields["is_forecast"] is True  # not passed off as the measured value


def test_a_24_hour_forecast_leaves_forecast_24h_out_rather_than_guess(replay_server, adapter):
    # An API that ignores horizon_hours answers the default 24 h, ending at 14:00 tomorrow:
    # now + 24 h (14:07) is not covered, so the field is left out, never 0 or a neighbour.
    day = {"json": replay_server.load_fixture("watttime/forecast.json")}
    site, credentials = scenario(replay_server, {"/v3/forecast": [day]})

    (headline,), series = split(run(adapter, replay_server, site, credentials))

    assert headline.fields["forecast_1h"] == pytest.approx(1102.2 * LBS)
    assert "forecast_24h" not in headline.fields
    assert len(series) == 288


def test_free_plan_stores_the_percentile_only_never_as_gco2(replay_server, adapter):
    site, credentials = scenario(replay_server, plan="free")
    result = run(adapter, replay_server, site, credentials)

    assert [r.measurement for r in result.readings] == ["carbon_intensity"]
    assert dict(result.readings[0].fields) == {"moer_percentile": 37.0}
    assert "carbon_intensity_gco2_kwh" not in result.current
    assert replay_server.calls("GET", "/v3/forecast") == []


def test_unit_is_taken_from_the_answer_a_percentile_forecast_is_not_gco2(replay_server, adapter):
    body = replay_server.load_fixture("watttime/forecast.json")
    body["meta"]["units"] = "percentile"
    for point in body["data"]:
        point["value"] = 55.0
    site, credentials = scenario(replay_server, {"/v3/forecast": [{"json": body}]})

    (headline,), series = split(run(adapter, replay_server, site, credentials))
    assert set(headline.fields) == {"moer_percentile"}
    assert all(set(r.fields) == {"moer_percentile", "slot_minutes"} for r in series)


@pytest.mark.parametrize("units", ["kg_co2_per_mwh", None])
def test_unknown_unit_is_malformed(replay_server, adapter, units):
    body = replay_server.load_fixture("watttime/signal_index.json")
    body["meta"]["units"] = units
    site, credentials = scenario(replay_server, {"/v3/signal-index": [{"json": body}]})
    with pytest.raises(MalformedResponse, match="meta.units"):
        run(adapter, replay_server, site, credentials)


def test_percentile_outside_0_100_is_malformed(replay_server, adapter):
    body = replay_server.load_fixture("watttime/signal_index.json")
    body["data"][0]["value"] = 1048.41  # a MOER value mislabelled as a percentile
    site, credentials = scenario(replay_server, {"/v3/signal-index": [{"json": body}]})
    with pytest.raises(MalformedResponse, match="outside 0-100"):
        run(adapter, replay_server, site, credentials)


def test_token_is_reused_for_a_second_fetch(replay_server, adapter, clock):
    site, credentials = scenario(replay_server)
    run(adapter, replay_server, site, credentials)
    clock.now += 27 * 60  # still 3 minutes left: no new login
    run(adapter, replay_server, site, credentials)
    assert len(replay_server.calls("GET", "/login")) == 1
    assert len(replay_server.calls("GET", "/v3/signal-index")) == 2


def test_token_is_renewed_two_minutes_before_it_expires(replay_server, adapter, clock):
    site, credentials = scenario(replay_server)
    replay_server.add("GET", "/login", json={"token": "second-token-abcdef"})
    run(adapter, replay_server, site, credentials)
    clock.now += 28 * 60 + 1
    run(adapter, replay_server, site, credentials)
    assert len(replay_server.calls("GET", "/login")) == 2
    last = replay_server.calls("GET", "/v3/signal-index")[-1]
    assert last.headers["Authorization"] == "Bearer second-token-abcdef"


def test_401_on_a_call_logs_in_again_and_retries_once(replay_server, adapter, caplog):
    login = replay_server.load_fixture("watttime/login.json")
    index = replay_server.load_fixture("watttime/signal_index.json")
    replies = {
        "/login": [{"json": login, "times": 1}, {"json": {"token": "second-token-abcdef"}}],
        "/v3/signal-index": [{"status": 401, "body": "", "times": 1}, {"json": index}],
    }
    site, credentials = scenario(replay_server, replies)
    caplog.set_level(logging.INFO, logger="collectors.carbon.watttime")

    result = run(adapter, replay_server, site, credentials)

    assert result.readings[0].fields["moer_percentile"] == 37.0
    assert len(replay_server.calls("GET", "/login")) == 2
    first, second = replay_server.calls("GET", "/v3/signal-index")
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert second.headers["Authorization"] == "Bearer second-token-abcdef"
    assert "refused the token (HTTP 401); logging in again" in caplog.text


def test_a_second_401_is_an_auth_error_after_exactly_one_retry(replay_server, adapter):
    site, credentials = scenario(replay_server, {"/v3/signal-index": [{"status": 401, "body": ""}]})

    with pytest.raises(AuthError) as caught:
        run(adapter, replay_server, site, credentials)
    assert caught.value.status == 401
    assert len(replay_server.calls("GET", "/login")) == 2
    assert len(replay_server.calls("GET", "/v3/signal-index")) == 2


def test_refused_login_says_which_settings_to_check_and_is_not_retried(replay_server, adapter):
    site, credentials = scenario(replay_server, {"/login": [{"status": 401, "body": ""}]})
    with pytest.raises(AuthError, match="WATTTIME_USERNAME / WATTTIME_PASSWORD") as caught:
        run(adapter, replay_server, site, credentials)
    assert caught.value.status == 401
    assert len(replay_server.calls("GET", "/login")) == 1
    assert replay_server.calls("GET", "/v3/signal-index") == []
    assert "test-watttime-password" not in str(caught.value)


def test_a_region_the_plan_has_no_access_to_is_named_not_the_password(replay_server, adapter):
    # The login worked; the plan has no access to the region (WattTime's 403): "refused the
    # credentials, check the login" sent the user to the wrong setting.
    refused = {"status": 403, "json": {"error": "not authorized for region"}}
    site, credentials = scenario(replay_server, {"/v3/signal-index": [refused]})
    with pytest.raises(AuthError) as caught:
        run(adapter, replay_server, site, credentials)
    message = str(caught.value)
    assert "refused region CAISO_NORTH / signal co2_moer (HTTP 403)" in message
    assert "the login worked" in message and "grid region" in message
    assert "not authorized for region" in message
    assert "credentials" not in message and "test-watttime-password" not in message
    assert caught.value.status == 403
    assert len(replay_server.calls("GET", "/login")) == 1  # no second login for a 403
    assert len(replay_server.calls("GET", "/v3/signal-index")) == 1


def test_forecast_403_means_not_on_plan_index_only_logged_once(replay_server, adapter, caplog):
    refused = {"status": 403, "json": {"error": "not authorized for region"}}
    # No plan set: the adapter probes whether the account may read forecasts.
    site, credentials = scenario(replay_server, {"/v3/forecast": [refused]}, plan=None)
    caplog.set_level(logging.INFO, logger="collectors.carbon.watttime")

    first = run(adapter, replay_server, site, credentials)
    second = run(adapter, replay_server, site, credentials)

    for result in (first, second):
        assert [dict(r.fields) for r in result.readings] == [{"moer_percentile": 37.0}]
    # Probed once; the second run knows the plan lacks it and does not ask again.
    assert len(replay_server.calls("GET", "/v3/forecast")) == 1
    assert caplog.text.count("not on this account's plan (HTTP 403)") == 1


def test_forecast_is_probed_again_after_a_day(replay_server, adapter, clock):
    forecast = replay_server.load_fixture("watttime/forecast.json")
    replies = {"/v3/forecast": [{"status": 403, "body": "", "times": 1}, {"json": forecast}]}
    site, credentials = scenario(replay_server, replies, plan=None)
    run(adapter, replay_server, site, credentials)
    clock.now += 24 * 3600 + 1  # the plan may have been upgraded meanwhile
    (headline,), series = split(run(adapter, replay_server, site, credentials))
    assert round(headline.fields["carbon_intensity_gco2_kwh"], 2) == 475.55
    assert len(series) == 288


def test_backfill_on_historical_plan_requests_the_missed_window(replay_server, adapter):
    site, credentials = scenario(replay_server, plan="historical")
    replay_server.add(
        "GET", "/v3/historical", json=replay_server.load_fixture("watttime/historical.json")
    )
    result = run(adapter, replay_server, site, credentials, window(timedelta(hours=3, minutes=7)))

    (call,) = replay_server.calls("GET", "/v3/historical")
    assert call.query == {
        "region": "CAISO_NORTH",
        "signal_type": "co2_moer",
        "start": "2026-05-01T11:00:00+00:00",
        "end": "2026-05-01T14:07:00+00:00",
    }
    now, _ = split(result)
    past = [r for r in now if r.time.isoformat() != "2026-05-01T14:05:00+00:00"]
    # 11:00 .. 14:00 every 5 minutes; the 14:05 point is the current reading's.
    assert len(past) == 37
    assert past[0].time.isoformat() == "2026-05-01T11:00:00+00:00"
    # measured: each replaces a forecast point written there between fetches
    assert past[0].fields == {
        "carbon_intensity_gco2_kwh": pytest.approx(980.0 * LBS),
        "is_forecast": False,
    }
    assert past[-1].fields["carbon_intensity_gco2_kwh"] == pytest.approx((980 + 3.1 * 36) * LBS)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"status": 403, "json": {"error": "not authorized for historical data"}}, AuthError),
        ({"status": 500, "body": "internal error"}, TransientError),
    ],
)
def test_a_failing_historical_call_keeps_the_latest_values(replay_server, adapter, reply, error):
    site, credentials = scenario(replay_server, plan="historical")
    replay_server.add("GET", "/v3/historical", times=5, **reply)

    result = run(adapter, replay_server, site, credentials, window(timedelta(hours=3)))

    (headline,), series = split(result)
    assert headline.time.isoformat() == "2026-05-01T14:05:00+00:00"
    assert headline.fields["moer_percentile"] == 37.0
    assert round(headline.fields["carbon_intensity_gco2_kwh"], 2) == 475.55
    assert headline.fields["forecast_24h"] == pytest.approx(1090.52 * LBS)
    assert len(series) == 300
    assert isinstance(result.history_error, error)
    assert result.current["moer_percentile"] == 37.0


def test_no_historical_call_while_the_pipeline_remembers_a_refusal(replay_server, adapter):
    site, credentials = scenario(replay_server, plan="historical")
    skipped = "history skipped: watttime refused its history endpoint (HTTP 403)"
    win = Window(start=NOW - timedelta(hours=3), end=NOW, now=NOW, history_skipped=skipped)

    (headline,), _ = split(run(adapter, replay_server, site, credentials, win))

    assert headline.fields["moer_percentile"] == 37.0
    assert replay_server.calls("GET", "/v3/historical") == []


def test_backfill_start_is_capped_at_thirty_days(replay_server, adapter):
    site, credentials = scenario(replay_server, plan="historical")
    replay_server.add(
        "GET", "/v3/historical", json=replay_server.load_fixture("watttime/historical.json")
    )
    run(adapter, replay_server, site, credentials, window(timedelta(days=90)))
    (call,) = replay_server.calls("GET", "/v3/historical")
    assert call.query["start"] == "2026-04-01T14:07:00+00:00"


@pytest.mark.parametrize(
    ("plan", "start_ago"),
    [("forecast", timedelta(hours=3)), ("historical", timedelta(minutes=15))],
)
def test_no_history_call_without_plan_or_gap(replay_server, adapter, plan, start_ago):
    site, credentials = scenario(replay_server, plan=plan)
    run(adapter, replay_server, site, credentials, window(start_ago))
    assert replay_server.calls("GET", "/v3/historical") == []


def test_region_is_looked_up_from_coordinates_once(replay_server, adapter):
    site, credentials = scenario(replay_server)
    replay_server.add(
        "GET",
        "/v3/region-from-loc",
        json=replay_server.load_fixture("watttime/region_from_loc.json"),
    )
    no_region = SiteInfo(name="home", latitude=38.5816, longitude=-121.4944)
    target = adapter.target(no_region, credentials)
    assert target.key == "38.5816,-121.4944"

    for _ in range(2):
        adapter.fetch(target, credentials, window())

    (lookup,) = replay_server.calls("GET", "/v3/region-from-loc")
    assert lookup.query == {
        "latitude": "38.5816",
        "longitude": "-121.4944",
        "signal_type": "co2_moer",
    }
    assert lookup.headers["Authorization"] == f"Bearer {TOKEN}"
    assert {c.query["region"] for c in replay_server.calls("GET", "/v3/signal-index")} == {
        "CAISO_NORTH"
    }


def test_non_json_answer_is_malformed(replay_server, adapter):
    html = {"body": "<html>maintenance</html>", "headers": {"Content-Type": "text/html"}}
    site, credentials = scenario(replay_server, {"/v3/signal-index": [html]})
    with pytest.raises(MalformedResponse, match="not JSON"):
        run(adapter, replay_server, site, credentials)


def test_missing_data_is_malformed_not_a_guess(replay_server, adapter):
    body = replay_server.load_fixture("watttime/signal_index.json")
    body["data"] = []
    site, credentials = scenario(replay_server, {"/v3/signal-index": [{"json": body}]})
    with pytest.raises(MalformedResponse, match="no data points"):
        run(adapter, replay_server, site, credentials)


def test_429_with_retry_after_is_honoured_once(replay_server, adapter):
    index = replay_server.load_fixture("watttime/signal_index.json")
    limited = {"status": 429, "body": "", "headers": {"Retry-After": "1"}, "times": 1}
    site, credentials = scenario(replay_server, {"/v3/signal-index": [limited, {"json": index}]})
    result = run(adapter, replay_server, site, credentials)
    assert result.readings[0].fields["moer_percentile"] == 37.0
    first, second = replay_server.calls("GET", "/v3/signal-index")
    assert second.time - first.time >= 0.9


def test_5xx_is_transient(replay_server, adapter):
    down = {"status": 503, "body": "upstream down"}
    site, credentials = scenario(replay_server, {"/v3/signal-index": [down]})
    with pytest.raises(TransientError):
        run(adapter, replay_server, site, credentials)
    assert len(replay_server.calls("GET", "/v3/signal-index")) == 2  # HTTP_MAX_RETRIES = 1


def test_settings_a_person_must_fix_are_config_errors(adapter):
    site = SiteInfo(name="home", latitude=1.0, longitude=2.0, grid_region="CAISO_NORTH")
    with pytest.raises(ConfigError, match="WATTTIME_USERNAME"):
        adapter.target(site, Credentials(username="me"))
    with pytest.raises(ConfigError, match="plan='premium' is unknown"):
        adapter.target(site, Credentials("me", "pw", options={"plan": "premium"}))
