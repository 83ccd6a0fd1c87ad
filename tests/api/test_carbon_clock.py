"""The carbon intensity now at any minute between fetches (collectors.carbon.now).

Documented payloads go through the real pipeline (replay server -> adapter -> InfluxDB and
Redis); the clock then moves on without another fetch, and GET /api/enrichment/current (what
the status page and the Home Assistant states read) must serve the slot covering each minute.
Expected values come straight from the payloads.
"""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, fetch_lock, pipeline
from collectors.carbon.common import LBS_PER_MWH_TO_G_PER_KWH
from collectors.ha_mqtt.entities import carbon_states, source_entry
from enrich.influx import get_timeseries
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_carbon
from tests.support.beat import run_every_minute_collectors
from tests.support.carbon_sites import watttime_config
from tests.support.now_points import at, newest_per_series
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def newest_point(database: str, provider: str, now: datetime):
    """The newest `carbon_intensity` point of the provider up to `now` (one series only)."""
    [row] = newest_per_series(database, "carbon_intensity", now, provider=provider)
    return row


def carbon_entry(api) -> dict:
    [entry] = api.get("/api/enrichment/current").json()["sources"]["carbon_intensity"]["providers"]
    return entry


def moer_forecast() -> dict[datetime, float]:
    """gCO2/kWh by 5-minute slot start, from the documented forecast payload."""
    payload = load_fixture("watttime/forecast_25h.json")
    return {
        datetime.fromisoformat(p["point_time"]): p["value"] * LBS_PER_MWH_TO_G_PER_KWH
        for p in payload["data"]
    }


def test_watttime_serves_the_5_minute_slot_covering_each_minute(
    own_storage, replay_server, api, monkeypatch
):
    config, fetched = watttime_config(replay_server), scenarios_carbon.WATTTIME_NOW
    assert pipeline.collect(config, now=fetched).status == "ok"
    calls = len(replay_server.requests)
    forecast = moer_forecast()
    # the fetch at 14:07 ran in the 14:05 slot; the next is at 14:15 (and may be late)
    for minute in range(7, 20):
        moment = datetime(2026, 5, 1, 14, minute, tzinfo=UTC)
        monkeypatch.setattr(clock, "utc_now", lambda moment=moment: moment)
        start = moment.replace(minute=minute - minute % 5)
        entry = carbon_entry(api)
        value = entry["value"]
        assert entry["time"] == value["time"] == start.isoformat(), moment
        assert value["carbon_intensity_gco2_kwh"] == pytest.approx(forecast[start]), moment
        assert value["forecast_1h"] == pytest.approx(forecast[start + timedelta(hours=1)]), moment
        # the index has no forecast: the fetched one is kept, saying when it is from
        assert value["moer_percentile"] == 37.0
        if start > fetched.replace(minute=5):
            assert value["is_forecast"] is True and value["slot_minutes"] == 5
            assert value["moer_percentile_time"] == "2026-05-01T14:05:00+00:00"
        assert entry["fetched_at"] == fetched.isoformat()
    # Home Assistant's sensors read the same entry
    moment = datetime(2026, 5, 1, 14, 12, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    states = {s.spec.key: s for s in carbon_states(source_entry([config], ResponseCache()))}
    start = datetime(2026, 5, 1, 14, 10, tzinfo=UTC)
    assert float(states["carbon_intensity"].state) == pytest.approx(forecast[start])
    assert states["carbon_intensity"].attributes["data_time"] == start.isoformat()
    assert len(replay_server.requests) == calls  # no API call: read from InfluxDB


def test_uk_half_hour_whose_fetch_failed_is_served_from_the_forecast(collected, api, monkeypatch):
    # Twyford collected at 12:10 (tests/support/plan.py's NOW is in the 12:00 half hour); the
    # runs at 12:30 and later failed: at 12:40 the 12:30 half hour of the stored forecast holds
    payload = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")
    slots = {datetime.fromisoformat(s["from"].replace("Z", "+00:00")): s for s in
             payload["data"]["data"]}  # fmt: skip
    moment = datetime(2026, 5, 1, 12, 40, tzinfo=UTC)
    half_hour = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    entry = carbon_entry(api)
    value = entry["value"]
    assert entry["time"] == value["time"] == half_hour.isoformat()
    assert value["carbon_intensity_gco2_kwh"] == slots[half_hour]["intensity"]["forecast"]
    assert value["is_forecast"] is True and value["slot_minutes"] == 30
    ahead = half_hour + timedelta(hours=1)
    assert value["forecast_1h"] == slots[ahead]["intensity"]["forecast"]
    # the index and the mix were the 12:00 half hour's: not shown as this one's
    assert "intensity_index" not in value and "renewable_percentage" not in value
    assert value["region"] == "South England"


def test_influxdb_holds_the_served_5_minute_slot_and_the_next_fetch_replaces_it(
    own_storage, replay_server, api, monkeypatch
):
    """WattTime's 5-minute MOER between the 15-minute fetches: what GET /api/enrichment/current
    serves is in InfluxDB each minute, as a forecast; the fetch of that slot then writes its
    own value over it (same point, not a second one), and nothing is written past the forecast."""
    index, forecast = load_fixture("watttime/signal_index.json"), moer_forecast()
    # The fetch at 14:15: the index of the 14:15 period and a newer model run from 14:15.
    later_index = copy.deepcopy(index)
    later_index["data"] = [{"point_time": "2026-05-01T14:15:00+00:00", "value": 41.0}]
    later_run = load_fixture("watttime/forecast_25h.json")
    later_run["meta"]["generated_at"] = "2026-05-01T14:15:00+00:00"
    later_run["data"] = [
        {**p, "value": p["value"] + 2.0}
        for p in later_run["data"]
        if p["point_time"] >= "2026-05-01T14:15"
    ]
    replies = {
        "/v3/signal-index": [{"json": index, "times": 1}, {"json": later_index}],
        "/v3/forecast": [{"json": load_fixture("watttime/forecast_25h.json"), "times": 1},
                         {"json": later_run}],
    }  # fmt: skip
    config = watttime_config(replay_server, replies)
    assert pipeline.collect(config, now=scenarios_carbon.WATTTIME_NOW).status == "ok"  # 14:07
    calls = len(replay_server.requests)

    moment, slot = (
        datetime(2026, 5, 1, 14, 12, tzinfo=UTC),
        datetime(2026, 5, 1, 14, 10, tzinfo=UTC),
    )
    at(monkeypatch, moment)
    run_every_minute_collectors()
    served, point = carbon_entry(api), newest_point(own_storage, "watttime", moment)
    assert point.time.isoformat() == served["time"] == slot.isoformat()
    value = served["value"]
    assert point.values["carbon_intensity_gco2_kwh"] == value["carbon_intensity_gco2_kwh"]
    assert value["carbon_intensity_gco2_kwh"] == pytest.approx(forecast[slot])
    assert point.values["is_forecast"] is value["is_forecast"] is True
    assert point.values["forecast_1h"] == value["forecast_1h"]
    assert value["forecast_1h"] == pytest.approx(forecast[slot + timedelta(hours=1)])
    assert point.values["forecast_24h"] == value["forecast_24h"]
    # the series of the fetched points; the index stays the 14:05 point's
    assert point.tags == {"region": "CAISO_NORTH", "grid_operator": "CAISO_NORTH",
                          "provider": "watttime"}  # fmt: skip
    assert point.values["moer_percentile"] is None
    assert len(replay_server.requests) == calls  # no API call: from the stored forecast

    # 14:15:00: beat's minute task runs before the quarter hour's fetch has answered
    fetch_at = datetime(2026, 5, 1, 14, 15, tzinfo=UTC)
    at(monkeypatch, fetch_at)
    run_every_minute_collectors()
    point = newest_point(own_storage, "watttime", fetch_at)
    assert point.time == fetch_at and point.values["is_forecast"] is True
    assert point.values["carbon_intensity_gco2_kwh"] == pytest.approx(forecast[fetch_at])
    assert pipeline.collect(config, now=fetch_at).status == "ok"
    fetched = later_run["data"][0]["value"] * LBS_PER_MWH_TO_G_PER_KWH
    for moment in (fetch_at, fetch_at + timedelta(minutes=1)):  # the next minute keeps it
        at(monkeypatch, moment)
        run_every_minute_collectors()
        rows = list(get_timeseries().query(own_storage,
            'SELECT * FROM "carbon_intensity" WHERE time = $slot GROUP BY *',
            params={"slot": fetch_at}))  # fmt: skip
        assert len(rows) == 1, rows  # one point: the fetch's over the forecast
        assert rows[0].values["is_forecast"] is False
        assert rows[0].values["carbon_intensity_gco2_kwh"] == pytest.approx(fetched)
        assert rows[0].values["moer_percentile"] == 41.0
        value = carbon_entry(api)["value"]
        assert value["is_forecast"] is False and value["time"] == fetch_at.isoformat()

    # past the end of the stored forecast nothing covers now: nothing is written
    late = datetime(2026, 5, 2, 16, 0, tzinfo=UTC)
    at(monkeypatch, late)
    run_every_minute_collectors()
    assert newest_point(own_storage, "watttime", late).time == fetch_at


def test_influxdb_holds_the_uk_half_hour_whose_fetch_failed(collected, own_storage, api,
                                                            monkeypatch):  # fmt: skip
    """Twyford collected at 12:10; the fetches from 12:30 on fail. InfluxDB had the 12:00
    half hour until the next good fetch; now the 12:30 forecast is there from 12:30, in the
    series of the fetched points, as served."""
    payload = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")
    slots = {datetime.fromisoformat(s["from"].replace("Z", "+00:00")): s for s in
             payload["data"]["data"]}  # fmt: skip
    half_hour = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    at(monkeypatch, datetime(2026, 5, 1, 12, 20, tzinfo=UTC))  # the fetched half hour runs
    run_every_minute_collectors()
    fetched = newest_point(own_storage, "uk_carbon_intensity", half_hour)
    assert fetched.time == half_hour - timedelta(minutes=30)
    assert fetched.values["intensity_index"] == "high"

    for moment in (half_hour, datetime(2026, 5, 1, 12, 41, tzinfo=UTC)):
        at(monkeypatch, moment)
        run_every_minute_collectors()
        value, point = (
            carbon_entry(api)["value"],
            newest_point(own_storage, "uk_carbon_intensity", moment),
        )
        assert point.time.isoformat() == value["time"] == half_hour.isoformat()
        assert point.values["carbon_intensity_gco2_kwh"] == value["carbon_intensity_gco2_kwh"]
        assert value["carbon_intensity_gco2_kwh"] == slots[half_hour]["intensity"]["forecast"]
        assert point.values["is_forecast"] is value["is_forecast"] is True
        assert point.values["forecast_1h"] == value["forecast_1h"]
        assert point.tags == fetched.tags == {"region": "South England",
                                              "grid_operator": "SSE South",
                                              "provider": "uk_carbon_intensity"}  # fmt: skip
        # the 12:00 half hour's index and mix are not this one's
        assert point.values["intensity_index"] is None
        assert point.values["renewable_percentage"] is None


def test_a_target_being_fetched_is_left_to_the_next_minute(collected, own_storage, monkeypatch):
    """While the fetch of a target runs, its point is the fetch's to write: the minute task
    writes nothing for it (a write after the fetch's would put the forecast back)."""
    from collectors.tasks import write_current_forecasts

    half_hour = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    at(monkeypatch, half_hour + timedelta(minutes=1))
    lock = fetch_lock.lock_for("carbon_intensity", "uk_carbon_intensity", "postcode/RG10")
    assert lock.acquire()
    try:
        counts = write_current_forecasts()["carbon_intensity"]
        assert counts == {"targets": 1, "points_written": 0, "deferred": 1}
        assert newest_point(own_storage, "uk_carbon_intensity", half_hour).time < half_hour
    finally:
        lock.release()
    counts = write_current_forecasts()["carbon_intensity"]
    assert counts == {"targets": 1, "points_written": 1, "deferred": 0}
    assert newest_point(own_storage, "uk_carbon_intensity", half_hour).time == half_hour
