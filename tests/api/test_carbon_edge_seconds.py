"""The carbon intensity now at every half-hour edge of UK Carbon Intensity's 48-hour forecast,
to the microsecond, with no fetch after the first: Twyford collected at 12:10
(tests/api/conftest.py `collected`), the forecast from 12:00 to 12:00 two days later.
GET /api/enrichment/current and Home Assistant's carbon entity must name the half hour
covering each moment (hh:29:59.999999 the earlier, hh:30:00 the later), with the horizons of
that moment; once the stored forecast has ended they serve, marked stale, its last half hour
(for a day, as the plan carries it), then the fetched answer as it is. Expected values come
straight from the payload."""

from datetime import datetime, timedelta

import pytest

from collectors import clock
from collectors.ha_mqtt.entities import carbon_states, freshness
from enrich.influx import get_timeseries
from tests.support.beat import run_every_minute_collectors
from tests.support.now_points import at, newest_per_series
from tests.support.plan import NOW
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HALF_HOUR, TICK = timedelta(minutes=30), timedelta(microseconds=1)


@pytest.mark.usefixtures("many_reads")
def test_each_half_hour_edge_of_the_forecast_and_after_its_end(
    collected, replay_server, api, monkeypatch
):
    payload = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")
    forecast = {datetime.fromisoformat(s["from"].replace("Z", "+00:00")):
                s["intensity"]["forecast"] for s in payload["data"]["data"]}  # fmt: skip
    first, end = min(forecast), max(forecast) + HALF_HOUR
    calls = len(replay_server.requests)

    def seen(moment: datetime) -> tuple[dict, dict]:
        monkeypatch.setattr(clock, "utc_now", lambda: moment)
        [entry] = api.get("/api/enrichment/current").json()["sources"]["carbon_intensity"][
            "providers"
        ]
        states = {s.spec.key: s for s in carbon_states(entry)}
        return entry, states

    fetched_value: dict | None = None
    for start in sorted(forecast):
        for moment in (max(start, NOW), start + HALF_HOUR - TICK):
            entry, states = seen(moment)
            value = entry["value"]
            assert entry["time"] == value["time"] == start.isoformat(), moment
            if start == first:  # the fetched half hour: the value the fetch gave for it
                fetched_value = fetched_value or value
                assert value == fetched_value and "is_forecast" in value
            else:
                assert value["carbon_intensity_gco2_kwh"] == forecast[start], moment
                assert value["is_forecast"] is True and value["slot_minutes"] == 30
                ahead = moment + timedelta(hours=1)
                assert value.get("forecast_1h") == forecast.get(
                    ahead.replace(minute=ahead.minute // 30 * 30, second=0, microsecond=0)
                ), moment
            shown = value["carbon_intensity_gco2_kwh"]
            assert float(states["carbon_intensity"].state) == shown, moment
            assert states["carbon_intensity"].attributes["data_time"] == start.isoformat()
    # the stored forecast has ended: its last half hour, the newest value known, stale and
    # saying so (not the fetched 12:00 half hour of two days before), as long as the plan
    # carries it (24 h); after that the last fetched answer as it is
    last = max(forecast)
    for moment in (end, last + timedelta(hours=24)):
        entry, states = seen(moment)
        assert entry["stale"] is True
        assert entry["time"] == entry["value"]["time"] == last.isoformat()
        assert entry["value"]["carbon_intensity_gco2_kwh"] == forecast[last]
        assert entry["value"]["last_known"] is True
        assert f"the last one known, which ended at {end.isoformat()}, is shown" in entry["message"]
        assert float(states["carbon_intensity"].state) == forecast[last]
        assert states["carbon_intensity"].attributes["last_known"] is True
        assert freshness(entry)["stale"] is True
    entry, states = seen(last + timedelta(hours=24, microseconds=1))
    assert entry["stale"] is True and entry["value"] == fetched_value
    assert entry["time"] == first.isoformat() and "message" not in entry
    assert len(replay_server.requests) == calls  # no fetch: everything from what was stored


def test_a_gap_in_the_forecast_serves_the_last_half_hour_known_not_the_fetched_one(
    collected, own_storage, api, monkeypatch
):
    """The 13:00 half hour is missing from the stored forecast: from 13:00 the 12:30 one is
    the newest value known (the plan carries it too); the fetched 12:00 half hour, older, came
    back before. InfluxDB keeps the 12:30 point as it was written while it ran."""
    payload = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")
    forecast = {datetime.fromisoformat(s["from"].replace("Z", "+00:00")):
                s["intensity"]["forecast"] for s in payload["data"]["data"]}  # fmt: skip
    half_past, gap = NOW.replace(minute=30), NOW.replace(hour=13, minute=0)
    get_timeseries().delete(own_storage, gap, gap + TICK, "carbon_intensity_forecast",
                            {"provider": "uk_carbon_intensity"})  # fmt: skip
    at(monkeypatch, half_past)
    run_every_minute_collectors()
    written = newest_per_series(own_storage, "carbon_intensity", half_past)
    for moment in (gap, gap + HALF_HOUR - TICK):
        at(monkeypatch, moment)
        run_every_minute_collectors()
        [entry] = api.get("/api/enrichment/current").json()["sources"]["carbon_intensity"][
            "providers"
        ]
        value = entry["value"]
        assert entry["time"] == value["time"] == half_past.isoformat(), moment
        assert value["carbon_intensity_gco2_kwh"] == forecast[half_past]
        assert value["last_known"] is True and value["slot_minutes"] == 30
        assert value["forecast_1h"] == forecast[gap + timedelta(hours=1)]  # for now, not 12:30
        assert f"which ended at {gap.isoformat()}" in entry["message"]
        if moment == gap:  # the plan carries the same value over the gap
            plan = api.get(
                "/api/plan",
                {
                    "hours": "0.25",
                    "carbon_price": "100",
                    "before": (gap + timedelta(minutes=15)).isoformat(),
                },
            )
            assert plan.json()["average_carbon"] == forecast[half_past]
            assert plan.json()["carbon_last_known_hours"] == 0.25
        assert newest_per_series(own_storage, "carbon_intensity", moment) == written
    at(monkeypatch, gap + HALF_HOUR)  # the forecast goes on: its half hour, as a forecast
    [entry] = api.get("/api/enrichment/current").json()["sources"]["carbon_intensity"]["providers"]
    assert entry["value"]["carbon_intensity_gco2_kwh"] == forecast[gap + HALF_HOUR]
    assert "last_known" not in entry["value"] and "message" not in entry
