"""The air quality now at every minute of a day between the hourly fetches
(collectors.air_quality.now).

Seattle's day of the autumn DST change (2026-11-01, 00:00 PDT to 24:00 PST: 25 hours) goes
through the real pipeline: beat's fetch at :35 of every hour asks the replay server, which
answers as AirNow does (external_apis.md §8): the observation of the hour that began before
it, on the reporting area's clock (`dateObserved`, `hourObserved`, `localTimeZone`), so
01:00 comes twice, as PDT and as PST. AirNow is late once (the 12:35 fetch still gets 11:00)
and a monitor stops after 15:00 UTC (AirNow answers with its last observation for six hours).
The clock walks every minute: what GET /api/enrichment/current serves is the last fetch's
observation, from that fetch's minute on, with the observation's hour (UTC) as its `time`,
never a later one, and `stale` with a `message` once that hour began more than 3 h ago.
Home Assistant's states and InfluxDB say the same at the minutes around each fetch. Expected
values come from the hours the payloads are built from, not from our code.

Each fetch happens as the clock reaches it; the cache time of an answer runs on the wall
clock (tests/api/test_enrichment_current.py walks that one), so the hour's end is played by
taking the answer's fresh cache entry away, as Redis does when its TTL ends.
"""

import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors import pipeline
from collectors.air_quality import now as air_now
from collectors.ha_mqtt.entities import air_quality_states, source_entry
from enrich.models import Site
from enrich.redis.cache import ResponseCache, cache_key
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.beat import run_every_minute_collectors
from tests.support.now_points import at, newest_per_series
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
SEATTLE = ZoneInfo("America/Los_Angeles")
DAY_START = datetime(2026, 11, 1, 7, tzinfo=UTC)  # 00:00 PDT
DAY_END = datetime(2026, 11, 2, 8, tzinfo=UTC)  # 24:00 PST: 25 hours later
FIRST_FETCH = DAY_START - HOUR + 35 * MINUTE  # 23:35 PDT the evening before
LATE = datetime(2026, 11, 1, 12, 35, tzinfo=UTC)  # AirNow has not published 12:00 yet
STOPPED = datetime(2026, 11, 1, 15, tzinfo=UTC)  # the monitor's last hour ...
BACK = datetime(2026, 11, 1, 22, 35, tzinfo=UTC)  # ... until this fetch


def fetches() -> list[datetime]:
    """Beat's fetch times (":35" of every hour) from the evening before to the day's end."""
    count = round((DAY_END - FIRST_FETCH) / HOUR) + 1
    return [FIRST_FETCH + i * HOUR for i in range(count)]


def observed_hour(fetched: datetime) -> datetime:
    """The hour (UTC start) of the observation AirNow answers with at `fetched`."""
    hour = fetched.replace(minute=0)
    if fetched == LATE:
        return hour - HOUR
    if STOPPED < hour and fetched < BACK:
        return STOPPED
    return hour


def pm25_aqi(hour: datetime) -> float:
    """The PM2.5 AQI of an hour: one more each hour, so every hour's value is its own (36 at
    06:00 UTC, Moderate from 51)."""
    return 30.0 + (hour - DAY_START.replace(hour=0)) / HOUR


def category(aqi: float) -> str:
    return "Good" if aqi <= 50 else "Moderate"


def answer_of(hour: datetime) -> list[dict]:
    """The documented current-service answer for Seattle, of `hour`, on the area's clock."""
    local = hour.astimezone(SEATTLE)
    rows = copy.deepcopy(load_fixture("airnow/observation_current.json"))
    for row in rows:
        row |= {"dateObserved": local.date().isoformat(), "hourObserved": f"{local:%H}:00",
                "localTimeZone": local.tzname()}  # fmt: skip
        if row["parameterName"] == "PM2.5":
            row |= {"nowcastAQI": pm25_aqi(hour), "aqiCategoryName": category(pm25_aqi(hour))}
    return rows  # O3 35 and PM10 20 as documented: PM2.5 is the worst every hour


def expected_at(moment: datetime) -> datetime:
    """The hour of the observation served at `moment`: the last fetch's, from its minute on."""
    return observed_hour(max(f for f in fetches() if f <= moment))


def check_entry(entry: dict, moment: datetime) -> None:
    hour = expected_at(moment)
    value, aqi = entry["value"], pm25_aqi(hour)
    assert entry["time"] == value["time"] == hour.isoformat(), moment
    assert (value["aqi"], value["pm25"], value["ozone"], value["pm10"]) == (aqi, aqi, 35, 20)
    assert (value["category"], value["category_number"]) == (category(aqi), 1 + (aqi > 50))
    assert value["location"] == "Seattle-Bellevue-Kent Valley"
    old = moment - hour > 3 * HOUR  # AirNow stopped publishing for this monitor
    assert entry["stale"] is old, moment
    if old:
        hours = (moment - hour) / HOUR
        assert entry["message"].startswith(
            f"the latest AirNow observation is of the hour starting {hour.isoformat()}, "
            f"{hours:.1f} h ago"
        ), moment
    else:
        assert "message" not in entry, moment


def test_every_minute_of_the_dst_day_serves_the_last_fetched_hour(
    own_storage, replay_server, api, monkeypatch
):
    for fetched in fetches():
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer_of(observed_hour(fetched)),
                          times=1)  # fmt: skip
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url)
    target, cache = pipeline.target_for(config), ResponseCache()
    around = {m for f in fetches() for m in (f - MINUTE, f)} | {
        STOPPED + 3 * HOUR, STOPPED + 3 * HOUR + MINUTE, DAY_START, DAY_END - MINUTE}  # fmt: skip

    answer, fetch_minutes, walked = None, set(fetches()), 0
    moment = FIRST_FETCH
    while moment < DAY_END:
        if moment in fetch_minutes:
            # the hour is over: the answer's fresh cache entry expires, and beat's run fetches
            get_redis().delete(cache_key(config.source, config.provider, target.key))
            at(monkeypatch, moment)
            assert pipeline.collect(config).status == "ok", moment
            answer = cache.get(config.source, config.provider, target.key)
        at(monkeypatch, moment)
        entry = air_now.current_value(answer)
        check_entry(entry, moment)
        assert datetime.fromisoformat(entry["time"]) <= moment  # never a later hour
        if moment in around:
            check_served_everywhere(api, config, own_storage, moment, entry)
        walked += moment >= DAY_START
        moment += MINUTE
    assert walked == 25 * 60
    assert len(replay_server.requests) == len(fetches())


def check_served_everywhere(api, config, database: str, moment: datetime, entry: dict) -> None:
    """GET /api/enrichment/current, Home Assistant's states and InfluxDB's newest overall
    point at `moment` say what the minute's computation serves."""
    [served] = api.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]
    for key in ("value", "time", "stale", "fetched_at"):
        assert served[key] == entry[key], (moment, key)
    assert served.get("message") == entry.get("message"), moment
    states = {s.spec.key: s for s in air_quality_states(source_entry([config], ResponseCache()))}
    aqi, hour = entry["value"]["aqi"], entry["time"]
    assert float(states["aqi"].state) == aqi and states["aqi_category"].state == category(aqi)
    for state in states.values():
        assert state.attributes["data_time"] == hour, moment
        assert state.attributes["stale"] is entry["stale"], moment
    # beat's minute tasks write nothing for air quality: measured values, no forecast
    run_every_minute_collectors()
    rows = newest_per_series(database, "air_quality", moment, parameter="overall")
    point = max(rows, key=lambda row: row.time)  # a series per category
    assert point.time.isoformat() == hour, moment
    assert point.values["aqi"] == aqi and point.tags["category"] == category(aqi), moment
