"""UK Carbon Intensity adapter against the local replay server: national and regional shapes."""

from datetime import timedelta

import pytest

from collectors.base import ConfigError, Credentials, SiteInfo, Window
from collectors.carbon.uk_carbon_intensity import UKCarbonIntensityAdapter
from enrich.http import MalformedResponse, PermanentError, TransientError
from tests.collectors.scenarios_carbon import (
    SCENARIOS,
    UK_NOW,
    UK_POSTCODE_ROUTES,
    carbon_tags,
    fetch_checked,
    serve,
    split,
)

NOW = UK_NOW  # 12:10Z: the current half hour starts 12:00Z
NATIONAL = {
    "/intensity": "uk_carbon_intensity/intensity.json",
    "/intensity/2026-05-01T11:00Z/fw48h": "uk_carbon_intensity/national_fw48h.json",
}
REGION_ID = {
    "/regional/regionid/12": "uk_carbon_intensity/regional_regionid.json",
    "/regional/intensity/2026-05-01T12:00Z/fw48h/regionid/12": (
        "uk_carbon_intensity/regional_fw48h_regionid.json"
    ),
}
POSTCODE = UK_POSTCODE_ROUTES


@pytest.fixture
def adapter() -> UKCarbonIntensityAdapter:
    return UKCarbonIntensityAdapter()


def load(server, name):
    return server.load_fixture(f"uk_carbon_intensity/{name}")


def site(grid_region: str) -> SiteInfo:
    return SiteInfo(name="home", latitude=51.48, longitude=-0.86, grid_region=grid_region)


def run(adapter, server, grid_region, start_ago=timedelta(minutes=15)):
    credentials = Credentials(options={"base_url": server.url})
    window = Window(start=NOW - start_ago, end=NOW, now=NOW)
    return fetch_checked(adapter, site(grid_region), credentials, window)


def test_national_current_uses_the_forecast_while_actual_is_null(replay_server, adapter):
    serve(replay_server, NATIONAL)
    result = run(adapter, replay_server, "GB")

    (headline,), series = split(result)
    assert headline.time.isoformat() == "2026-05-01T12:00:00+00:00"
    assert headline.tags == carbon_tags("uk_carbon_intensity", "GB")
    assert dict(headline.fields) == {
        "carbon_intensity_gco2_kwh": 266.0,
        "is_forecast": True,
        "intensity_index": "high",
        "forecast_1h": 201.0,  # now + 1 h = 13:10 -> the 13:00 slot
        "forecast_24h": 144.0,  # 12:10 tomorrow -> tomorrow's 12:00 slot
    }
    assert "renewable_percentage" not in headline.fields  # the national answer has no mix
    assert len(series) == 96
    assert all(r.fields["slot_minutes"] == 30.0 for r in series)
    assert series[0].time.isoformat() == "2026-05-01T12:00:00+00:00"
    assert series[-1].time.isoformat() == "2026-05-03T11:30:00+00:00"
    assert series[2].fields["carbon_intensity_gco2_kwh"] == 201.0
    assert result.current["time"] == "2026-05-01T12:00:00+00:00"
    assert result.current["is_forecast"] is True
    assert [r.path for r in replay_server.requests] == list(NATIONAL)
    assert all(r.headers.get("Authorization") is None for r in replay_server.requests)


def test_national_current_prefers_the_actual_value(replay_server, adapter):
    actual = {"json": load(replay_server, "intensity_actual.json")}
    serve(replay_server, NATIONAL, {"/intensity": [actual]})
    (headline,), _ = split(run(adapter, replay_server, ""))
    assert headline.fields["carbon_intensity_gco2_kwh"] == 263.0
    assert headline.fields["is_forecast"] is False


def test_finished_half_hours_get_their_actual_once_neso_publishes_it(replay_server, adapter):
    # NESO's actual is null until a half hour ends: the fetches while 11:30-12:00 ran stored
    # its forecast (is_forecast true). The 12:10 fetch asks from 11:00 again: the two half
    # hours that ended now have an actual, which replaces the forecast stored for them.
    ahead = load(replay_server, "national_fw48h.json")
    assert [s["from"] for s in ahead["data"][:3]] == [
        "2026-05-01T11:00Z",
        "2026-05-01T11:30Z",
        "2026-05-01T12:00Z",
    ]
    ahead["data"][0]["intensity"].update(actual=181, index="high")
    ahead["data"][1]["intensity"]["actual"] = 149
    fw48h = "/intensity/2026-05-01T11:00Z/fw48h"
    # (Asked from the running half hour, as before, the answer has no finished half hour.)
    from_now = {"json": {"data": ahead["data"][2:]}}
    serve(
        replay_server,
        NATIONAL,
        {fw48h: [{"json": ahead}], fw48h.replace("11:00", "12:00"): [from_now]},
    )

    result = run(adapter, replay_server, "GB")

    now, series = split(result)
    assert [(r.time.strftime("%H:%M"), dict(r.fields)) for r in now[:2]] == [
        ("11:00", {"carbon_intensity_gco2_kwh": 181.0, "is_forecast": False, "intensity_index": "high"}),
        ("11:30", {"carbon_intensity_gco2_kwh": 149.0, "is_forecast": False, "intensity_index": "moderate"}),
    ]  # fmt: skip
    assert now[2].time.strftime("%H:%M") == "12:00"  # the running half hour: forecast
    assert now[2].fields["is_forecast"] is True
    assert len(now) == 3
    # The forecast series starts at the running half hour: no finished slot is a forecast.
    assert series[0].time.isoformat() == "2026-05-01T12:00:00+00:00"
    assert len(series) == 96
    assert result.current["time"] == "2026-05-01T12:00:00+00:00"
    assert [r.path for r in replay_server.requests] == ["/intensity", fw48h]  # no extra call


def test_finished_half_hours_without_an_actual_yet_are_not_rewritten(replay_server, adapter):
    serve(replay_server, NATIONAL)  # 11:00 and 11:30 have "actual": null in the fixture
    now, series = split(run(adapter, replay_server, "GB"))
    assert [r.time.strftime("%H:%M") for r in now] == ["12:00"]  # no forecast as an actual
    assert min(r.time for r in series).strftime("%H:%M") == "12:00"


@pytest.mark.parametrize(
    ("grid_region", "routes"),
    [("RG10", POSTCODE), ("rg10 9xx", POSTCODE), ("RG109XX", POSTCODE), ("12", REGION_ID)],
)
def test_regional_answers_with_array_and_object_data(replay_server, adapter, grid_region, routes):
    # /regional/postcode|regionid answer data as an ARRAY, .../fw48h/... as an OBJECT.
    assert isinstance(replay_server.load_fixture(list(routes.values())[0])["data"], list)
    assert isinstance(replay_server.load_fixture(list(routes.values())[1])["data"], dict)
    serve(replay_server, routes)

    (headline,), series = split(run(adapter, replay_server, grid_region))

    assert headline.tags == carbon_tags("uk_carbon_intensity", "South England", "SSE South")
    assert headline.fields["carbon_intensity_gco2_kwh"] == 266.0
    assert headline.fields["is_forecast"] is True  # regional data is forecast only
    assert headline.fields["intensity_index"] == "high"
    # wind 6.8 + solar 18.1 + hydro 2.2 + biomass 4.2
    assert headline.fields["renewable_percentage"] == pytest.approx(31.3)
    assert headline.fields["forecast_1h"] == 188.0
    assert headline.fields["forecast_24h"] == 97.0
    assert len(series) == 96
    assert {r.fields["slot_minutes"] for r in series} == {30.0}
    assert all(r.tags == headline.tags for r in series)
    assert [r.path for r in replay_server.requests] == list(routes)


@pytest.mark.parametrize(
    ("grid_region", "key"),
    [
        ("", "GB"),
        ("national", "GB"),
        ("gb", "GB"),
        ("17", "regionid/17"),
        ("EH1 1YZ", "postcode/EH1"),
        ("sw1a", "postcode/SW1A"),
        # a full postcode written without its space: the outward code (was refused)
        ("EH11YZ", "postcode/EH1"),
        ("sw1a1aa", "postcode/SW1A"),
        ("RG101AA", "postcode/RG10"),
        ("M11AE", "postcode/M1"),
    ],
)
def test_grid_region_picks_the_target(adapter, grid_region, key):
    assert adapter.target(site(grid_region), Credentials()).key == key


@pytest.mark.parametrize(
    ("grid_region", "hint"), [("18", "1-17"), ("0", "1-17"), ("not/ok", "postcode")]
)
def test_unusable_grid_region_is_a_config_error(adapter, grid_region, hint):
    with pytest.raises(ConfigError, match=hint):
        adapter.target(site(grid_region), Credentials())


def test_error_body_is_a_permanent_error_with_the_message_and_no_retry(replay_server, adapter):
    error = {"status": 400, "json": load(replay_server, "error_400.json")}
    serve(replay_server, POSTCODE, {"/regional/postcode/RG10": [error]})
    with pytest.raises(PermanentError) as caught:
        run(adapter, replay_server, "RG10")
    assert caught.value.status == 400
    assert "Please enter a valid postcode outward code" in caught.value.body_excerpt
    assert "400 Bad Request" in caught.value.body_excerpt
    assert len(replay_server.requests) == 1


def test_a_postcode_neso_does_not_know_names_the_grid_region_setting(replay_server, adapter):
    # NESO answers an unknown outward code with HTTP 400 and its documented error body: the
    # error names the site's grid_region holding it, not "region, zone, tariff".
    error = {"status": 400, "json": load(replay_server, "error_400.json")}
    serve(replay_server, {}, {"/regional/postcode/ZZ9": [error]})

    with pytest.raises(PermanentError) as caught:
        run(adapter, replay_server, "ZZ9 9ZZ")

    message = str(caught.value)
    assert caught.value.status == 400
    assert "grid_region" in message and "'ZZ9'" in message
    assert "not a postcode NESO knows" in message and "RG10" in message
    assert "tariff" not in message
    assert "Please enter a valid postcode outward code" in message
    assert len(replay_server.requests) == 1


def test_national_backfill_requests_from_window_start_to_the_current_slot(replay_server, adapter):
    path = "/intensity/2026-05-01T07:00Z/2026-05-01T12:00Z"
    serve(replay_server, {**NATIONAL, path: "uk_carbon_intensity/national_range.json"})

    now, _ = split(run(adapter, replay_server, "GB", start_ago=timedelta(hours=5)))

    assert [r.path for r in replay_server.requests][-1] == path
    past = now[:-1]
    # 07:00 .. 11:30: ten half hours, all with an actual value.
    assert [r.time.strftime("%H:%M") for r in past] == [
        "07:00",
        "07:30",
        "08:00",
        "08:30",
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    raw = {s["from"]: s["intensity"] for s in load(replay_server, "national_range.json")["data"]}
    for reading in past:
        slot = raw[reading.time.strftime("%Y-%m-%dT%H:%MZ")]
        assert reading.fields["carbon_intensity_gco2_kwh"] == float(slot["actual"])
        assert reading.fields["is_forecast"] is False
        assert reading.fields["intensity_index"] == slot["index"]


def test_national_backfill_goes_back_one_day_at_most(replay_server, adapter):
    path = "/intensity/2026-04-30T12:00Z/2026-05-01T12:00Z"
    serve(replay_server, {**NATIONAL, path: "uk_carbon_intensity/national_range.json"})
    now, _ = split(run(adapter, replay_server, "GB", start_ago=timedelta(days=4)))
    assert replay_server.requests[-1].path == path
    assert len(now) == 48 + 1


def test_regional_backfill_uses_the_past_24_hours(replay_server, adapter):
    path = "/regional/intensity/2026-05-01T12:00Z/pt24h/regionid/12"
    serve(replay_server, {**REGION_ID, path: "uk_carbon_intensity/regional_pt24h_regionid.json"})

    now, _ = split(run(adapter, replay_server, "12", start_ago=timedelta(hours=2)))

    assert replay_server.requests[-1].path == path
    # window.start 10:10 -> from the 10:00 half hour; four of them before the current one.
    assert [r.time.strftime("%H:%M") for r in now] == ["10:00", "10:30", "11:00", "11:30", "12:00"]
    assert all(r.fields["is_forecast"] is True for r in now)
    assert all("renewable_percentage" in r.fields for r in now)


@pytest.mark.parametrize(
    ("grid_region", "routes", "path"),
    [
        ("GB", NATIONAL, "/intensity/2026-05-01T07:00Z/2026-05-01T12:00Z"),
        ("12", REGION_ID, "/regional/intensity/2026-05-01T12:00Z/pt24h/regionid/12"),
    ],
)
@pytest.mark.parametrize("status", [400, 500])
def test_a_failing_backfill_keeps_the_current_half_hour_and_forecast(
    replay_server, adapter, grid_region, routes, path, status
):
    # NESO's documented error body, for a 400 and for a 500 alike.
    error = {"code": f"{status} Error", "message": "Something went wrong with the request"}
    replay_server.add("GET", path, status=status, json={"error": error}, times=5)
    serve(replay_server, routes)

    result = run(adapter, replay_server, grid_region, start_ago=timedelta(hours=5))

    now, series = split(result)
    (current,) = now  # the 12:00 half hour, nothing from the failed backfill
    assert current.time.strftime("%H:%M") == "12:00"
    assert result.current["time"] == "2026-05-01T12:00:00+00:00"
    assert len(series) == 96  # the 48 h forecast, half hourly
    expected = PermanentError if status == 400 else TransientError
    assert isinstance(result.history_error, expected)
    assert result.history_error.status == status
    assert "Something went wrong" in result.history_error.body_excerpt


def test_no_backfill_call_in_a_normal_run(replay_server, adapter):
    serve(replay_server, NATIONAL)
    run(adapter, replay_server, "GB", start_ago=timedelta(minutes=15))
    assert len(replay_server.requests) == 2


def test_no_backfill_call_while_the_pipeline_remembers_a_refusal(replay_server, adapter):
    serve(replay_server, NATIONAL)
    credentials = Credentials(options={"base_url": replay_server.url})
    window = Window(NOW - timedelta(hours=5), NOW, NOW, history_skipped="history skipped: ...")
    result = adapter.fetch(adapter.target(site("GB"), credentials), credentials, window)
    assert [r.path for r in replay_server.requests] == list(NATIONAL)
    assert len(split(result)[0]) == 1


def test_unknown_index_value_is_malformed(replay_server, adapter):
    body = load(replay_server, "intensity.json")
    body["data"][0]["intensity"]["index"] = "extreme"
    serve(replay_server, NATIONAL, {"/intensity": [{"json": body}]})
    with pytest.raises(MalformedResponse, match="'extreme' is not one of"):
        run(adapter, replay_server, "GB")


def test_empty_region_list_is_malformed(replay_server, adapter):
    serve(replay_server, POSTCODE, {"/regional/postcode/RG10": [{"json": {"data": []}}]})
    with pytest.raises(MalformedResponse, match="expected one region"):
        run(adapter, replay_server, "RG10")


def test_non_json_answer_is_malformed(replay_server, adapter):
    html = {"body": "<html>Service Unavailable</html>", "headers": {"Content-Type": "text/html"}}
    serve(replay_server, NATIONAL, {"/intensity": [html]})
    with pytest.raises(MalformedResponse, match="not JSON"):
        run(adapter, replay_server, "GB")


def test_429_with_retry_after_is_honoured_once(replay_server, adapter):
    limited = {"status": 429, "body": "", "headers": {"Retry-After": "1"}, "times": 1}
    ok = {"json": load(replay_server, "intensity.json")}
    serve(replay_server, NATIONAL, {"/intensity": [limited, ok]})
    (headline,), _ = split(run(adapter, replay_server, "GB"))
    assert headline.fields["carbon_intensity_gco2_kwh"] == 266.0
    first, second = replay_server.calls("GET", "/intensity")
    assert second.time - first.time >= 0.9


def test_contract_scenario_runs(replay_server, adapter):
    site_info, credentials, now = SCENARIOS["uk_carbon_intensity"](replay_server)
    window = Window(start=now - timedelta(minutes=15), end=now, now=now)
    result = adapter.fetch(adapter.target(site_info, credentials), credentials, window)
    assert result.current["region"] == "South England"
    assert len(result.readings) == 1 + 96
