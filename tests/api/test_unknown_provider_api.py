"""A site whose provider is set to one this enrich has no adapter for (renamed or removed since
it was set): the price and plan endpoints answered 404 {"site": "No adapter for ..."}, as if
the site were unknown, and /api/plan/loads failed with a 500. The price provider is now a 409
naming the setting, the carbon provider a note in a plan made by price only; an unknown site
stays a 404 naming `site`.

Same data as test_plan_api: Octopus Agile (region C) and UK Carbon Intensity (RG10) collected
at 12:10 UTC on 2026-05-01 (the `collected` fixture)."""

from datetime import time

import pytest

from collectors.models import FlexibleLoad
from enrich.models import ProviderConfig

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

PLANNING = [
    ("/api/pricing/windows", {"hours": "2"}),
    ("/api/pricing/slots", {}),
    ("/api/plan", {"hours": "2"}),
]


def test_a_price_provider_enrich_does_not_have_is_a_409_naming_the_setting(collected, api):
    ProviderConfig.objects.filter(site=collected, source="electricity_pricing").update(
        provider="nordpool"
    )
    FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2, deadline=time(23))
    said = (
        "The electricity price provider of site 'Twyford' is set to 'nordpool', which this "
        "enrich does not have (No adapter for electricity_pricing/nordpool; providers of "
        "electricity_pricing: awattar, tibber, octopus); choose one in the admin (Provider "
        "configs), then wait for the first collection."
    )
    for url, query in PLANNING:
        response = api.get(url, query)
        assert (response.status_code, response.json()) == (409, {"detail": said}), url
        unknown = api.get(url, {**query, "site": "999999"})
        assert (unknown.status_code, unknown.json()) == (404, {
            "site": "There is no site with id 999999; GET /api/sites/ lists them."}), url  # fmt: skip
    response = api.get("/api/plan/loads")
    assert response.status_code == 200
    [load] = response.json()["loads"]
    assert (load["plan"], load["message"]) == (None, said)


def test_a_carbon_provider_enrich_does_not_have_leaves_a_plan_by_price(collected, api):
    ProviderConfig.objects.filter(site=collected, source="carbon_intensity").update(
        provider="co2signal"
    )
    response = api.get("/api/plan", {"hours": "2"})
    body = response.json()
    assert response.status_code == 200, body
    assert (body["provider"], body["average_carbon"]) == ("octopus", None)
    assert body["carbon"]["known"] is False
    assert body["carbon"]["message"] == (
        "No carbon data: the carbon intensity provider is set to 'co2signal', which this enrich "
        "does not have (No adapter for carbon_intensity/co2signal; providers of "
        "carbon_intensity: watttime, electricitymaps, uk_carbon_intensity); choose one in the "
        "admin (Provider configs). Planned by price only."
    )
