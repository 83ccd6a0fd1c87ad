"""The carbon forecasts the plan reads, as the three carbon collectors store them.

Each provider's documented payloads go through the real pipeline (replay server -> adapter
-> InfluxDB, last answer in Redis); `site_carbon` then reads them back for the site. Every
minute from now to the end of the forecast must carry the payload's value (WattTime's
lbs/MWh converted), and the time after it the last forecast value, marked as carried.
"""

from datetime import datetime, timedelta

import pytest

from collectors import pipeline
from collectors.pricing.plan_inputs import site_carbon
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_carbon import SCENARIOS

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

MINUTE = timedelta(minutes=1)
LBS_PER_MWH_TO_G_PER_KWH = 0.453592


def payload_forecast(provider: str, server) -> list[tuple[datetime, datetime, float]]:
    """(start, end, gCO2/kWh) straight from the payload."""
    if provider == "watttime":
        data = server.load_fixture("watttime/forecast_25h.json")["data"]
        return [(datetime.fromisoformat(p["point_time"]),
                 datetime.fromisoformat(p["point_time"]) + 5 * MINUTE,
                 p["value"] * LBS_PER_MWH_TO_G_PER_KWH) for p in data]  # fmt: skip
    if provider == "electricitymaps":
        data = server.load_fixture("electricitymaps/carbon_intensity_forecast.json")["forecast"]
        return [(datetime.fromisoformat(p["datetime"]),
                 datetime.fromisoformat(p["datetime"]) + 60 * MINUTE,
                 p["carbonIntensity"]) for p in data]  # fmt: skip
    assert provider == "uk_carbon_intensity", f"{provider}: read its payload's forecast here"
    data = server.load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")["data"]
    return [(datetime.fromisoformat(s["from"]), datetime.fromisoformat(s["to"]),
             s["intensity"]["forecast"]) for s in data["data"]]  # fmt: skip


REGIONS = {
    "watttime": "CAISO_NORTH",
    "electricitymaps": "DE",
    "uk_carbon_intensity": "South England",
}


@pytest.mark.parametrize("provider", list(SCENARIOS))
def test_stored_forecasts_read_back_minute_by_minute(provider, isolated, replay_server):
    # Every carbon scenario runs here: a new one needs its region and its payload's forecast.
    assert provider in REGIONS, f"{provider}: give the region its points are stored under"
    site_info, credentials, now = SCENARIOS[provider](replay_server)
    options = dict(credentials.options)
    if provider == "electricitymaps":  # a plan with forecasts
        replay_server.add("GET", "/v3/carbon-intensity/forecast",
                          json=replay_server.load_fixture("electricitymaps/carbon_intensity_forecast.json"))  # fmt: skip
        options["forecast"] = True
    site = Site.objects.create(name=site_info.name, latitude=site_info.latitude,
                               longitude=site_info.longitude, timezone=site_info.timezone,
                               grid_region=site_info.grid_region)  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="carbon_intensity", provider=provider,
                                           username=credentials.username,
                                           password=credentials.password,
                                           api_key=credentials.api_key, options=options)  # fmt: skip
    assert pipeline.collect(config, now=now).status == "ok"
    end = now + timedelta(hours=48)
    carbon = site_carbon(site, now, end)
    assert (carbon.provider, carbon.region, carbon.message) == (provider, REGIONS[provider], None)
    expected = payload_forecast(provider, replay_server)
    last_start, forecast_end, last_value = expected[-1]
    # spans are back to back from now to the end asked for
    assert carbon.spans[0].start == now and carbon.spans[-1].end == end
    assert all(a.end == b.start for a, b in zip(carbon.spans, carbon.spans[1:], strict=False))
    checked, before = 0, None
    for start, stop, value in expected:
        moment = max(start, now)
        while moment < stop:
            [span] = [s for s in carbon.spans if s.start <= moment < s.end]
            if value is None:  # a null in the payload (Electricity Maps 20:00): carried over
                assert (span.gco2, span.carried_from) == (before[2], before[0]), moment
            else:
                assert span.gco2 == pytest.approx(value) and span.carried_from is None, moment
            moment += MINUTE
            checked += 1
        before = (start, stop, value) if value is not None else before
    assert checked == (forecast_end - now) / MINUTE
    # after the forecast: its last value, carried and saying from when
    [tail] = [s for s in carbon.spans if s.start == forecast_end]
    assert (tail.gco2, tail.carried_from, tail.end) == (pytest.approx(last_value), last_start, end)
