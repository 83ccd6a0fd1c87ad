"""A meter's value is the provider's own figure in our unit: Emporia's kWh of a minute x 60,000
and Home Assistant's kW x 1000 or Wh / 1000 as the decimal they are, in InfluxDB and in the
API's answer, not binary floating point's nearest product or quotient (0.0169 kWh a minute
was 1013.9999999999999 W, 2.01 kW 2009.9999999999998 W). Documented payloads go through the
real pipeline into the real InfluxDB."""

from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline, registry
from enrich.influx import stored_rows
from tests.collectors.scenarios_smart_meter import (
    EMPORIA_NOW,
    at,
    emporia_config,
    emporia_routes,
    mains_minutes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def fresh_adapters(isolated):
    """The pipeline's adapters made fresh: no tokens or devices of another test's server."""
    registry.adapter_for.cache_clear()
    yield isolated
    registry.adapter_for.cache_clear()


def stored(measurement: str, field: str, device: str) -> dict[datetime, float]:
    query = f'SELECT "{field}" FROM "{measurement}" WHERE "device" = $device'
    return {row.time: row.values[field] for row in stored_rows(query, {"device": device})}


def current_text(monkeypatch, moment: datetime) -> str:
    """`GET /api/enrichment/current` as its JSON text (every digit it shows, no spaces), at
    `moment`."""
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("reader"))
    return client.get("/api/enrichment/current").content.decode().replace(" ", "")


@pytest.mark.usefixtures("fresh_adapters")
def test_emporia_watts_are_the_decimals_of_its_kwh(replay_server, monkeypatch):
    """tests/fixtures/emporia: the mains chart's 0.0169 kWh at 13:58 is 1014.0 W (was
    1013.9999999999999), the plug's 0.0021 kWh 126.0 W (was 125.99999999999999)."""
    emporia_routes(replay_server)
    assert pipeline.collect(emporia_config(replay_server), now=EMPORIA_NOW).status == "ok"
    assert stored("smart_meter", "total_power_w", "Main panel") == mains_minutes(
        at(13, 56), at(14, 5)
    )
    assert stored("smart_meter", "total_power_w", "Office plug") == {at(14, 5): 126.0}
    circuits = stored_rows('SELECT "power_w" FROM "smart_meter_circuit" GROUP BY "circuit"')
    assert {row.tags["circuit"]: row.values["power_w"] for row in circuits} == {
        "Dryer": 0.0,
        "Solar": -2490.0,  # -0.0415
        "Furnace": 432.0,  # 0.0072
        "Balance": 24.0,  # 0.0004
    }
    text = current_text(monkeypatch, EMPORIA_NOW)
    assert '"Officeplug":{"total_power_w":126.0,' in text  # every digit the API shows
