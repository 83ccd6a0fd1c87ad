"""A price provider switched in the admin (aWATTar -> Tibber): aWATTar's day-ahead slots stay
stored for the hours Tibber's now price too, and daily_energy_by_device prices energy by the
provider the site's price config names, then by tag order as before (real InfluxDB).

Measured before: a heater at 1 kW for a day both priced, aWATTar at 0.10 and Tibber (the
site's provider) at 0.30 EUR/kWh, cost 2.40 EUR (aWATTar's, first by name) instead of 7.20."""

import pytest

from enrich.models import ProviderConfig, Site
from retention.models import DailyEnergyByDevice
from retention.rollups.materialized import ENERGY, rebuild_view
from tests.retention.conftest import T0, HaDatabase, at
from tests.retention.rollups.conftest import write_prices

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = 3600


@pytest.mark.parametrize(
    ("provider", "enabled", "cost"),
    [("tibber", True, 7.2), ("awattar", True, 2.4), ("tibber", False, 2.4)],
)
def test_the_day_is_priced_by_the_provider_the_site_names(
    ha_db: HaDatabase, enrich_db: str, provider: str, enabled: bool, cost: float
):
    site = Site.objects.create(name="Home", latitude=52.5, longitude=13.4, pricing_region="DE")
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider=provider,
                                  api_key="token", enabled=enabled)  # fmt: skip
    write_prices(enrich_db, [(h * HOUR, 60, 0.10) for h in range(24)], provider="awattar")
    write_prices(enrich_db, [(h * HOUR, 60, 0.30) for h in range(24)], provider="tibber")
    points = [(-HOUR, 1000.0), (24 * HOUR, 0.0)]
    ha_db.saved_entity("official", "sensor.heater_power", points, unit="W", kind="power")

    rebuild_view(ENERGY, start=T0.date(), end=T0.date(), now=at(3 * 24 * HOUR))

    row = DailyEnergyByDevice.objects.get(date=T0.date())
    assert (row.total_kwh, row.cost, row.cost_source) == (24.0, cost, "price_slots")
