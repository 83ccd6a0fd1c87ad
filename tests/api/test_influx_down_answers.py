"""The API's 503 when InfluxDB cannot be reached: the client learns what cannot be read and why
(InfluxDB does not answer), never InfluxDB's address (INFLUXDB_URL, host:port), which the
server log keeps. The InfluxDB of these tests is a port nothing listens on."""

import logging

import pytest

from enrich import influx
from enrich.models import ProviderConfig, Site
from retention.models import Entity
from tests.support.ports import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

SERIES = "entity_id=sensor.fridge_power&start=2026-05-01T00:00:00Z&end=2026-05-02T00:00:00Z"


@pytest.fixture
def influx_gone(settings):
    """InfluxDB's address (host:port) where nothing listens, a site with a price and a carbon
    provider, and an entity in the registry."""
    address = f"127.0.0.1:{free_port()}"
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = f"http://{address}", 1.0
    influx.reset_timeseries()
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                               pricing_region="DE", grid_region="DE")  # fmt: skip
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                  provider="electricitymaps", api_key="test-em-token")  # fmt: skip
    Entity.objects.create(entity_id="sensor.fridge_power", kind="power", layout="official",
                          measurement="W")  # fmt: skip
    yield address
    influx.reset_timeseries()


@pytest.mark.parametrize(
    ("path", "unreadable"),
    [
        ("/api/carbon/series", "The carbon data"),
        ("/api/pricing/slots", "The price data"),
        ("/api/pricing/windows?hours=1", "The price data"),
        ("/api/plan?hours=1", "The stored data"),
        (f"/api/series?{SERIES}", "The series"),
        ("/retention/metrics", "Storage metrics"),
    ],
)
def test_a_503_says_influxdb_does_not_answer_without_its_address(
    influx_gone, staff, caplog, path, unreadable
):
    # Was "The carbon data cannot be read: Cannot reach InfluxDB at http://127.0.0.1:…":
    # an internal address shown to any API client.
    with caplog.at_level(logging.ERROR):
        answer = staff.get(path)
    assert answer.status_code == 503, answer.content
    assert list(answer.json()) == ["detail"]
    detail = answer.json()["detail"]
    assert detail.startswith(f"{unreadable} cannot be read: InfluxDB does not answer")
    assert "try again later" in detail
    port = influx_gone.split(":")[1]
    assert "127.0.0.1" not in detail and port not in detail and "http" not in detail
    # The server log keeps the address for whoever runs enrich.
    assert any(influx_gone in record.getMessage() for record in caplog.records)
