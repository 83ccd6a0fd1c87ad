"""A price is the provider's own figure in the unit stated: aWATTar's EUR/MWh / 1000 and
Octopus' p/kWh / 100 as the decimal they are, in InfluxDB and in every answer, not binary
floating point's nearest quotient (130.4 EUR/MWh was 0.13040000000000002 EUR/kWh, 17.438 p/kWh
0.17437999999999998 GBP/kWh). Documented payloads go through the real pipeline."""

from datetime import UTC, datetime

import pytest

from collectors import clock
from enrich.influx import stored_rows
from tests.support.pricing import per_kwh
from tests.support.replay import load_fixture
from tests.support.stored_prices import CASES, collect

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def published(name: str) -> dict[datetime, float]:
    """Slot start -> the payload's price per kWh, as the decimal the payload wrote."""
    case = CASES[name]
    payload = load_fixture(case.fixture)
    if case.provider == "octopus":
        return {datetime.fromisoformat(r["valid_from"]): per_kwh(r["value_inc_vat"], 100)
                for r in payload["results"]}  # fmt: skip
    return {datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC):
            per_kwh(r["marketprice"], 1000) for r in payload["data"]}  # fmt: skip


@pytest.mark.parametrize("name", ["60min", "30min_dst_spring"])
def test_stored_prices_are_the_published_decimals(name, own_storage, replay_server):
    collect(CASES[name], replay_server)
    query = 'SELECT "price" FROM "electricity_pricing_forecast" WHERE "provider" = $provider'
    rows = stored_rows(query, {"provider": CASES[name].provider})
    stored = {row.time: row.values["price"] for row in rows}
    assert stored == published(name)


@pytest.mark.parametrize(
    ("name", "moment", "shown"),
    [
        ("60min", datetime(2026, 5, 1, 6, 20, tzinfo=UTC), "0.1304"),  # 130.4 EUR/MWh
        ("30min_dst_spring", datetime(2026, 3, 29, 21, 10, tzinfo=UTC), "0.17438"),  # 17.438 p
    ],
)
def test_the_price_now_reads_as_published(
    name, moment, shown, own_storage, replay_server, api, monkeypatch
):
    collect(CASES[name], replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    text = api.get("/api/enrichment/current").content.decode()
    assert f'"current_price":{shown},' in text.replace(" ", "")
    slots = api.get("/api/pricing/slots").content.decode()
    assert f'"price":{shown}}}' in slots.replace(" ", "")
