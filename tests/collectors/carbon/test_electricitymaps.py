"""Electricity Maps adapter against the local replay server: latest, shares, forecast, history."""

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from collectors.base import ConfigError, Credentials, SiteInfo, Window
from collectors.carbon.electricitymaps import ElectricityMapsAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from tests.collectors.scenarios_carbon import (
    ELECTRICITYMAPS_NOW,
    ELECTRICITYMAPS_ROUTES,
    carbon_tags,
    electricitymaps,
    fetch_checked,
    split,
)

NOW = ELECTRICITYMAPS_NOW
KEY = "test-em-token-abc"
FORECAST = "/v3/carbon-intensity/forecast"
HISTORY = "/v3/carbon-intensity/history"
HORIZON = {"horizonHours": "48"}  # the forecast is asked past now + 24 h (forecast_24h, plans)


@pytest.fixture
def adapter() -> ElectricityMapsAdapter:
    return ElectricityMapsAdapter()


def window(start_ago: timedelta = timedelta(minutes=15)) -> Window:
    return Window(start=NOW - start_ago, end=NOW, now=NOW)


def scenario(server, replies=None, **options):
    """The contract scenario; `replies` replace or add answers, `options` add to its own."""
    site, credentials, _ = electricitymaps(server, replies)
    return site, Credentials(api_key=KEY, options={**credentials.options, **options})


def fixture(server, name):
    return {"json": server.load_fixture(f"electricitymaps/{name}")}


def run(adapter, site, credentials, win=None):
    return fetch_checked(adapter, site, credentials, win or window())


def test_latest_intensity_and_percentages_for_a_zone(replay_server, adapter):
    site, credentials = scenario(replay_server)
    result = run(adapter, site, credentials)

    (reading,) = result.readings
    assert reading.measurement == "carbon_intensity"
    assert reading.time.isoformat() == "2026-05-01T14:00:00+00:00"
    assert reading.tags == carbon_tags("electricitymaps", "DE")
    assert dict(reading.fields) == {
        "carbon_intensity_gco2_kwh": 312.0,
        "is_forecast": False,  # the fetched hour's value (collectors.carbon.now)
        "renewable_percentage": 33.5,
        "fossil_free_percentage": 34.0,
        "is_estimated": True,  # both answers say isEstimated: true
        "emission_factor_type": "lifecycle",  # the answer's basis
    }
    # Integers from the API are stored as floats so InfluxDB field types stay stable.
    flags = ("is_estimated", "is_forecast", "emission_factor_type")
    assert all(type(v) is float for k, v in reading.fields.items() if k not in flags)
    assert "is_estimated=true" in reading.to_line()
    assert result.current == {
        "carbon_intensity_gco2_kwh": 312.0,
        "is_forecast": False,
        "renewable_percentage": 33.5,
        "fossil_free_percentage": 34.0,
        "is_estimated": True,
        "emission_factor_type": "lifecycle",
        "region": "DE",
        "time": "2026-05-01T14:00:00+00:00",
    }
    for path in ELECTRICITYMAPS_ROUTES:
        (call,) = replay_server.calls("GET", path)
        assert call.query == {"zone": "DE"}
        assert call.headers["auth-token"] == KEY
    assert replay_server.calls("GET", FORECAST) == []  # free keys have no forecast
    assert replay_server.calls("GET", HISTORY) == []


def test_forecast_series_and_horizon_values_when_the_plan_has_it(replay_server, adapter):
    site, credentials = scenario(replay_server, forecast=True)
    replay_server.add(
        "GET", FORECAST, query=HORIZON, **fixture(replay_server, "carbon_intensity_forecast.json")
    )

    (headline,), series = split(run(adapter, site, credentials))

    raw = replay_server.load_fixture("electricitymaps/carbon_intensity_forecast.json")["forecast"]
    assert len(raw) == 48
    assert len(series) == 47  # the slot with a null value is left out, not stored as 0
    assert all(r.fields["slot_minutes"] == 60.0 for r in series)
    assert series[0].time.isoformat() == "2026-05-01T14:00:00+00:00"
    assert "2026-05-02T20:00:00+00:00" not in {r.time.isoformat() for r in series}
    # now + 1 h = 15:20 -> the 15:00 slot; now + 24 h = 14:20 tomorrow -> the 14:00 slot.
    assert headline.fields["forecast_1h"] == 307.0
    assert headline.fields["forecast_24h"] == 378.0
    (call,) = replay_server.calls("GET", FORECAST)
    assert call.query == {"zone": "DE", "horizonHours": "48"}


def test_forecast_asks_48_hours_so_forecast_24h_is_filled(replay_server, adapter):
    """Without horizonHours the API answers its default horizon; when that is shorter than
    24 h (here 24 hourly slots from 14:00, ending before now + 24 h = 14:20 tomorrow)
    forecast_24h and the plans beyond it would have no carbon."""
    site, credentials = scenario(replay_server, forecast=True)
    body = replay_server.load_fixture("electricitymaps/carbon_intensity_forecast.json")
    replay_server.add("GET", FORECAST, json={**body, "forecast": body["forecast"][:24]})
    replay_server.add("GET", FORECAST, query=HORIZON, json=body)

    (headline,), series = split(run(adapter, site, credentials))

    assert headline.fields.get("forecast_24h") == 378.0  # tomorrow's 14:00 slot, gCO2/kWh
    (call,) = replay_server.calls("GET", FORECAST)
    assert call.query_all == {"zone": ["DE"], "horizonHours": ["48"]}
    assert series[-1].time.isoformat() == "2026-05-03T13:00:00+00:00"  # 48 h from 14:00


def test_forecast_refused_by_the_plan_is_skipped_and_logged(replay_server, adapter, caplog):
    site, credentials = scenario(replay_server, forecast=True)
    replay_server.add(
        "GET", FORECAST, 403, query=HORIZON, json={"error": "Forecast not available on your plan"}
    )
    caplog.set_level(logging.INFO, logger="collectors.carbon.electricitymaps")

    (reading,) = run(adapter, site, credentials).readings

    assert reading.fields["carbon_intensity_gco2_kwh"] == 312.0
    assert "forecast_1h" not in reading.fields
    assert "forecast was refused (HTTP 403)" in caplog.text
    assert len(replay_server.calls("GET", FORECAST)) == 1


def test_null_percentages_are_left_out_and_spaced_keys_parse(replay_server, adapter):
    body = replay_server.load_fixture("electricitymaps/power_breakdown_latest.json")
    assert "hydro discharge" in body["powerConsumptionBreakdown"]
    assert body["powerProductionBreakdown"]["nuclear"] is None
    body["renewablePercentage"] = None
    site, credentials = scenario(replay_server, {"/v3/power-breakdown/latest": [{"json": body}]})

    (reading,) = run(adapter, site, credentials).readings

    assert dict(reading.fields) == {
        "carbon_intensity_gco2_kwh": 312.0,
        "is_forecast": False,
        "fossil_free_percentage": 34.0,
        "is_estimated": True,
        "emission_factor_type": "lifecycle",
    }


def test_percentages_of_another_hour_keep_their_own_timestamp(replay_server, adapter):
    body = replay_server.load_fixture("electricitymaps/power_breakdown_latest.json")
    body["datetime"] = "2026-05-01T13:00:00.000Z"
    site, credentials = scenario(replay_server, {"/v3/power-breakdown/latest": [{"json": body}]})

    earlier, latest = run(adapter, site, credentials).readings

    assert earlier.time.isoformat() == "2026-05-01T13:00:00+00:00"
    assert set(earlier.fields) == {"renewable_percentage", "fossil_free_percentage", "is_estimated"}
    assert latest.time.isoformat() == "2026-05-01T14:00:00+00:00"
    assert dict(latest.fields) == {
        "carbon_intensity_gco2_kwh": 312.0,
        "is_forecast": False,
        "is_estimated": True,
        "emission_factor_type": "lifecycle",
    }


def test_the_value_now_never_shows_shares_of_another_hour_as_its_own(replay_server, adapter):
    body = replay_server.load_fixture("electricitymaps/power_breakdown_latest.json")
    body["datetime"] = "2026-05-01T13:00:00.000Z"  # the breakdown lags the intensity by an hour
    site, credentials = scenario(replay_server, {"/v3/power-breakdown/latest": [{"json": body}]})

    result = run(adapter, site, credentials)

    # The value now (API, status page, Home Assistant) is the 14:00 hour's: 13:00's shares are
    # stored at 13:00, not shown as 14:00's.
    assert result.current == {
        "carbon_intensity_gco2_kwh": 312.0,
        "is_forecast": False,
        "is_estimated": True,
        "emission_factor_type": "lifecycle",
        "region": "DE",
        "time": "2026-05-01T14:00:00+00:00",
    }


def test_is_estimated_false_is_kept_and_an_answer_without_it_leaves_it_out(replay_server, adapter):
    latest = replay_server.load_fixture("electricitymaps/carbon_intensity_latest.json")
    latest["isEstimated"], latest["estimationMethod"] = False, None  # a measured hour
    breakdown = replay_server.load_fixture("electricitymaps/power_breakdown_latest.json")
    del breakdown["isEstimated"]  # older answers have no isEstimated
    site, credentials = scenario(
        replay_server,
        {
            "/v3/carbon-intensity/latest": [{"json": latest}],
            "/v3/power-breakdown/latest": [{"json": breakdown}],
        },
    )

    result = run(adapter, site, credentials)

    (reading,) = result.readings
    assert reading.fields["is_estimated"] is False
    assert "is_estimated=false" in reading.to_line()
    assert result.current["is_estimated"] is False
    del latest["isEstimated"]
    replay_server.reset()
    replay_server.add("GET", "/v3/carbon-intensity/latest", json=latest)
    replay_server.add("GET", "/v3/power-breakdown/latest", json=breakdown)
    (reading,) = run(adapter, site, credentials).readings
    assert "is_estimated" not in reading.fields  # unknown is not "false"


def test_invalid_token_is_an_auth_error_with_the_message_and_no_retry(replay_server, adapter):
    error = replay_server.load_fixture("electricitymaps/error_401.json")
    site, credentials = scenario(
        replay_server, {"/v3/carbon-intensity/latest": [{"status": 401, "json": error}]}
    )
    with pytest.raises(AuthError) as caught:
        run(adapter, site, credentials)
    assert caught.value.status == 401
    assert "Invalid authentication token" in caught.value.body_excerpt
    assert KEY not in str(caught.value)
    assert len(replay_server.calls("GET", "/v3/carbon-intensity/latest")) == 1
    assert replay_server.calls("GET", "/v3/power-breakdown/latest") == []


def test_a_zone_outside_the_keys_plan_is_named_in_the_error(replay_server, adapter):
    # A valid key whose plan has another zone (the free tier covers one, chosen at signup):
    # "check the API key" sent the user to the wrong setting.
    refused = {"status": 403, "json": {"error": "Zone FR is not included in your plan"}}
    site, credentials = scenario(replay_server, {"/v3/carbon-intensity/latest": [refused]})
    with pytest.raises(AuthError) as caught:
        run(adapter, replace(site, grid_region="FR"), credentials)
    message = str(caught.value)
    assert "refused zone 'FR' (HTTP 403)" in message
    assert "free personal tier covers the one zone chosen at signup" in message
    assert "grid region" in message
    assert "Zone FR is not included in your plan" in message
    assert caught.value.status == 403 and KEY not in message
    assert len(replay_server.calls("GET", "/v3/carbon-intensity/latest")) == 1


def test_backfill_after_an_outage_reads_the_missed_hours_from_history(replay_server, adapter):
    site, credentials = scenario(replay_server)
    replay_server.add("GET", HISTORY, **fixture(replay_server, "carbon_intensity_history.json"))

    result = run(adapter, site, credentials, window(timedelta(hours=6)))

    (call,) = replay_server.calls("GET", HISTORY)
    assert call.query == {"zone": "DE"}
    assert call.headers["auth-token"] == KEY
    now, _ = split(result)
    now.sort(key=lambda r: r.time)
    past = now[:-1]
    # window.start = 08:20: the hours 09:00..13:00; 14:00 is the latest reading itself.
    assert [r.time.hour for r in past] == [9, 10, 11, 12, 13]
    assert [r.fields["carbon_intensity_gco2_kwh"] for r in past] == [
        316.0,
        318.0,
        320.0,
        322.0,
        324.0,
    ]
    history = replay_server.load_fixture("electricitymaps/carbon_intensity_history.json")
    flags = {e["datetime"][:13]: e["isEstimated"] for e in history["history"]}
    assert [r.fields["is_estimated"] for r in past] == [
        flags[r.time.strftime("%Y-%m-%dT%H")] for r in past
    ]
    assert now[-1].time.isoformat() == "2026-05-01T14:00:00+00:00"
    assert result.history_error is None


def test_the_emission_factor_basis_of_each_value_is_stored_with_it(replay_server, adapter):
    # lifecycle (the default) and direct factors give different gCO2/kWh for one hour: a value
    # on the direct basis must not pass for a lifecycle one in the same series.
    latest = replay_server.load_fixture("electricitymaps/carbon_intensity_latest.json")
    latest["emissionFactorType"] = "direct"
    history = replay_server.load_fixture("electricitymaps/carbon_intensity_history.json")
    for entry in history["history"]:
        entry["emissionFactorType"] = "direct"
    del history["history"][-2]["emissionFactorType"]  # 13:00 does not say: left out
    site, credentials = scenario(replay_server, {"/v3/carbon-intensity/latest": [{"json": latest}]})
    replay_server.add("GET", HISTORY, json=history)

    result = run(adapter, site, credentials, window(timedelta(hours=2)))

    now, _ = split(result)
    bases = {r.time.hour: r.fields.get("emission_factor_type") for r in now}
    assert bases == {13: None, 14: "direct"}
    assert now[-1].fields["carbon_intensity_gco2_kwh"] == 312.0
    assert result.current["emission_factor_type"] == "direct"
    assert 'emission_factor_type="direct"' in now[-1].to_line()  # a string field


@pytest.mark.parametrize("basis", [7, "", True])
def test_an_emission_factor_basis_that_is_no_text_is_malformed(replay_server, adapter, basis):
    latest = replay_server.load_fixture("electricitymaps/carbon_intensity_latest.json")
    latest["emissionFactorType"] = basis
    site, credentials = scenario(replay_server, {"/v3/carbon-intensity/latest": [{"json": latest}]})
    with pytest.raises(MalformedResponse, match="emissionFactorType should be text"):
        run(adapter, site, credentials)


def test_backfill_of_a_long_outage_takes_the_24_hours_the_api_has(replay_server, adapter):
    site, credentials = scenario(replay_server)
    replay_server.add("GET", HISTORY, **fixture(replay_server, "carbon_intensity_history.json"))

    now, _ = split(run(adapter, site, credentials, window(timedelta(days=3))))

    # 24 hours served, one of them null (a gap stays a gap), the 14:00 one is the latest.
    assert len(now) - 1 == 22
    assert "2026-04-30T20:00:00+00:00" not in {r.time.isoformat() for r in now}


def test_no_zone_sends_coordinates_and_tags_the_zone_answered(replay_server, adapter):
    site, credentials = scenario(replay_server)
    home = SiteInfo(name="home", latitude=52.52, longitude=13.405)
    target = adapter.target(home, credentials)
    assert target.key == "52.5200,13.4050"

    (reading,) = adapter.fetch(target, credentials, window()).readings

    assert reading.tags["region"] == "DE"
    for path in ELECTRICITYMAPS_ROUTES:
        (call,) = replay_server.calls("GET", path)
        assert call.query == {"lat": "52.52", "lon": "13.405"}


def test_base_url_selects_the_api_version(replay_server, adapter):
    site, _ = scenario(replay_server)
    replay_server.reset()
    for path, name in ELECTRICITYMAPS_ROUTES.items():
        replay_server.add(
            "GET", path.replace("/v3/", "/v4/"), json=replay_server.load_fixture(name)
        )
    credentials = Credentials(api_key=KEY, options={"base_url": replay_server.url + "/v4/"})

    (reading,) = run(adapter, site, credentials).readings

    assert reading.fields["carbon_intensity_gco2_kwh"] == 312.0
    assert {r.path for r in replay_server.requests} == {
        "/v4/carbon-intensity/latest",
        "/v4/power-breakdown/latest",
    }


@pytest.mark.parametrize(
    ("path", "field", "value", "message"),
    [
        ("/v3/carbon-intensity/latest", "isEstimated", "yes",
         "isEstimated should be true or false"),
        ("/v3/carbon-intensity/latest", "carbonIntensity", None, "carbonIntensity is null"),
        ("/v3/power-breakdown/latest", "renewablePercentage", "33%",
         "renewablePercentage should be a number"),
    ],
    ids=["is_estimated_not_a_boolean", "null_intensity", "wrongly_typed_percentage"],
)  # fmt: skip
def test_a_wrong_value_in_an_answer_is_malformed(
    replay_server, adapter, path, field, value, message
):
    body = replay_server.load_fixture(ELECTRICITYMAPS_ROUTES[path])
    body[field] = value
    site, credentials = scenario(replay_server, {path: [{"json": body}]})
    with pytest.raises(MalformedResponse, match=message):
        run(adapter, site, credentials)


def test_non_json_answer_is_malformed(replay_server, adapter):
    html = {"body": "<html>502 Bad Gateway</html>", "headers": {"Content-Type": "text/html"}}
    site, credentials = scenario(replay_server, {"/v3/power-breakdown/latest": [html]})
    with pytest.raises(MalformedResponse, match="not JSON"):
        run(adapter, site, credentials)


def test_429_with_retry_after_is_honoured_once(replay_server, adapter):
    latest = replay_server.load_fixture(ELECTRICITYMAPS_ROUTES["/v3/carbon-intensity/latest"])
    limited = {"status": 429, "body": "", "headers": {"Retry-After": "1"}, "times": 1}
    site, credentials = scenario(
        replay_server, {"/v3/carbon-intensity/latest": [limited, {"json": latest}]}
    )
    (reading,) = run(adapter, site, credentials).readings
    assert reading.fields["carbon_intensity_gco2_kwh"] == 312.0
    first, second = replay_server.calls("GET", "/v3/carbon-intensity/latest")
    assert second.time - first.time >= 0.9


def test_missing_api_key_is_a_config_error(adapter):
    site = SiteInfo(name="home", latitude=1.0, longitude=2.0, grid_region="DE")
    with pytest.raises(ConfigError, match="ELECTRICITYMAPS_API_KEY"):
        adapter.target(site, Credentials())


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        # A key whose plan has no history (the body is the documented {"error": ...} shape).
        ({"status": 403, "json": {"error": "History is not available on your plan"}}, AuthError),
        ({"status": 503, "body": "upstream unavailable"}, TransientError),
        ({"json": {"zone": "DE", "history": "none"}}, MalformedResponse),
    ],
)
def test_a_failing_history_call_keeps_the_latest_values(
    replay_server, adapter, caplog, reply, error
):
    site, credentials = scenario(replay_server, forecast=True)
    replay_server.add(
        "GET", FORECAST, query=HORIZON, **fixture(replay_server, "carbon_intensity_forecast.json")
    )
    replay_server.add("GET", HISTORY, times=5, **reply)
    caplog.set_level(logging.WARNING, logger="collectors.base")

    result = run(adapter, site, credentials, window(timedelta(hours=6)))

    (headline,), series = split(result)
    assert headline.time.isoformat() == "2026-05-01T14:00:00+00:00"
    assert headline.fields["carbon_intensity_gco2_kwh"] == 312.0
    assert headline.fields["forecast_24h"] == 378.0
    assert len(series) == 47
    assert result.current["carbon_intensity_gco2_kwh"] == 312.0
    assert isinstance(result.history_error, error)
    assert "history call failed, the latest values are kept" in caplog.text


def test_no_history_call_while_the_pipeline_remembers_a_refusal(replay_server, adapter):
    site, credentials = scenario(replay_server)
    skipped = "history skipped: electricitymaps refused its history endpoint (HTTP 403)"
    win = Window(start=NOW - timedelta(hours=6), end=NOW, now=NOW, history_skipped=skipped)

    (reading,) = run(adapter, site, credentials, win).readings

    assert reading.fields["carbon_intensity_gco2_kwh"] == 312.0
    assert replay_server.calls("GET", HISTORY) == []
