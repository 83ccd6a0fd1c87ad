"""The carbon intensity now at any minute between fetches (collectors.carbon.now).

Documented payloads go through the real pipeline (replay server -> adapter -> InfluxDB and
Redis); the clock then moves on without another fetch, and GET /api/enrichment/current (what
the status page and the Home Assistant states read) must serve the slot covering each minute.
Expected values come straight from the payloads.
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from collectors.carbon.common import LBS_PER_MWH_TO_G_PER_KWH
from collectors.ha_mqtt.entities import carbon_states, source_entry
from enrich.models import ProviderConfig, Site
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_carbon
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


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
    site_info, credentials, fetched = scenarios_carbon.watttime(replay_server)
    site = Site.objects.create(name=site_info.name, latitude=site_info.latitude,
                               longitude=site_info.longitude, timezone=site_info.timezone,
                               grid_region=site_info.grid_region)  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                           provider="watttime", username=credentials.username,
                                           password=credentials.password,
                                           options=dict(credentials.options))  # fmt: skip
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
