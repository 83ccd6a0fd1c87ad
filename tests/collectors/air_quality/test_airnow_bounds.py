"""AirNow observations that cannot be stored (found by fuzzing), against the local replay
server: each is a MalformedResponse naming the field, never another exception out of `fetch`
and never a stored AQI outside AirNow's scale. AQI -1 stays "no value"."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from collectors.air_quality.airnow import AirNowAdapter
from collectors.base import Credentials, SiteInfo, Window
from enrich.http import MalformedResponse
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support.replay import load_fixture

CLASSIC = "/aq/observation/latLong/current/"


def fetch(server, *, classic=False, change=None):
    """One fetch of the Seattle scenario, the first row changed by `change` ({field: value})."""
    rows = load_fixture(f"airnow/observation_{'classic' if classic else 'current'}.json")
    rows[0].update(change or {})
    if classic:
        server.add("GET", AIRNOW_CURRENT_PATH, status=404)
        server.add("GET", CLASSIC, json=rows)
    else:
        server.add("GET", AIRNOW_CURRENT_PATH, json=rows)
    site = SiteInfo(name="home", latitude=47.6021, longitude=-122.3290)
    credentials = Credentials(api_key="test-airnow-key-123", options={"base_url": server.url})
    now = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)
    window = Window(now - timedelta(hours=1), now, now)
    adapter = AirNowAdapter()
    return adapter.fetch(adapter.target(site, credentials), credentials, window)


@pytest.mark.parametrize(
    ("classic", "key", "aqi"),
    [
        (False, "nowcastAQI", -5),
        (False, "nowcastAQI", -0.5),
        (False, "nowcastAQI", 1001),
        (False, "nowcastAQI", 1e12),
        (True, "AQI", -2),
        (True, "AQI", 5000),
    ],
)
def test_aqi_outside_0_1000_is_malformed(replay_server, classic, key, aqi):
    # "Beyond the AQI" readings (wildfire smoke) up to 1000 are kept...
    readings = fetch(replay_server, classic=classic, change={key: 1000}).readings
    assert next(r for r in readings if r.tags["parameter"] == "overall").fields["aqi"] == 1000.0
    # ...an AQI off the scale is no reading.
    replay_server.reset()
    with pytest.raises(MalformedResponse, match=re.escape(f"observation 0: {key} {aqi!r}")):
        fetch(replay_server, classic=classic, change={key: aqi})


@pytest.mark.parametrize(
    ("classic", "change"),
    [
        # 23:00 AKST on 9999-12-31 is past year 9999 in UTC: astimezone overflowed.
        (False, {"dateObserved": "9999-12-31", "hourObserved": "23:00", "localTimeZone": "AKST"}),
        (True, {"DateObserved": "9999-12-31 ", "HourObserved": 20, "LocalTimeZone": "HST"}),
        # a real date that InfluxDB cannot store
        (False, {"dateObserved": "2300-01-01"}),
        (True, {"DateObserved": "1600-06-01"}),
    ],
)
def test_an_observation_date_influxdb_cannot_store_is_malformed(replay_server, classic, change):
    with pytest.raises(MalformedResponse, match="observation 0: date .* outside the times"):
        fetch(replay_server, classic=classic, change=change)
