"""A carbon intensity is the provider's own figure in gCO2/kWh: WattTime's MOER in lbs/MWh
x 0.453592 as the decimal it is, in InfluxDB and in the API's answer, not binary floating
point's nearest product (1048.41 lbs/MWh was 475.55038872000006 gCO2/kWh, not 475.55038872).
The documented payload goes through the real pipeline."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from collectors import clock, pipeline
from enrich.influx import stored_rows
from tests.collectors import scenarios_carbon
from tests.support.carbon_sites import watttime_config
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def published() -> dict[datetime, float]:
    """Slot start -> the forecast payload's lbs/MWh in gCO2/kWh, as the decimal it is."""
    payload = load_fixture("watttime/forecast_25h.json")
    return {datetime.fromisoformat(p["point_time"]):
            float(Decimal(repr(p["value"])) * Decimal("0.453592")) for p in payload["data"]}  # fmt: skip


def test_watttime_gco2_kwh_are_the_decimals_of_its_lbs_per_mwh(
    own_storage, replay_server, api, monkeypatch
):
    config = watttime_config(replay_server)
    assert pipeline.collect(config, now=scenarios_carbon.WATTTIME_NOW).status == "ok"
    field = "carbon_intensity_gco2_kwh"
    rows = stored_rows(f'SELECT "{field}" FROM "carbon_intensity_forecast"')
    forecast = {row.time: row.values[field] for row in rows}
    assert len(forecast) > 200
    assert forecast == {start: published()[start] for start in forecast}
    [now] = stored_rows(f'SELECT "{field}" FROM "carbon_intensity"')
    assert now.values[field] == 475.55038872  # 1048.41 lbs/MWh
    moment = datetime(2026, 5, 1, 14, 22, tzinfo=UTC)  # the 14:20 slot: 1016.07 lbs/MWh
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    text = api.get("/api/enrichment/current").content.decode().replace(" ", "")
    assert f'"{field}":460.88122344,' in text
