"""The carbon values a user gets at every minute between fetches: what InfluxDB holds, what
GET /api/enrichment/current and /api/carbon/series serve and the Home Assistant states.

UK Carbon Intensity (national: `/intensity` and `/intensity/{from}/fw48h`, times in UTC "Z"
strings, `actual` null for the running and future half hours) and Electricity Maps (v3
`carbon-intensity/latest`, `power-breakdown/latest`, `/forecast`) answer in their documented
shapes through the replay server; the clock then moves on minute by minute without a fetch.
"""

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.collectors import scenarios_carbon
from tests.support.beat import run_every_minute_collectors
from tests.support.carbon_sites import served, states, stored_config
from tests.support.now_points import at, newest_per_series
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

GCO2 = "carbon_intensity_gco2_kwh"
INDEX = ("very low", "low", "moderate", "high", "very high")


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def half_hours(start: datetime, count: int, actual_until: datetime | None = None) -> list:
    """NESO national slots from `start`: forecast 100 + n (n = the slot's number), `actual`
    100 + n - 7 for the slots ending by `actual_until`, null after."""
    slots = []
    for n in range(count):
        begin = start + timedelta(minutes=30 * n)
        end = begin + timedelta(minutes=30)
        actual = 100 + n - 7 if actual_until is not None and end <= actual_until else None
        slots.append({"from": z(begin), "to": z(end),
                      "intensity": {"forecast": 100 + n, "actual": actual,
                                    "index": INDEX[n % 5]}})  # fmt: skip
    return slots


def uk_national(replay_server, fetch_at: datetime, actual_until: datetime | None = None):
    """NESO's answers for a fetch at `fetch_at`: its half hour and the 48 h from an hour back."""
    start = fetch_at.replace(minute=fetch_at.minute - fetch_at.minute % 30, second=0)
    since = start - timedelta(hours=1)
    ahead = half_hours(since, 98, actual_until)
    replay_server.add("GET", "/intensity", json={"data": [copy.deepcopy(ahead[2])]})
    replay_server.add("GET", f"/intensity/{z(since)}/fw48h", json={"data": ahead})
    return {datetime.fromisoformat(s["from"].replace("Z", "+00:00")): s for s in ahead}


def national_config(replay_server) -> ProviderConfig:
    site = Site.objects.create(name="London", latitude=51.51, longitude=-0.13,
                               timezone="Europe/London", grid_region="GB")  # fmt: skip
    return ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                         provider="uk_carbon_intensity",
                                         options={"base_url": replay_server.url})  # fmt: skip


def points_at(database: str, when: datetime) -> list:
    query = 'SELECT * FROM "carbon_intensity" WHERE time = $t GROUP BY *'
    return list(get_timeseries().query(database, query, params={"t": when}))


def collect_at(monkeypatch, config: ProviderConfig, moment: datetime, status: str = "ok") -> None:
    at(monkeypatch, moment)
    assert pipeline.collect(config, now=moment).status == status


def minutes_of(monkeypatch, hour: datetime, minutes) -> Iterator[datetime]:
    """Each of these minutes of `hour`, after beat's minute tasks ran at it."""
    for minute in minutes:
        at(monkeypatch, hour.replace(minute=minute))
        run_every_minute_collectors()
        yield hour.replace(minute=minute)


@pytest.mark.parametrize(
    "fetch_at",
    [
        datetime(2026, 5, 1, 10, 29, tzinfo=UTC),  # BST (UTC+1): NESO's times stay "Z"
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # 01:00 GMT becomes 02:00 BST
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC),  # 01:59 BST; 01:00 BST becomes 01:00 GMT
    ],
    ids=["bst", "spring-forward", "fall-back"],
)
def test_uk_half_hour_at_every_minute_after_a_fetch_a_minute_before_its_end(
    own_storage, replay_server, api, fetch_at, monkeypatch
):
    """Fetched a minute before the half hour ends, no fetch for 20 minutes: up to :29 the
    fetched half hour (forecast: NESO has no actual yet), from :30 the next one's forecast,
    marked so, in the API, InfluxDB, the series endpoint and Home Assistant alike."""
    config = national_config(replay_server)
    slots = uk_national(replay_server, fetch_at)
    assert pipeline.collect(config, now=fetch_at).status == "ok"
    calls = len(replay_server.requests)
    fetched = fetch_at.replace(minute=fetch_at.minute - fetch_at.minute % 30)
    boundary = fetched + timedelta(minutes=30)
    for minute in range(21):
        moment = fetch_at + timedelta(minutes=minute)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        start = fetched if moment < boundary else boundary
        slot = slots[start]
        entry, value = served(api), served(api)["value"]
        assert entry["time"] == value["time"] == start.isoformat(), moment
        assert value[GCO2] == slot["intensity"]["forecast"], moment
        assert value["is_forecast"] is True, moment
        hour_on = slots[start + timedelta(hours=1)]["intensity"]["forecast"]
        assert value["forecast_1h"] == hour_on, moment
        assert entry["fetched_at"] == fetch_at.isoformat()
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        assert point.time == start and point.values[GCO2] == value[GCO2], moment
        assert point.values["is_forecast"] is True
        if moment >= boundary:  # the served half hour: the fetched index is another's
            assert "intensity_index" not in value and point.values["intensity_index"] is None
            assert value["slot_minutes"] == 30
        else:
            assert value["intensity_index"] == slot["intensity"]["index"]
        series = api.get("/api/carbon/series", {"hours": 2}).json()
        assert series["actual"][-1] == {"time": start.isoformat(), "value": value[GCO2]}
        assert series["forecast"][0]["time"] == start.isoformat(), moment
        ha = states(config)["carbon_intensity"]
        assert float(ha.state) == value[GCO2] and ha.attributes["data_time"] == value["time"]
    assert len(replay_server.requests) == calls  # all from what is stored


def test_uk_actual_published_later_replaces_the_forecast_in_place(
    own_storage, replay_server, api, monkeypatch
):
    """10:29 stores the 10:00 half hour's forecast; from 10:30 the 10:30 forecast is served
    and written each minute; the 10:45 fetch has the 10:30 half hour and the 10:00 actual:
    one point per half hour, each holding what NESO gave last."""
    config = national_config(replay_server)
    first = datetime(2026, 5, 1, 10, 29, tzinfo=UTC)
    uk_national(replay_server, first)
    assert pipeline.collect(config, now=first).status == "ok"
    ten, half = datetime(2026, 5, 1, 10, 0, tzinfo=UTC), datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    list(minutes_of(monkeypatch, half, (30, 31, 44)))
    [point] = points_at(own_storage, half)
    assert point.values["is_forecast"] is True and point.values["intensity_index"] is None

    later = datetime(2026, 5, 1, 10, 45, tzinfo=UTC)
    replay_server.reset()
    slots = uk_national(replay_server, later, actual_until=half)
    collect_at(monkeypatch, config, later)
    [old] = points_at(own_storage, ten)
    assert old.values[GCO2] == slots[ten]["intensity"]["actual"]
    assert old.values["is_forecast"] is False
    assert old.values["intensity_index"] == slots[ten]["intensity"]["index"]
    [now_point] = points_at(own_storage, half)
    assert now_point.values[GCO2] == slots[half]["intensity"]["forecast"]
    assert now_point.values["intensity_index"] == slots[half]["intensity"]["index"]
    entry = served(api)
    assert entry["time"] == half.isoformat()
    assert entry["value"]["intensity_index"] == slots[half]["intensity"]["index"]
    series = api.get("/api/carbon/series", {"hours": 1}).json()
    assert [p["time"] for p in series["actual"]] == [ten.isoformat(), half.isoformat()]
    assert series["actual"][0]["value"] == slots[ten]["intensity"]["actual"]


def test_electricitymaps_estimated_hour_replaced_by_its_measured_value(
    own_storage, replay_server, api, monkeypatch
):
    """14:20 fetches the 14:00 hour estimated; 14:35 gets it measured (isEstimated false, a
    new value): one point, the measured value, and that is what is served and charted."""
    latest = load_fixture("electricitymaps/carbon_intensity_latest.json")
    measured = {**latest, "carbonIntensity": 298, "isEstimated": False, "estimationMethod": None,
                "updatedAt": "2026-05-01T14:33:02.000Z"}  # fmt: skip
    shares = load_fixture("electricitymaps/power_breakdown_latest.json")
    replies = {
        "/v3/carbon-intensity/latest": [{"json": latest, "times": 1}, {"json": measured}],
        "/v3/power-breakdown/latest": [{"json": shares, "times": 1},
                                       {"json": {**shares, "isEstimated": False}}],
    }  # fmt: skip
    site_info, credentials, fetched_at = scenarios_carbon.electricitymaps(replay_server, replies)
    config = stored_config(site_info, credentials, "electricitymaps")
    assert pipeline.collect(config, now=fetched_at).status == "ok"
    hour = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)
    at(monkeypatch, fetched_at + timedelta(minutes=1))
    value = served(api)["value"]
    assert (value[GCO2], value["is_estimated"]) == (312, True)

    collect_at(monkeypatch, config, datetime(2026, 5, 1, 14, 35, tzinfo=UTC))
    for _ in minutes_of(monkeypatch, hour, (35, 36, 59)):
        [point] = points_at(own_storage, hour)
        assert point.values[GCO2] == 298 and point.values["is_estimated"] is False
        value = served(api)["value"]
        assert (value[GCO2], value["is_estimated"], value["time"]) == (298, False, hour.isoformat())
        series = api.get("/api/carbon/series", {"hours": 2}).json()
        assert series["actual"] == [{"time": hour.isoformat(), "value": 298}]


def test_electricitymaps_hour_at_every_minute_after_a_fetch_a_minute_before_its_end(
    own_storage, replay_server, api, monkeypatch
):
    """14:59 fetches the 14:00 hour and the forecast; no fetch till 15:20: from 15:00 the
    forecast's 15:00 hour is served and stored, marked a forecast, without the 14:00 hour's
    estimate flag and emission factor basis."""
    forecast = load_fixture("electricitymaps/carbon_intensity_forecast.json")
    hourly = {datetime.fromisoformat(e["datetime"]): e["carbonIntensity"]
              for e in forecast["forecast"]}  # fmt: skip
    replies = {"/v3/carbon-intensity/forecast": [{"json": forecast}]}
    site_info, credentials, _ = scenarios_carbon.electricitymaps(replay_server, replies)
    config = stored_config(site_info, credentials, "electricitymaps", forecast=True)
    fetch_at = datetime(2026, 5, 1, 14, 59, tzinfo=UTC)
    assert pipeline.collect(config, now=fetch_at).status == "ok"
    calls = len(replay_server.requests)
    fetched, boundary = (
        datetime(2026, 5, 1, 14, 0, tzinfo=UTC),
        datetime(2026, 5, 1, 15, 0, tzinfo=UTC),
    )
    for minute in range(21):
        moment = fetch_at + timedelta(minutes=minute)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        start = fetched if moment < boundary else boundary
        entry = served(api)
        value = entry["value"]
        assert entry["time"] == value["time"] == start.isoformat(), moment
        assert value["forecast_1h"] == hourly[start + timedelta(hours=1)], moment
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        assert point.time == start and point.values[GCO2] == value[GCO2], moment
        if start == fetched:  # the fetched hour: latest's own value, estimated
            assert (value[GCO2], value["is_forecast"], value["is_estimated"]) == (312, False, True)
        else:
            assert (value[GCO2], value["is_forecast"]) == (hourly[boundary], True), moment
            assert "is_estimated" not in value and "emission_factor_type" not in value
            assert point.values["is_forecast"] is True and point.values["is_estimated"] is None
        series = api.get("/api/carbon/series", {"hours": 2}).json()
        assert series["actual"][-1] == {"time": start.isoformat(), "value": value[GCO2]}
        assert series["forecast"][0] == {"time": start.isoformat(), "value": hourly[start]}
        ha = states(config)["carbon_intensity"]
        assert float(ha.state) == value[GCO2] and ha.attributes["data_time"] == value["time"]
    assert len(replay_server.requests) == calls


def test_uk_error_answer_at_the_half_hour_leaves_the_forecast_served(
    own_storage, replay_server, api, monkeypatch, settings
):
    """NESO answers 10:30's fetch with its documented error body (HTTP 500): the run fails,
    and the 10:30 half hour is served from the stored forecast, as if no fetch had come."""
    settings.HTTP_MAX_RETRIES, settings.HTTP_BACKOFF_SECONDS = 0, 0
    config = national_config(replay_server)
    first = datetime(2026, 5, 1, 10, 29, tzinfo=UTC)
    slots = uk_national(replay_server, first)
    assert pipeline.collect(config, now=first).status == "ok"
    replay_server.reset()
    error = {"error": {"code": "500 Internal Server Error", "message": "Internal error"}}
    replay_server.add("GET", "/intensity", status=500, json=error)
    half = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    collect_at(monkeypatch, config, half, "failed")
    for _ in minutes_of(monkeypatch, half, (30, 31, 59)):
        value = served(api)["value"]
        assert value["time"] == half.isoformat()
        assert (value[GCO2], value["is_forecast"]) == (slots[half]["intensity"]["forecast"], True)
        [point] = points_at(own_storage, half)
        assert point.values[GCO2] == value[GCO2] and point.values["is_forecast"] is True


def test_uk_answer_missing_a_half_hour_serves_the_last_one_known(
    own_storage, replay_server, api, monkeypatch
):
    """NESO's 48 h leave out 11:00-11:30; no fetch after 10:29. Through 11:29 the 10:30 half
    hour stays what is served (`last_known`, saying where it ended) and the newest point in
    InfluxDB; no horizon is made up for the missing half hour; 11:30 has its forecast."""
    config = national_config(replay_server)
    fetch_at = datetime(2026, 5, 1, 10, 29, tzinfo=UTC)
    since = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    ahead = half_hours(since, 98)
    gap = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)
    del ahead[4]  # 11:00-11:30
    replay_server.add("GET", "/intensity", json={"data": [ahead[2]]})
    replay_server.add("GET", f"/intensity/{z(since)}/fw48h", json={"data": ahead})
    assert pipeline.collect(config, now=fetch_at).status == "ok"
    assert "forecast_1h" not in served(api)["value"]  # 11:29 falls in the missing half hour
    half = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    for minute in (30, 59, 60, 75, 89, 90):
        moment = half + timedelta(minutes=minute - 30)
        at(monkeypatch, moment)
        run_every_minute_collectors()
        entry = served(api)
        value = entry["value"]
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        start = half if moment < gap + timedelta(minutes=30) else gap + timedelta(minutes=30)
        assert value["time"] == point.time.isoformat() == start.isoformat(), moment
        assert value[GCO2] == point.values[GCO2] == (103 if start == half else 105), moment
        assert value["is_forecast"] is True
        assert value.get("last_known", False) is (gap <= moment < gap + timedelta(minutes=30))
        if value.get("last_known"):
            assert "ended at 2026-05-01T11:00:00+00:00" in entry["message"]
        assert (series := api.get("/api/carbon/series", {"hours": 2}).json())["actual"][-1][
            "time"
        ] == start.isoformat()
        assert all(p["time"] != gap.isoformat() for p in series["actual"] + series["forecast"])


def test_uk_answer_at_the_half_hour_still_of_the_last_one(
    own_storage, replay_server, api, monkeypatch
):
    """The 10:30 fetch comes before NESO has moved on: `/intensity` still answers 10:00-10:30.
    That half hour is stored as NESO gave it; 10:30's forecast is what is served and written
    from 10:30, and the 10:45 run asks again (the answer is of a half hour over)."""
    config = national_config(replay_server)
    half = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    slots = uk_national(replay_server, half - timedelta(minutes=1))  # its 10:00 half hour
    replay_server.add("GET", f"/intensity/{z(half - timedelta(hours=1))}/fw48h",
                      json={"data": list(slots.values())[1:]})  # fmt: skip
    collect_at(monkeypatch, config, half)
    for moment in minutes_of(monkeypatch, half, (30, 31, 44)):
        value = served(api)["value"]
        assert value["time"] == half.isoformat(), moment
        assert (value[GCO2], value["is_forecast"]) == (slots[half]["intensity"]["forecast"], True)
        [point] = newest_per_series(own_storage, "carbon_intensity", moment)
        assert point.time == half and point.values[GCO2] == value[GCO2]
    [ten] = points_at(own_storage, half - timedelta(minutes=30))
    assert ten.values[GCO2] == slots[half - timedelta(minutes=30)]["intensity"]["forecast"]
    calls = len(replay_server.requests)
    collect_at(monkeypatch, config, half.replace(minute=45))
    assert len(replay_server.requests) > calls
