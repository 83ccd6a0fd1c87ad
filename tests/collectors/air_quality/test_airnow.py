"""AirNow adapter against the local replay server: both API generations, errors, no-data."""

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from collectors.air_quality.airnow import AirNowAdapter
from collectors.air_quality.observations import category_number
from collectors.base import ConfigError, Credentials, SiteInfo, Window
from enrich.http import (
    AuthError,
    MalformedResponse,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from tests.collectors.scenarios_air_quality import SCENARIOS

CURRENT = "/aq/observation/current/ziplatlong/"
CLASSIC = "/aq/observation/latLong/current/"
KEY = "test-airnow-key-123"
NOW = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)


@pytest.fixture
def adapter() -> AirNowAdapter:
    return AirNowAdapter()


def window(now: datetime = NOW) -> Window:
    return Window(start=now - timedelta(hours=1), end=now, now=now)


def fixture(server, name):
    return server.load_fixture(f"airnow/{name}")


def fetch(adapter, server, site=None, options=None, now=NOW):
    site = site or SiteInfo(name="home", latitude=47.6021, longitude=-122.3290)
    credentials = Credentials(api_key=KEY, options={"base_url": server.url, **(options or {})})
    return adapter.fetch(adapter.target(site, credentials), credentials, window(now))


def by_parameter(result):
    return {r.tags["parameter"]: r for r in result.readings}


def test_current_shape_maps_aqi_per_pollutant_and_overall_max(replay_server, adapter):
    site, credentials, now = SCENARIOS["airnow"](replay_server)
    target = adapter.target(site, credentials)
    result = adapter.fetch(target, credentials, window(now))

    points = by_parameter(result)
    assert set(points) == {"overall", "PM2.5", "O3", "PM10"}
    observed = datetime(2026, 10, 8, 10, 0, tzinfo=UTC)  # 2026-10-08 03:00 PDT (UTC-7)
    assert all(r.time == observed and r.measurement == "air_quality" for r in result.readings)
    overall = points["overall"]
    assert overall.fields == {
        "aqi": 62.0,  # max(62, 35, 20)
        "category_number": 2.0,  # derived: 51-100 is Moderate
        "pm25": 62.0,
        "ozone": 35.0,
        "pm10": 20.0,
    }
    assert all(isinstance(v, float) for v in overall.fields.values())
    assert overall.tags == {
        "location": "Seattle-Bellevue-Kent Valley",
        "category": "Moderate",
        "parameter": "overall",
        "provider": "airnow",
        "lookup": "47.60,-122.33",  # what was asked: the site's position, two decimals
    }
    assert points["O3"].fields == {"aqi": 35.0, "category_number": 1.0}
    assert points["O3"].tags["category"] == "Good"
    assert points["PM2.5"].tags["category"] == "Moderate"
    assert overall.to_line().endswith(f" {int(observed.timestamp()) * 10**9}")

    assert result.current == {
        "aqi": 62.0,
        "category": "Moderate",
        "category_number": 2,
        "pm25": 62.0,
        "ozone": 35.0,
        "pm10": 20.0,
        "location": "Seattle-Bellevue-Kent Valley",
        "time": "2026-10-08T10:00:00+00:00",
        "endpoint": "current",
    }
    json.dumps(result.current)

    (call,) = replay_server.requests
    assert call.path == CURRENT
    assert call.query == {
        "format": "application/json",
        "API_KEY": KEY,
        "latitude": "47.6",
        "longitude": "-122.33",
    }
    assert target.key == "47.60,-122.33"
    assert adapter.endpoint == "current"


def test_classic_fallback_parses_pascal_case_and_is_remembered(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=404, json={"error": "Not Found"})
    replay_server.add("GET", CLASSIC, json=fixture(replay_server, "observation_classic.json"))

    result = fetch(adapter, replay_server)

    points = by_parameter(result)
    observed = datetime(2026, 5, 1, 23, 0, tzinfo=UTC)  # "2026-05-01 " 15 PST (UTC-8)
    assert {r.time for r in result.readings} == {observed}
    assert points["overall"].fields == {
        "aqi": 104.0,
        "category_number": 3.0,  # the API's Category.Number
        "pm25": 104.0,
        "ozone": 37.0,
        "pm10": 27.0,
    }
    assert points["overall"].tags["category"] == "Unhealthy for Sensitive Groups"
    assert points["overall"].tags["location"] == "Central LA CO"
    assert points["PM10"].fields == {"aqi": 27.0, "category_number": 1.0}
    assert result.current["endpoint"] == "classic"
    assert adapter.endpoint == "classic"
    assert replay_server.calls(path=CLASSIC)[0].query["distance"] == "25"

    fetch(adapter, replay_server)  # goes straight to the classic endpoint
    assert [r.path for r in replay_server.requests] == [CURRENT, CLASSIC, CLASSIC]


def test_remembered_classic_that_is_retired_later_goes_back_to_the_current_endpoint(
    replay_server, adapter
):
    replay_server.add("GET", CURRENT, status=404, times=1)
    replay_server.add("GET", CURRENT, json=fixture(replay_server, "observation_current.json"))
    replay_server.add(
        "GET", CLASSIC, json=fixture(replay_server, "observation_classic.json"), times=1
    )
    retired = fixture(replay_server, "classic_retired_410.json")
    replay_server.add("GET", CLASSIC, status=410, json=retired)
    fetch(adapter, replay_server)
    assert adapter.endpoint == "classic"

    result = fetch(adapter, replay_server)

    assert result.current["endpoint"] == "current" and adapter.endpoint == "current"
    assert [r.path for r in replay_server.requests] == [CURRENT, CLASSIC, CLASSIC, CURRENT]


def test_both_endpoints_gone_with_classic_retired_is_permanent_and_says_so(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=410)
    replay_server.add(
        "GET", CLASSIC, status=410, json=fixture(replay_server, "classic_retired_410.json")
    )

    with pytest.raises(PermanentError) as caught:
        fetch(adapter, replay_server)

    error = caught.value
    assert not isinstance(error, AuthError | MalformedResponse)
    assert "classic AirNow observation endpoint is retired (HTTP 410" in str(error)
    assert "base_url" in str(error)
    assert error.status == 410
    assert KEY not in str(error)
    # Permanent: one request to each, no retries.
    assert [r.path for r in replay_server.requests] == [CURRENT, CLASSIC]
    assert adapter.endpoint is None


def test_invalid_key_is_an_auth_error_after_exactly_one_request(replay_server, adapter):
    body = fixture(replay_server, "web_service_error_invalid_key.json")
    replay_server.add("GET", CURRENT, status=401, json=body)

    with pytest.raises(AuthError) as caught:
        fetch(adapter, replay_server)

    assert "Invalid API key" in str(caught.value)
    assert "AIRNOW_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value)
    assert caught.value.status == 401
    assert len(replay_server.requests) == 1


def test_auth_message_in_http_200_is_an_auth_error(replay_server, adapter):
    replay_server.add(
        "GET", CURRENT, json={"WebServiceError": [{"Message": "Request not authenticated"}]}
    )
    with pytest.raises(AuthError, match="Request not authenticated"):
        fetch(adapter, replay_server)
    assert len(replay_server.requests) == 1


@pytest.mark.parametrize(
    ("fixture_name", "said"),
    [
        ("web_service_error_no_data.json", "No data was found for the requested location"),
        ("observation_empty.json", "AirNow returned no observations for 47.60,-122.33"),
    ],
)
def test_no_data_answers_give_no_readings_and_say_why(replay_server, adapter, fixture_name, said):
    replay_server.add("GET", CURRENT, json=fixture(replay_server, fixture_name))

    result = fetch(adapter, replay_server)

    assert result.readings == []
    assert result.current["no_data"] is True
    assert said in result.current["message"]
    assert result.current["time"] is None
    assert result.current["checked_at"] == NOW.isoformat()
    json.dumps(result.current)
    assert [r.path for r in replay_server.requests] == [CURRENT]  # not a reason to fall back


def test_aqi_minus_one_is_missing_not_a_value(replay_server, adapter):
    replay_server.add(
        "GET", CURRENT, json=fixture(replay_server, "observation_current_partial.json")
    )

    # fetched at 14:40 PDT: the answer's 14:00 PDT hour has begun
    result = fetch(adapter, replay_server, now=datetime(2026, 10, 8, 21, 40, tzinfo=UTC))

    points = by_parameter(result)
    assert set(points) == {"overall", "PM2.5"}
    assert points["overall"].fields == {"aqi": 41.0, "category_number": 1.0, "pm25": 41.0}
    assert points["overall"].time == datetime(2026, 10, 8, 21, 0, tzinfo=UTC)
    assert "ozone" not in result.current


def test_only_missing_values_is_no_data(replay_server, adapter):
    rows = fixture(replay_server, "observation_current_partial.json")
    rows[0]["nowcastAQI"] = -1
    replay_server.add("GET", CURRENT, json=rows)

    result = fetch(adapter, replay_server)

    assert result.readings == [] and result.current["no_data"] is True
    assert "AQI -1" in result.current["message"]


def test_ozone_named_ozone_is_stored_as_o3(replay_server, adapter):
    rows = fixture(replay_server, "observation_current.json")
    rows[1]["parameterName"] = "OZONE"
    replay_server.add("GET", CURRENT, json=rows)

    points = by_parameter(fetch(adapter, replay_server))

    assert points["O3"].fields["aqi"] == 35.0
    assert points["overall"].fields["ozone"] == 35.0


@pytest.mark.parametrize(
    ("zone", "utc"),
    [
        # Atlantic Canada's summer, Newfoundland (half hours), the Aleutians' summer, American
        # Samoa and Guam: these observations were skipped as of an unknown time zone.
        ("ADT", "2026-10-08T06:00:00+00:00"),
        ("NST", "2026-10-08T06:30:00+00:00"),
        ("NDT", "2026-10-08T05:30:00+00:00"),
        ("HDT", "2026-10-08T12:00:00+00:00"),
        ("SST", "2026-10-08T14:00:00+00:00"),
        ("ChST", "2026-10-07T17:00:00+00:00"),
        ("PDT", "2026-10-08T10:00:00+00:00"),
    ],
)
def test_the_zones_of_every_area_airnow_reports_are_placed_in_utc(
    replay_server, adapter, caplog, zone, utc
):
    rows = fixture(replay_server, "observation_current.json")
    for row in rows:
        row.update(dateObserved="2026-10-08", hourObserved="03:00", localTimeZone=zone)
    replay_server.add("GET", CURRENT, json=rows)
    caplog.set_level(logging.WARNING, logger="collectors.air_quality.observations")

    # fetched at 14:40 UTC, when 03:00 of each of these zones has begun (SST's last)
    result = fetch(adapter, replay_server, now=datetime(2026, 10, 8, 14, 40, tzinfo=UTC))

    assert "unknown time zone" not in caplog.text and not result.notes
    assert {r.time.isoformat() for r in result.readings} == {utc}
    assert len(by_parameter(result)) == len(rows) + 1  # each pollutant and the overall


@pytest.mark.parametrize(
    ("endpoint", "name", "zone_field"),
    [
        (CURRENT, "observation_current.json", "localTimeZone"),
        (CLASSIC, "observation_classic.json", "LocalTimeZone"),
    ],
)
def test_an_unknown_time_zone_skips_that_observation_with_a_warning(
    replay_server, adapter, caplog, endpoint, name, zone_field
):
    rows = fixture(replay_server, name)
    assert len(rows) >= 2
    first = rows[0].get("parameterName") or rows[0]["ParameterName"]
    rows[0][zone_field] = "XST"
    if endpoint == CLASSIC:
        adapter.endpoint = "classic"  # remembered from an earlier fetch
    replay_server.add("GET", endpoint, json=rows)
    caplog.set_level(logging.WARNING, logger="collectors.air_quality.observations")

    result = fetch(adapter, replay_server)

    points = by_parameter(result)
    others = {r.get("parameterName") or r["ParameterName"] for r in rows[1:]}
    assert set(points) == {"overall"} | {"O3" if p == "OZONE" else p for p in others}
    assert first not in points
    assert all(r.time.tzinfo is not None for r in result.readings)
    assert f"observation 0 ({first}) skipped: unknown time zone 'XST'" in caplog.text
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    (note,) = result.notes  # said on the run record too
    assert "unknown time zone 'XST'" in note


def test_only_unknown_time_zones_is_no_data_that_says_why(replay_server, adapter):
    rows = fixture(replay_server, "observation_current.json")
    for row in rows:
        row["localTimeZone"] = "XST"
    replay_server.add("GET", CURRENT, json=rows)

    result = fetch(adapter, replay_server)

    assert result.readings == [] and result.current["no_data"] is True
    assert "no usable observation" in result.current["message"]
    assert "unknown time zone 'XST'" in result.current["message"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        # a row with no AQI (null, "62") leaves its pollutant out: test_airnow_no_value.py
        ({"aqiCategoryName": None}, "field 'aqiCategoryName' is NoneType None"),
        ({"parameterName": 3}, "field 'parameterName' is int 3"),
        ({"hourObserved": "3 AM"}, "hourObserved '3 AM' is not HH:00"),
        ({"dateObserved": "10/08/2026"}, "date '10/08/2026' is not YYYY-MM-DD"),
    ],
)
def test_wrong_fields_are_malformed_with_the_reason(replay_server, adapter, change, problem):
    rows = fixture(replay_server, "observation_current.json")
    rows[2].update(change)
    replay_server.add("GET", CURRENT, json=rows)

    with pytest.raises(MalformedResponse, match="observation 2") as caught:
        fetch(adapter, replay_server)
    assert problem in str(caught.value)


def test_missing_field_and_non_list_body_are_malformed(replay_server, adapter):
    rows = fixture(replay_server, "observation_current.json")
    del rows[0]["reportingAreaName"]
    replay_server.add("GET", CURRENT, json=rows, times=1)
    replay_server.add("GET", CURRENT, json={"observations": []})

    with pytest.raises(MalformedResponse, match="'reportingAreaName' is missing"):
        fetch(adapter, replay_server)
    with pytest.raises(MalformedResponse, match="expected a list of observations, got dict"):
        fetch(adapter, replay_server)


def test_classic_category_number_out_of_range_is_malformed(replay_server, adapter):
    rows = fixture(replay_server, "observation_classic.json")
    rows[0]["Category"]["Number"] = 9
    replay_server.add("GET", CURRENT, status=404)
    replay_server.add("GET", CLASSIC, json=rows)

    with pytest.raises(MalformedResponse, match="Category.Number 9 is not 1-6"):
        fetch(adapter, replay_server)


def test_429_waits_for_retry_after_then_succeeds(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=429, headers={"Retry-After": "0"}, body="", times=1)
    replay_server.add("GET", CURRENT, json=fixture(replay_server, "observation_current.json"))

    result = fetch(adapter, replay_server)

    assert result.current["aqi"] == 62.0
    assert len(replay_server.calls(path=CURRENT)) == 2


def test_429_with_a_long_retry_after_is_rate_limited_without_waiting(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=429, headers={"Retry-After": "1800"}, body="")

    with pytest.raises(RateLimitedError) as caught:
        fetch(adapter, replay_server)

    assert caught.value.retry_after == 1800
    assert len(replay_server.requests) == 1


def test_5xx_is_retried_then_succeeds(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=503, body="Service Unavailable", times=1)
    replay_server.add("GET", CURRENT, json=fixture(replay_server, "observation_current.json"))

    assert fetch(adapter, replay_server).current["aqi"] == 62.0
    assert len(replay_server.requests) == 2


def test_persistent_5xx_is_transient_and_does_not_fall_back(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=500, body="Internal Server Error")
    replay_server.add("GET", CLASSIC, json=fixture(replay_server, "observation_classic.json"))

    with pytest.raises(TransientError, match="HTTP 500"):
        fetch(adapter, replay_server)

    assert [r.path for r in replay_server.requests] == [CURRENT, CURRENT]  # 1 + 1 retry


def test_hang_longer_than_the_timeout_is_transient(replay_server, adapter, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    settings.HTTP_MAX_RETRIES = 0
    replay_server.add("GET", CURRENT, json=[], delay=3)

    started = time.monotonic()
    with pytest.raises(TransientError, match="no answer within 0.3 s"):
        fetch(adapter, replay_server)
    assert time.monotonic() - started < 3  # gave up at the timeout, did not wait for the answer


def test_zip_code_option_targets_the_zip_on_both_generations(replay_server, adapter):
    replay_server.add("GET", CURRENT, status=404, times=1)
    replay_server.add("GET", "/aq/observation/zipCode/current/", json=[])
    site = SiteInfo(name="home", latitude=47.6021, longitude=-122.3290)
    credentials = Credentials(
        api_key=KEY, options={"base_url": replay_server.url, "zip_code": "98104"}
    )

    target = adapter.target(site, credentials)
    adapter.fetch(target, credentials, window())

    assert target.key == "zip-98104"
    current_call, classic_call = replay_server.requests
    assert current_call.query == {"format": "application/json", "API_KEY": KEY, "zipCode": "98104"}
    assert classic_call.path == "/aq/observation/zipCode/current/"
    assert classic_call.query["zipCode"] == "98104" and "latitude" not in classic_call.query


def test_a_zip_code_airnow_refuses_names_the_zip_code_option(replay_server, adapter):
    # AirNow answers an unknown ZIP code with HTTP 400: the error says which setting to fix,
    # not "region, zone, tariff", and does not fall back to the classic service.
    said = {"WebServiceError": [{"Message": "Invalid ZIP code"}]}
    replay_server.add("GET", CURRENT, status=400, json=said)

    with pytest.raises(PermanentError) as caught:
        fetch(adapter, replay_server, options={"zip_code": "00000"})

    message = str(caught.value)
    assert caught.value.status == 400
    assert "options zip_code" in message and "tariff" not in message
    assert "Invalid ZIP code" in message and KEY not in message
    assert len(replay_server.requests) == 1


@pytest.mark.parametrize(
    ("site", "options", "api_key", "message"),
    [
        (SiteInfo("home", 47.6, -122.3), {"zip_code": "981"}, KEY, "not a 5-digit US ZIP code"),
        (SiteInfo("home", 0.0, 0.0), {}, KEY, "no usable coordinates"),
        (SiteInfo("home", 95.0, 10.0), {}, KEY, "no usable coordinates"),
        (SiteInfo("home", 47.6, -122.3), {}, "", "AIRNOW_API_KEY"),
    ],
)
def test_settings_it_cannot_use_are_config_errors(adapter, site, options, api_key, message):
    credentials = Credentials(
        api_key=api_key, options={"base_url": "http://127.0.0.1:9", **options}
    )
    with pytest.raises(ConfigError, match=message):
        adapter.fetch(adapter.target(site, credentials), credentials, window())


def test_neighbours_share_one_target(adapter):
    credentials = Credentials(api_key=KEY)
    a = adapter.target(SiteInfo("a", 47.60211, -122.32904), credentials)
    b = adapter.target(SiteInfo("b", 47.60388, -122.33401), credentials)
    assert a == b and a.params == {"latitude": 47.6, "longitude": -122.33}


@pytest.mark.parametrize(
    ("aqi", "number"),
    [(0, 1), (50, 1), (51, 2), (100, 2), (101, 3), (150, 3), (151, 4), (200, 4), (201, 5),
     (300, 5), (301, 6), (500, 6), (640, 6)],
)  # fmt: skip
def test_category_number_follows_the_documented_breakpoints(aqi, number):
    assert category_number(aqi) == number


def test_class_attributes():
    assert AirNowAdapter.source == "air_quality" and AirNowAdapter.provider == "airnow"
    assert AirNowAdapter.budget == "500/hour" and AirNowAdapter.budget_scope == "account"
    assert AirNowAdapter.history is None


def test_service_not_found_message_in_http_200_falls_back_to_classic(replay_server, adapter):
    replay_server.add(
        "GET", CURRENT, json={"WebServiceError": [{"Message": "Web service not found"}]}
    )
    replay_server.add("GET", CLASSIC, json=fixture(replay_server, "observation_classic.json"))

    result = fetch(adapter, replay_server)

    assert result.current["endpoint"] == "classic" and result.current["aqi"] == 104.0
    assert [r.path for r in replay_server.requests] == [CURRENT, CLASSIC]
