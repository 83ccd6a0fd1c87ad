"""Two sites on one carbon provider in different regions: each site's `/api/carbon/series`
answers for its own region, the one `/api/plan` reads (collectors.carbon.choice.carbon_region),
whichever region has the newer point.

Taking "the region with the newest actual point" among all the provider's stored regions
would show a site the other site's region whenever that one was collected later: here the
other region's points are the newer ones.
"""

from datetime import timedelta

import pytest

from collectors import clock
from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from tests.collectors.scenarios_carbon import carbon_tags
from tests.support.plan import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _store(database: str, provider: str, region: str, measured: float, at, forecast: float):
    """A measured point at `at` and 24 hourly forecast slots from the hour running at NOW."""
    tags = carbon_tags(provider, region)
    hour = NOW.replace(minute=0)
    get_timeseries().write(database, [
        Reading(MEASUREMENT, {GCO2_KWH: measured}, at, tags),
        *(Reading(FORECAST_MEASUREMENT, {GCO2_KWH: forecast, "slot_minutes": 60.0},
                  hour + n * HOUR, tags) for n in range(24)),
    ])  # fmt: skip


def _site(name: str, grid_region: str, provider: str, **config) -> Site:
    site = Site.objects.create(name=name, latitude=50.0, longitude=5.0, grid_region=grid_region)
    ProviderConfig.objects.create(site=site, source="carbon_intensity", provider=provider,
                                  **config)  # fmt: skip
    return site


def _series(api, site: Site) -> dict:
    answer = api.get("/api/carbon/series", {"site": str(site.pk), "hours": "24"})
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_two_electricity_maps_zones_each_site_sees_its_own(own_storage, api, monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    berlin = _site("Berlin", "DE", "electricitymaps", api_key="test-em-token-abc")
    paris = _site("Paris", "FR", "electricitymaps", api_key="test-em-token-abc")
    _store(own_storage, "electricitymaps", "DE", 380.0, NOW - 2 * HOUR, 350.0)
    _store(own_storage, "electricitymaps", "FR", 45.0, NOW - MINUTE, 40.0)  # the newer point

    mine = _series(api, berlin)
    assert (mine["provider"], mine["region"], mine["unit"]) == ("electricitymaps", "DE", "gCO2/kWh")
    assert [p["value"] for p in mine["actual"]] == [380.0]
    assert [p["time"] for p in mine["actual"]] == [(NOW - 2 * HOUR).isoformat()]
    assert {p["value"] for p in mine["forecast"]} == {350.0} and len(mine["forecast"]) == 24

    theirs = _series(api, paris)
    assert theirs["region"] == "FR"
    assert [p["value"] for p in theirs["actual"]] == [45.0]
    assert {p["value"] for p in theirs["forecast"]} == {40.0}


def test_a_uk_postcode_site_sees_the_region_its_answer_named(collected, own_storage, api):
    # Twyford (RG10) was collected: the last answer in Redis names "South England", the tag
    # its points carry. An Edinburgh site's region has a point newer than Twyford's.
    edinburgh = _site("Edinburgh", "EH1 1AA", "uk_carbon_intensity")
    _store(own_storage, "uk_carbon_intensity", "South Scotland", 21.0, NOW - MINUTE, 19.0)

    mine = _series(api, collected)
    plan = api.get("/api/plan", {"site": str(collected.pk), "hours": "2", "carbon_price": "100"})
    assert mine["region"] == plan.json()["carbon"]["region"] == "South England"
    assert mine["actual"] and 21.0 not in [p["value"] for p in mine["actual"]]
    assert mine["forecast"] and 19.0 not in [p["value"] for p in mine["forecast"]]

    # Edinburgh was never collected: no answer names its region, so its target's key is read
    # (postcode/EH1), where nothing is stored; Twyford's region is not shown instead.
    theirs = _series(api, edinburgh)
    assert (theirs["region"], theirs["actual"], theirs["forecast"]) == ("postcode/EH1", [], [])
