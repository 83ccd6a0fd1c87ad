"""What one GET /api/enrichment/current reads (the endpoint Home Assistant's REST sensors and
the status page poll): the site once, not again for each of its provider configs, and one
InfluxDB request per source (the price slots' two statements in one request; the carbon
forecast alone, not the measured points the answer never uses). The answer itself is checked
against the documented payloads in test_price_clock.py and test_carbon_clock.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrich.influx import get_timeseries

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def influx_requests(monkeypatch) -> list[str]:
    """The InfluxQL of each query request the gateway sends (sent on to the real InfluxDB)."""
    sent: list[str] = []
    gateway = type(get_timeseries())
    query = gateway.query

    def counted(self, database, influxql, *args, **kwargs):
        sent.append(influxql)
        return query(self, database, influxql, *args, **kwargs)

    monkeypatch.setattr(gateway, "query", counted)
    return sent


def test_current_enrichment_reads_the_site_once_and_each_source_in_one_request(
    collected, api, influx_requests
):
    with CaptureQueriesContext(connection) as queries:
        answer = api.get("/api/enrichment/current")
    assert answer.status_code == 200, answer.content
    sources = answer.json()["sources"]
    [price] = sources["electricity_pricing"]["providers"]
    [carbon] = sources["carbon_intensity"]["providers"]
    assert price["value"]["current_price"] is not None
    assert carbon["value"]["carbon_intensity_gco2_kwh"] > 0
    assert price["time"] == carbon["time"] == "2026-05-01T12:00:00+00:00"  # NOW is 12:10
    site_reads = [q["sql"] for q in queries.captured_queries if 'FROM "enrich_site"' in q["sql"]]
    assert len(site_reads) == 1, site_reads  # was 3: once more per config
    assert len(influx_requests) == 2, influx_requests  # was 4
    assert not [q for q in influx_requests if 'FROM "carbon_intensity" ' in q]
