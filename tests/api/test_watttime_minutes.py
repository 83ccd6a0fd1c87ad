"""What a WattTime user gets at every minute between fetches: InfluxDB, GET
/api/enrichment/current, /api/carbon/series and the Home Assistant states (MOER, percentile).

WattTime v3 answers in its documented shapes through the replay server: `/login` a token,
`/v3/signal-index` the percentile of the running 5 minutes, `/v3/forecast` (lbs_co2_per_mwh,
`meta.data_point_period_seconds` 300, `meta.generated_at`) one point per 5 minutes from the
running one. Point times are UTC whatever the site's zone.
"""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from tests.support.beat import run_every_minute_collectors
from tests.support.carbon_sites import served, states, watttime_config
from tests.support.now_points import at, newest_per_series
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

GCO2 = "carbon_intensity_gco2_kwh"
LBS = 0.453592
FETCH = datetime(2026, 5, 1, 14, 7, tzinfo=UTC)  # the scenario's: index and forecast of 14:05


def five(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def moers(body: dict) -> dict[datetime, float]:
    return {datetime.fromisoformat(p["point_time"]): p["value"] * LBS for p in body["data"]}


def shifted(body: dict, by: timedelta) -> dict:
    """`body` (an index or forecast answer) with every time moved by `by`."""
    body = copy.deepcopy(body)
    for point in body["data"]:
        point["point_time"] = (datetime.fromisoformat(point["point_time"]) + by).isoformat()
    if "generated_at" in body["meta"]:
        when = datetime.fromisoformat(body["meta"]["generated_at"]) + by
        body["meta"]["generated_at"] = when.isoformat()
    return body


def check_minute(api, storage, config, moment, fetched, forecast) -> dict:
    """What is served at `moment`: the 5 minutes running then, the fetched value while they are
    the fetched ones, the forecast's point (marked so) after; the same in InfluxDB, the series
    endpoint and Home Assistant. The entry's value."""
    start = five(moment)
    entry = served(api)
    value = entry["value"]
    assert entry["time"] == value["time"] == start.isoformat(), moment
    assert value[GCO2] == pytest.approx(forecast[start]), moment
    assert value["is_forecast"] is (start != fetched), moment
    assert value["forecast_1h"] == pytest.approx(forecast[five(moment + timedelta(hours=1))])
    assert value["moer_percentile"] == 37.0  # the fetched 5 minutes' percentile, with its time
    if start != fetched:
        assert value["moer_percentile_time"] == fetched.isoformat()
        assert value["slot_minutes"] == 5
    [point] = newest_per_series(storage, "carbon_intensity", moment)
    assert point.time == start, moment
    assert point.values[GCO2] == pytest.approx(value[GCO2])
    assert point.values["is_forecast"] is value["is_forecast"]
    series = api.get("/api/carbon/series", {"hours": 1}).json()
    assert series["actual"][-1]["time"] == start.isoformat(), moment
    assert series["actual"][-1]["value"] == pytest.approx(value[GCO2])
    assert series["forecast"][0]["time"] == start.isoformat(), moment
    ha = states(config)
    assert float(ha["carbon_intensity"].state) == pytest.approx(value[GCO2])
    assert ha["carbon_intensity"].attributes["data_time"] == start.isoformat()
    percentile = ha["carbon_moer_percentile"]
    assert float(percentile.state) == 37.0
    assert percentile.attributes["data_time"] == fetched.isoformat(), moment  # its own time
    return entry


def answers(by: timedelta = timedelta(0), forecast: dict | None = None) -> dict:
    """The scenario's index and forecast answers moved by `by` (`forecast`: another one)."""
    index = shifted(load_fixture("watttime/signal_index.json"), by)
    ahead = shifted(forecast or load_fixture("watttime/forecast_25h.json"), by)
    return {"/v3/signal-index": [{"json": index}], "/v3/forecast": [{"json": ahead}]}


def follow(api, storage, config, monkeypatch, replay_server, fetch_at, forecast, minutes=21):
    """Fetch at `fetch_at`, then each minute for `minutes` without a fetch (and the last second
    before the next 5 minutes and their first), checking what is served."""
    at(monkeypatch, fetch_at)
    assert pipeline.collect(config, now=fetch_at).status == "ok"
    calls = len(replay_server.requests)
    fetched = five(fetch_at)
    moments = [fetch_at + timedelta(minutes=m) for m in range(minutes)]
    moments += [fetched + timedelta(minutes=4, seconds=59), fetched + timedelta(minutes=5)]
    for moment in sorted(moments):
        at(monkeypatch, moment)
        run_every_minute_collectors()
        entry = check_minute(api, storage, config, moment, fetched, forecast)
        assert entry["fetched_at"] == fetch_at.isoformat()
    assert len(replay_server.requests) == calls  # all from what is stored


@pytest.mark.parametrize(
    "fetch_at",
    [
        FETCH,  # PDT
        datetime(2026, 3, 8, 9, 57, tzinfo=UTC),  # 01:57 PST; 10:00 UTC is 03:00 PDT
        datetime(2026, 11, 1, 8, 57, tzinfo=UTC),  # 01:57 PDT; 09:00 UTC is 01:00 PST
    ],
    ids=["pdt", "spring-forward", "fall-back"],
)
def test_each_five_minutes_after_a_fetch_and_20_minutes_without_one(
    own_storage, replay_server, api, monkeypatch, fetch_at
):
    """A fetch at :07 (or :57) of the index and forecast of :05 (:55); none for 20 minutes.
    4:59 after the fetched 5 minutes began they are still served as fetched; at 5:00 the
    forecast's next point, marked a forecast; across the site's clock change alike (UTC)."""
    by = fetch_at - FETCH
    config = watttime_config(replay_server, answers(by))
    forecast = {t + by: v for t, v in moers(load_fixture("watttime/forecast_25h.json")).items()}
    follow(api, own_storage, config, monkeypatch, replay_server, fetch_at, forecast)


def test_a_forecast_generated_an_hour_before_is_a_forecast_even_for_the_fetched_minutes(
    own_storage, replay_server, api, monkeypatch
):
    """WattTime's forecast is still the 13:05 run at 14:07 (`generated_at` an hour old): its
    14:05 point is a forecast of the running 5 minutes, never passed off as the real-time MOER,
    and the minutes after are served from it."""
    old = shifted(load_fixture("watttime/forecast_25h.json"), timedelta(hours=-1))
    assert old["meta"]["generated_at"] == "2026-05-01T13:05:00+00:00"
    config = watttime_config(replay_server, {"/v3/forecast": [{"json": old}]})
    forecast = moers(old)
    at(monkeypatch, FETCH)
    assert pipeline.collect(config, now=FETCH).status == "ok"
    for minute in (7, 9, 10, 14, 15, 27):
        moment = FETCH.replace(minute=minute)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        value = served(api)["value"]
        assert value["time"] == five(moment).isoformat(), moment
        assert value[GCO2] == pytest.approx(forecast[five(moment)])
        assert value["is_forecast"] is True, moment
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        assert point.values["is_forecast"] is True and point.time == five(moment)


def test_a_gap_in_the_forecast_serves_the_last_point_known_and_no_horizon_into_it(
    own_storage, replay_server, api, monkeypatch
):
    """The forecast leaves out 14:15 and 15:15: 14:15-14:19 serve the 14:10 point (last known,
    saying where it ended); forecast_1h is left out while now + 1 h falls in 15:15-15:20."""
    body = load_fixture("watttime/forecast_25h.json")
    missing = {"2026-05-01T14:15:00+00:00", "2026-05-01T15:15:00+00:00"}
    body["data"] = [p for p in body["data"] if p["point_time"] not in missing]
    config = watttime_config(replay_server, {"/v3/forecast": [{"json": body}]})
    forecast = moers(body)
    at(monkeypatch, FETCH)
    assert pipeline.collect(config, now=FETCH).status == "ok"
    ten = FETCH.replace(minute=10)
    for minute in (10, 14, 15, 17, 19, 20):
        moment = FETCH.replace(minute=minute)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        entry = served(api)
        value = entry["value"]
        start = ten if minute < 20 else FETCH.replace(minute=20)
        assert value["time"] == start.isoformat() and value[GCO2] == pytest.approx(forecast[start])
        assert value["is_forecast"] is True
        assert value.get("last_known", False) is (15 <= minute < 20), moment
        if 15 <= minute < 20:
            assert "ended at 2026-05-01T14:15:00+00:00" in entry["message"]
            assert "forecast_1h" not in value
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        assert point.time == start, moment


def test_free_plan_serves_the_fetched_percentile_with_its_time_never_as_gco2(
    own_storage, replay_server, api, monkeypatch
):
    """On the free plan only the index is known: every minute after the fetch serves the 14:05
    percentile with 14:05 as its time; no gCO2/kWh anywhere, no forecast asked for."""
    config = watttime_config(replay_server, plan="free")
    at(monkeypatch, FETCH)
    assert pipeline.collect(config, now=FETCH).status == "ok"
    assert replay_server.calls("GET", "/v3/forecast") == []
    for minute in (7, 10, 15, 21):
        moment = FETCH.replace(minute=minute)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        entry = served(api)
        assert entry["time"] == "2026-05-01T14:05:00+00:00"
        assert entry["value"]["moer_percentile"] == 37.0
        assert GCO2 not in entry["value"] and "is_forecast" not in entry["value"]
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        assert dict(point.values) == {"moer_percentile": 37.0} | {
            k: None for k in point.values if k != "moer_percentile"
        }
        ha = states(config)
        assert ha["carbon_intensity"].state is None
        assert float(ha["carbon_moer_percentile"].state) == 37.0
        assert ha["carbon_moer_percentile"].attributes["data_time"] == entry["time"]
    series = api.get("/api/carbon/series", {"hours": 1}).json()
    assert (series["field"], series["unit"]) == ("moer_percentile", "percentile (0-100)")
    assert series["actual"] == [{"time": entry["time"], "value": 37.0}]
    assert series["forecast"] == []


def test_a_401_after_the_token_expired_logs_in_again_and_serves_the_new_answer(
    own_storage, replay_server, api, monkeypatch
):
    """14:22: WattTime refuses the token of 14:07 (HTTP 401, expired): one login more, the call
    asked again with the new token, and the 14:20 values served."""
    later = FETCH + timedelta(minutes=15)
    first, second = answers(), answers(timedelta(minutes=15))
    token = "eyJhbGciOiJIUzI1NiJ9.replay-token-2.c2lnbmF0dXJl"
    replies = {
        "/login": [{"json": load_fixture("watttime/login.json"), "times": 1},
                   {"json": {"token": token}}],
        "/v3/signal-index": [{**first["/v3/signal-index"][0], "times": 1},
                             {"status": 401, "json": {"error": "token expired"}, "times": 1},
                             second["/v3/signal-index"][0]],
        "/v3/forecast": [{**first["/v3/forecast"][0], "times": 1}, second["/v3/forecast"][0]],
    }  # fmt: skip
    config = watttime_config(replay_server, replies)
    at(monkeypatch, FETCH)
    assert pipeline.collect(config, now=FETCH).status == "ok"
    at(monkeypatch, later)
    assert pipeline.collect(config, now=later).status == "ok"
    assert len(replay_server.calls("GET", "/login")) == 2
    *_, retried, ahead = [c for c in replay_server.requests if c.path.startswith("/v3/")]
    assert retried.headers["Authorization"] == ahead.headers["Authorization"] == f"Bearer {token}"
    forecast = {t + timedelta(minutes=15): v
                for t, v in moers(load_fixture("watttime/forecast_25h.json")).items()}  # fmt: skip
    entry = check_minute(api, own_storage, config, later, five(later), forecast)
    assert entry["fetched_at"] == later.isoformat()


@pytest.mark.parametrize(
    "status, body",
    [
        (400, {"error": "Invalid value for signal_type", "message": "signal_type is required"}),
        (403, {"error": "Forbidden", "message": "You do not have access to region CAISO_NORTH"}),
    ],
    ids=["400", "403"],
)
def test_an_error_answer_at_the_next_fetch_leaves_the_stored_forecast_served(
    own_storage, replay_server, api, monkeypatch, settings, status, body
):
    """14:22's fetch is answered with an error body: the run fails, saying what WattTime said,
    and 14:20-14:27 are served from the forecast stored at 14:07, marked so."""
    settings.HTTP_MAX_RETRIES, settings.HTTP_BACKOFF_SECONDS = 0, 0
    index = load_fixture("watttime/signal_index.json")
    replies = {"/v3/signal-index": [{"json": index, "times": 1}, {"status": status, "json": body}]}
    config = watttime_config(replay_server, replies)
    forecast = moers(load_fixture("watttime/forecast_25h.json"))
    at(monkeypatch, FETCH)
    assert pipeline.collect(config, now=FETCH).status == "ok"
    later = FETCH + timedelta(minutes=15)
    at(monkeypatch, later)
    run = pipeline.collect(config, now=later)
    assert run.status == "failed"
    assert body["message"] in (run.error or ""), run.error
    for minute in (22, 25, 27):
        moment = FETCH.replace(minute=minute)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        check_minute(api, own_storage, config, moment, five(FETCH), forecast)


def test_the_served_forecast_turns_stale_when_the_next_run_fails(
    own_storage, replay_server, api, monkeypatch, settings
):
    """On the real clock (a cache time is real seconds): fetched 15:30 minutes ago, past the 15
    minutes' cache time but within the next run's time limit, the 5 minutes running now come
    from the forecast, not stale; that run fails (HTTP 500): the same point is served, marked
    stale, with its fetch's time."""
    settings.HTTP_MAX_RETRIES, settings.HTTP_BACKOFF_SECONDS = 0, 0
    now = datetime.now(UTC).replace(microsecond=0)
    fetch_at = now - timedelta(minutes=15, seconds=30)  # 2 minutes before it would turn stale
    by = five(fetch_at) - five(FETCH)
    replies = answers(by)
    replies["/v3/signal-index"] = [{**replies["/v3/signal-index"][0], "times": 1},
                                   {"status": 500, "json": {"error": "Internal Server Error"}}]  # fmt: skip
    config = watttime_config(replay_server, replies)
    forecast = {t + by: v for t, v in moers(load_fixture("watttime/forecast_25h.json")).items()}
    at(monkeypatch, fetch_at)
    assert pipeline.collect(config, now=fetch_at).status == "ok"
    at(monkeypatch, now)
    run_every_minute_collectors()
    entry = check_minute(api, own_storage, config, now, five(fetch_at), forecast)
    assert entry["stale"] is False and entry["fetched_at"] == fetch_at.isoformat()
    assert pipeline.collect(config, now=now).status == "failed"
    again = check_minute(api, own_storage, config, now, five(fetch_at), forecast)
    assert again["stale"] is True and again["fetched_at"] == fetch_at.isoformat()
    assert again["value"] == entry["value"]
