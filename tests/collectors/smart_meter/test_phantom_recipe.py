"""docs/providers.md's Home Assistant recipe "Phantom load grew": its two InfluxDB sensors, asked
as Home Assistant's influxdb integration asks (`SELECT <group_function>(<field>) AS value FROM
<measurement> WHERE <where>`), find the phantom load the smart meter watch stored for the
device "Main panel" last night and a week ago: a measurement, field or tag the recipe names
that enrich does not write finds nothing."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors.base import FetchResult, Target
from collectors.smart_meter import watch
from enrich.readings import Reading
from tests.support.ha_recipes import influxdb_sensors
from tests.support.isolation import own_storage

pytestmark = pytest.mark.influxdb
BERLIN = ZoneInfo("Europe/Berlin")
TAGS = {"meter_type": "emporia_vue", "device": "Main panel", "provider": "emporia_vue"}
TARGET = Target(
    "smart_meter", "emporia_vue", "owner@example.com",
    {"timezone": "Europe/Berlin", "phantom_nights": 1, "high_power_w": 10_000.0},
)  # fmt: skip


def night(day, watts: float) -> list[Reading]:
    """The whole home drawing `watts` every 5 minutes from 00:00 to 04:00 in Berlin on `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    return [
        Reading("smart_meter", {"total_power_w": watts}, start + timedelta(minutes=m), TAGS)
        for m in range(0, 4 * 60 + 5, 5)
    ]


def home_assistant_asks(query: dict) -> str:
    """The InfluxQL Home Assistant's influxdb sensor (InfluxDB 1.x) sends for `query`."""
    return (
        f"select {query['group_function']}({query['field']}) as value "
        f"from {query['measurement']} where {query['where']}"
    )


def test_the_recipes_sensors_read_the_phantom_load_enrich_stored(settings):
    queries = {query["name"]: query for query in influxdb_sensors("providers.md")}
    assert set(queries) == {"Phantom load", "Phantom load last week"}
    today = datetime.now(BERLIN).date()
    with own_storage(settings, "phantom-recipe") as ts:
        for back, watts in ((7, 90.0), (1, 140.0)):  # a week ago, and last night
            readings = night(today - timedelta(days=back), watts)
            ts.write(settings.INFLUXDB_DATABASE, readings)
            watch.after_write(TARGET, FetchResult(readings[-1:], {}))
        shown = {}
        for name, query in queries.items():
            assert query["database"] == "enrich"  # the recipe's: INFLUXDB_DATABASE's default
            rows = list(ts.query(settings.INFLUXDB_DATABASE, home_assistant_asks(query)))
            shown[name] = [row.values["value"] for row in rows]
    assert shown == {"Phantom load": [140.0], "Phantom load last week": [90.0]}
