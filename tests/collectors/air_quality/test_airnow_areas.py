"""Two AirNow reporting areas of one name: AirNow's area names repeat across states (Columbus,
Ohio and Columbus, Georgia), and its current observation service names no state
(reference: `reportingAreaName`, no `stateCode`). Each is stored in series of its own."""

from datetime import UTC, datetime

import pytest

from collectors import pipeline
from enrich.models import Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
NOW = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)  # 06:40 EDT
HOUR = datetime(2026, 10, 8, 10, 0, tzinfo=UTC)  # 06:00 EDT


def columbus(pm25: int, ozone: int, agency: str) -> list[dict]:
    """The current service's answer for an area named "Columbus" at 06:00 EDT."""
    rows = []
    for parameter, aqi in (("PM2.5", pm25), ("O3", ozone)):
        category = "Good" if aqi <= 50 else "Moderate"
        rows.append({
            "dateObserved": "2026-10-08", "hourObserved": "06:00", "localTimeZone": "EDT",
            "reportingAreaName": "Columbus", "siteID": "000000000", "siteName": "Downtown",
            "parameterName": parameter, "nowcastAQI": aqi, "aqiCategoryName": category,
            "reportingAgency": agency, "lookupBehavior": "Closest Reading By Pollutant",
            "consideredMonitors": "All", "lookupBoundary": "50 Miles",
        })  # fmt: skip
    return rows


def test_two_reporting_areas_of_one_name_keep_their_own_points(isolated, settings, replay_server):
    # Before, both were the series of location "Columbus": Georgia's fetch overwrote Ohio's
    # ozone and deleted its PM2.5 and overall as "the same hour in another category", so
    # Ohio's Moderate 62 of 06:00 EDT was gone from InfluxDB.
    ohio = Site.objects.create(name="Columbus OH", latitude=39.96, longitude=-83.0)
    georgia = Site.objects.create(name="Columbus GA", latitude=32.46, longitude=-84.99)
    for site, zip_code, answer in (
        (ohio, "43215", columbus(62, 35, "Ohio EPA")),
        (georgia, "31901", columbus(30, 45, "Georgia EPD")),
    ):
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer, query={"zipCode": zip_code})
        config = configs.airnow(site, replay_server.url, options={"zip_code": zip_code})
        assert pipeline.collect(config, now=NOW).status == "ok"

    rows = list(isolated.query(
        settings.INFLUXDB_DATABASE, 'SELECT "aqi" FROM "air_quality" WHERE time = $hour GROUP BY *',
        params={"hour": HOUR},
    ))  # fmt: skip
    stored = sorted((r.tags.get("lookup"), r.tags["parameter"], r.values["aqi"]) for r in rows)
    assert stored == [
        ("zip-31901", "O3", 45.0), ("zip-31901", "PM2.5", 30.0), ("zip-31901", "overall", 45.0),
        ("zip-43215", "O3", 35.0), ("zip-43215", "PM2.5", 62.0), ("zip-43215", "overall", 62.0),
    ]  # fmt: skip
    assert {r.tags["location"] for r in rows} == {"Columbus"}
