"""GET /api/plan/loads (the status page's Plan panel): each enabled flexible load of the site
with the plan /api/plan gives for its parameters, or why there is none.

Same data as test_plan_api: Octopus Agile (region C) and UK Carbon Intensity (RG10) collected
from their documented payloads at 12:10 UTC on 2026-05-01; the expected window is found by the
exhaustive minute-by-minute search of tests/support/plan.py, not by the planner's code.
"""

import json
from datetime import time

import pytest

from collectors.models import FlexibleLoad
from enrich.influx.connection import reset_timeseries
from enrich.models import Site
from tests.support.plan import average, expected_window, octopus_prices, uk_carbon
from tests.support.ports import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
URL = "/api/plan/loads"


def test_each_enabled_load_with_its_plan_or_the_reason(collected, api):
    FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2, deadline=time(23, 30),
                                carbon_price=500, kw=2)  # fmt: skip
    FlexibleLoad.objects.create(site=collected, name="Pool pump", hours=20, deadline=time(23, 30))
    FlexibleLoad.objects.create(site=collected, name="Sauna", hours=1, deadline=time(22),
                                enabled=False)  # fmt: skip
    other = Site.objects.create(name="Elsewhere", latitude=51.5, longitude=-0.1)
    FlexibleLoad.objects.create(site=other, name="Kiln", hours=1, deadline=time(22))

    response = api.get(URL, {"site": collected.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["site"] == {"id": collected.pk, "name": "Twyford"}
    assert [load["name"] for load in body["loads"]] == ["Dishwasher", "Pool pump"]
    dishwasher, pump = body["loads"]

    assert {k: dishwasher[k] for k in ("hours", "deadline", "timezone", "carbon_price", "kw",
                                       "contiguous", "max_windows")} == {
        "hours": 2.0, "deadline": "23:30", "timezone": "Europe/London", "carbon_price": 500.0,
        "kw": 2.0, "contiguous": True, "max_windows": None}  # fmt: skip
    # 23:30 BST is 22:30 UTC; the window is the best by price + 500 GBP/t, searched by minute
    assert dishwasher["before"] == "2026-05-01T22:30:00+00:00"
    prices, carbon = octopus_prices(), uk_carbon()
    start, end = expected_window(
        2, lambda a, b: average(prices, a, b) + 500 * average(carbon, a, b) / 1e6
    )
    assert dishwasher["start"] == dishwasher["plan"]["start"] == start.isoformat()
    assert dishwasher["plan"]["end"] == end.isoformat()
    assert dishwasher["plan"]["kwh"] == 4.0 and dishwasher["message"] is None
    # the same answer /api/plan gives for the load's parameters
    same = api.get("/api/plan", {"site": collected.pk, "hours": 2, "carbon_price": 500, "kw": 2,
                                 "before": dishwasher["before"]}).json()  # fmt: skip
    assert dishwasher["plan"] == same

    # 20 h: the prices stop at 23:00 today, so no plan; the reason and what is stored
    assert (pump["plan"], pump["start"]) == (None, None)
    assert "of price slots lie entirely" in pump["message"]
    assert pump["known"] == {"prices_until": "2026-05-01T23:00:00+00:00",
                             "carbon_forecast_until": "2026-05-03T12:00:00+00:00",
                             "carbon_known_from": None}  # fmt: skip


def test_no_loads_is_an_empty_list_and_the_site_is_checked(collected, api):
    assert api.get(URL).json()["loads"] == []  # one site: no ?site= needed
    assert api.get(URL, {"site": "999999"}).status_code == 404
    assert list(api.get(URL, {"site": "x"}).json()) == ["site"]
    Site.objects.create(name="Second", latitude=51.5, longitude=-0.1)
    response = api.get(URL)
    assert (response.status_code, list(response.json())) == (400, ["site"])


def test_the_loads_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert [p["name"] for p in schema["paths"]["/api/plan/loads"]["get"]["parameters"]] == ["site"]


def test_influxdb_out_of_reach_is_said_as_plan_says_it(collected, api, settings, caplog):
    """InfluxDB out of reach: each load's message says so in /api/plan's words (its 503),
    without InfluxDB's address, database or query (docs/api.md), not the raw
    "HTTPConnectionPool(host=…, port=…): Max retries exceeded with url: /query?…&db=…" the
    Plan panel and the load's Home Assistant sensor showed; the log holds the whole error."""
    FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2, deadline=time(23, 30))
    shared, settings.INFLUXDB_URL = settings.INFLUXDB_URL, f"http://127.0.0.1:{free_port()}"
    down = settings.INFLUXDB_URL
    reset_timeseries()
    try:
        body = api.get(URL, {"site": collected.pk}).json()
        refused = api.get("/api/plan", {"site": collected.pk, "hours": 2}).json()
    finally:
        settings.INFLUXDB_URL = shared
        reset_timeseries()
    [load] = body["loads"]
    assert (load["plan"], load["start"], load["known"]) == (None, None, None)
    assert (
        load["message"]
        == refused["detail"]
        == (
            "The stored data cannot be read: InfluxDB does not answer (it is down, starting or "
            "overloaded); try again later. The server log names the address tried."
        )
    )
    assert down.removeprefix("http://") not in json.dumps(body)
    assert f"Cannot reach InfluxDB at {down} " in caplog.text
