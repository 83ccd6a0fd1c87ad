"""The air quality now at every minute of a day between the hourly fetches
(collectors.air_quality.now).

Seattle's day of the autumn DST change (2026-11-01, 00:00 PDT to 24:00 PST: 25 hours) goes
through the real pipeline: beat's fetch at :35 of every hour asks the replay server, which
answers as AirNow does (external_apis.md §8): the observation of the hour that began before
it, on the reporting area's clock (`dateObserved`, `hourObserved`, `localTimeZone`), so
01:00 comes twice, as PDT and as PST. AirNow is late once (the 12:35 fetch still gets 11:00)
and a monitor stops after 15:00 UTC (AirNow answers with its last observation for six hours);
on another day only the ozone monitor stops, while PM2.5 and PM10 go on.
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
LATE = datetime(2026, 11, 1, 12, 35, tzinfo=UTC)  # AirNow has not published 12:00 yet
STOPPED = datetime(2026, 11, 1, 15, tzinfo=UTC)  # the monitors' last hour ...
BACK = datetime(2026, 11, 1, 22, 35, tzinfo=UTC)  # ... until this fetch
# Documented figures (observation_current.json) but for PM2.5, whose AQI is its own each hour.
OZONE, PM10 = 35.0, 20.0
CATEGORIES = ((50, "Good"), (100, "Moderate"), (150, "Unhealthy for Sensitive Groups"))


def fetches(start: datetime, end: datetime) -> list[datetime]:
    """Beat's fetch times (":35" of every hour) from the hour before `start` up to `end`."""
    first = start - HOUR + 35 * MINUTE
    return [first + i * HOUR for i in range(round((end - first) / HOUR) + 1)]


def pm25_aqi(hour: datetime) -> float:
    """The PM2.5 AQI of an hour, 30-69: each of 40 hours in a row has its own."""
    return 30.0 + hour.timestamp() // 3600 % 40


def category(aqi: float) -> tuple[str, int]:
    return next((name, n) for n, (upper, name) in enumerate(CATEGORIES, 1) if aqi <= upper)


def answer_of(hour: datetime, ozone: tuple[datetime, float] | None = None) -> list[dict]:
    """The documented current-service answer for Seattle, of `hour` on the area's clock;
    `ozone`: the hour and AQI of its ozone row when they are others."""
    rows = copy.deepcopy(load_fixture("airnow/observation_current.json"))
    for row in rows:
        when, aqi = hour, row["nowcastAQI"]
        if row["parameterName"] == "PM2.5":
            aqi = pm25_aqi(hour)
        elif row["parameterName"] == "O3" and ozone:
            when, aqi = ozone
        local = when.astimezone(SEATTLE)
        row |= {"dateObserved": local.date().isoformat(), "hourObserved": f"{local:%H}:00",
                "localTimeZone": local.tzname(), "nowcastAQI": aqi,
                "aqiCategoryName": category(aqi)[0]}  # fmt: skip
    return rows


def check_entry(entry: dict, moment: datetime, hour: datetime, indices: dict) -> None:
    """`entry` serves the observation of `hour` with these sub-indices, stale past 3 h."""
    value, aqi = entry["value"], max(indices.values())
    assert entry["time"] == value["time"] == hour.isoformat(), moment
    assert datetime.fromisoformat(entry["time"]) <= moment  # never a later hour
    assert {k: value[k] for k in ("pm25", "ozone", "pm10") if k in value} == indices, moment
    assert value["aqi"] == aqi, moment
    assert (value["category"], value["category_number"]) == category(aqi), moment
    assert value["location"] == "Seattle-Bellevue-Kent Valley"
    old = moment - hour > 3 * HOUR  # AirNow stopped publishing for this monitor
    assert entry["stale"] is old, moment
    if old:
        hours = (moment - hour) / HOUR
        assert entry["message"].startswith(
            f"the latest AirNow observation is of the hour starting "
            f"{hour.astimezone(SEATTLE).isoformat()}, "
            f"{hours:.1f} h ago"
        ), moment
    else:
        assert "message" not in entry, moment


def walk(setup, answers: dict, end: datetime, expect, chosen: set) -> int:
    """Fetch `answers` (by fetch time) as the clock reaches each; check every minute from the
    first fetch to `end` against `expect(moment)` -> (hour, sub-indices), and everything
    served at the `chosen` minutes and those around each fetch. Returns the minutes walked."""
    api, replay_server, database, monkeypatch = setup
    for fetched in answers:
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answers[fetched], times=1)
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url)
    target, cache = pipeline.target_for(config), ResponseCache()
    chosen = chosen | {m for f in answers for m in (f - MINUTE, f)}
    answer, moment, walked = None, min(answers), 0
    while moment < end:
        at(monkeypatch, moment)
        if moment in answers:
            # the hour is over: the answer's fresh cache entry expires, and beat's run fetches
            get_redis().delete(cache_key(config.source, config.provider, target.key))
            assert pipeline.collect(config).status == "ok", moment
            answer = cache.get(config.source, config.provider, target.key)
        entry = air_now.current_value(answer, site.timezone)
        check_entry(entry, moment, *expect(moment))
        if moment in chosen:
            check_served_everywhere(api, config, database, moment, entry)
        walked += 1
        moment += MINUTE
    assert len(replay_server.requests) == len(answers)
    return walked


def test_every_minute_of_the_dst_day_serves_the_last_fetched_hour(
    own_storage, replay_server, api, monkeypatch
):
    def observed(fetched: datetime) -> datetime:
        hour = fetched.replace(minute=0)
        if fetched == LATE:
            return hour - HOUR
        return STOPPED if STOPPED < hour and fetched < BACK else hour

    times = fetches(DAY_START, DAY_END)
    answers = {f: answer_of(observed(f)) for f in times}

    def expect(moment: datetime) -> tuple[datetime, dict]:
        hour = observed(max(f for f in times if f <= moment))
        return hour, {"pm25": pm25_aqi(hour), "ozone": OZONE, "pm10": PM10}

    edges = {STOPPED + 3 * HOUR, STOPPED + 3 * HOUR + MINUTE, DAY_START, DAY_END - MINUTE}
    setup = api, replay_server, own_storage, monkeypatch
    walked = walk(setup, answers, DAY_END, expect, edges)
    assert walked == 25 * 60 + 25  # the 25-hour day, from the 23:35 PDT fetch before it


def test_a_pollutant_whose_monitor_stopped_leaves_the_overall_after_its_hour_before(
    own_storage, replay_server, api, monkeypatch
):
    """The ozone monitor stops after 15:00 UTC (08:00 PDT) at 120, Unhealthy for Sensitive
    Groups; AirNow goes on answering with that observation beside each new hour of PM2.5 and
    PM10. Ozone counts in the overall while it lags an hour (AirNow publishes pollutants
    minutes apart), not after: the 120 of 15:00 was served as the AQI of every later hour,
    not stale, while PM2.5 and PM10 said 30-69."""
    start, end = datetime(2026, 10, 8, 7, tzinfo=UTC), datetime(2026, 10, 9, 7, tzinfo=UTC)
    stopped, times = datetime(2026, 10, 8, 15, tzinfo=UTC), fetches(start, end)

    def ozone_hour(hour: datetime) -> datetime:
        return min(hour, stopped)

    answers = {}
    for fetched in times:
        hour = fetched.replace(minute=0)
        answers[fetched] = answer_of(hour, ozone=(ozone_hour(hour), 120.0))

    def expect(moment: datetime) -> tuple[datetime, dict]:
        hour = max(f for f in times if f <= moment).replace(minute=0)
        indices = {"pm25": pm25_aqi(hour), "pm10": PM10}
        if ozone_hour(hour) >= hour - HOUR:
            indices["ozone"] = 120.0
        return hour, indices

    setup = api, replay_server, own_storage, monkeypatch
    assert walk(setup, answers, end, expect, set()) == 24 * 60 + 25


def check_served_everywhere(api, config, database: str, moment: datetime, entry: dict) -> None:
    """GET /api/enrichment/current, Home Assistant's states and InfluxDB's newest overall
    point at `moment` say what the minute's computation serves."""
    [served] = api.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]
    for key in ("value", "time", "stale", "fetched_at"):
        assert served[key] == entry[key], (moment, key)
    assert served.get("message") == entry.get("message"), moment
    states = {s.spec.key: s for s in air_quality_states(source_entry([config], ResponseCache()))}
    aqi, hour = entry["value"]["aqi"], entry["time"]
    assert float(states["aqi"].state) == aqi
    assert states["aqi_category"].state == category(aqi)[0]
    for state in states.values():
        assert state.attributes["data_time"] == hour, moment
        assert state.attributes["stale"] is entry["stale"], moment
    # beat's minute tasks write nothing for air quality: measured values, no forecast
    run_every_minute_collectors()
    rows = newest_per_series(database, "air_quality", moment, parameter="overall")
    point = max(rows, key=lambda row: row.time)  # a series per category
    assert point.time.isoformat() == hour, moment
    assert point.values["aqi"] == aqi and point.tags["category"] == category(aqi)[0], moment
