"""Two carbon providers on one site: /api/plan and /api/carbon/series answer from the same one,
the first in name order with carbon stored (docs/plan.md, "Where the carbon comes from").

The plan tests' site (tests/api/conftest.py: Octopus Agile and UK Carbon Intensity collected
at NOW) gets Electricity Maps too, added after it (a higher id), with its own hourly forecast
and a measured value stored in InfluxDB. By name, electricitymaps comes before
uk_carbon_intensity; /api/carbon/series took the provider of the lowest id (UK Carbon
Intensity) while the plan planned with Electricity Maps' forecast.
"""

import re
from datetime import timedelta

import pytest

from collectors.carbon import choice
from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from enrich.influx import get_timeseries
from enrich.models import SOURCES, ProviderConfig
from enrich.readings import Reading
from tests.collectors.scenarios_carbon import carbon_tags
from tests.support.doc_pages import ROOT
from tests.support.plan import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
ZONE = "RG10 9XX"  # Electricity Maps' zone: the site's grid_region
FORECAST = 123.0  # gCO2/kWh, each forecast hour
MEASURED = 150.0


@pytest.fixture
def two_providers(collected, settings):
    ProviderConfig.objects.create(site=collected, source="carbon_intensity",
                                  provider="electricitymaps", api_key="test-em-token-abc")  # fmt: skip
    hour = NOW.replace(minute=0)
    tags = carbon_tags("electricitymaps", ZONE)
    get_timeseries().write(settings.INFLUXDB_DATABASE, [
        Reading(MEASUREMENT, {GCO2_KWH: MEASURED}, hour - HOUR, tags),
        *(Reading(FORECAST_MEASUREMENT, {GCO2_KWH: FORECAST, "slot_minutes": 60.0},
                  hour + n * HOUR, tags) for n in range(36)),
    ])  # fmt: skip
    return collected


@pytest.mark.usefixtures("two_providers")
def test_the_carbon_series_and_the_plan_answer_from_the_same_provider(api):
    plan = api.get("/api/plan", {"hours": "2", "carbon_price": "100"}).json()
    assert (plan["carbon"]["provider"], plan["carbon"]["region"]) == ("electricitymaps", ZONE)
    assert plan["average_carbon"] == pytest.approx(FORECAST)
    series = api.get("/api/carbon/series", {"hours": "24"}).json()
    assert (series["provider"], series["region"]) == ("electricitymaps", ZONE)
    assert [p["value"] for p in series["actual"]] == [MEASURED]
    assert {p["value"] for p in series["forecast"]} == {FORECAST}


def test_with_nothing_stored_for_the_first_both_answer_from_the_next(collected, api):
    # Electricity Maps, first by name, has stored nothing yet: both read UK Carbon Intensity.
    ProviderConfig.objects.create(site=collected, source="carbon_intensity",
                                  provider="electricitymaps", api_key="test-em-token-abc")  # fmt: skip
    plan = api.get("/api/plan", {"hours": "2", "carbon_price": "100"}).json()
    series = api.get("/api/carbon/series", {"hours": "24"}).json()
    assert plan["carbon"]["provider"] == series["provider"] == "uk_carbon_intensity"
    assert plan["carbon"]["region"] == series["region"] == "South England"
    assert series["forecast"] and series["unit"] == "gCO2/kWh"


def test_the_order_plan_md_and_the_choice_give_is_the_carbon_providers_by_name():
    """docs/plan.md's *Where the carbon comes from* and this module's docstring name the
    providers in the order they are tried: `enrich.models.SOURCES`' carbon providers, sorted
    (development.md sends a new carbon provider to both; nothing checked that it got there)."""
    page = (ROOT / "docs" / "plan.md").read_text()
    where = page.split("\n## Where the carbon comes from\n", 1)[1].split("\n## ", 1)[0]
    for name, text in (("docs/plan.md", where), ("collectors/carbon/choice.py", choice.__doc__)):
        listed = re.search(r"in name order \(([\w, ]+)\)", " ".join(text.split()))
        assert listed, f"{name} no longer lists the carbon providers in name order"
        assert listed[1].split(", ") == sorted(SOURCES["carbon_intensity"]), name
