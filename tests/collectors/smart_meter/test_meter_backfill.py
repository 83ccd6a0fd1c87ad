"""Home Assistant meter timestamps and units, and the backfill of Sense and HA meters after an
outage, replaying documented payloads: HA's `/api/states` and `/api/history/period` (HA REST
API docs), Sense's `app/history/trends` (what the sense_energy library calls; the `totals`
list as openHAB's Sense binding reads it). Backfilled points are written to the real InfluxDB
twice to show they are the readings at their own times, never duplicated."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.base import Window
from collectors.smart_meter.home_assistant import HomeAssistantMeterAdapter
from collectors.smart_meter.sense.adapter import SenseAdapter
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_smart_meter import (
    HA_NOW,
    HA_OPTIONS,
    SENSE_NOW,
    SITE,
    home_assistant_credentials,
    home_assistant_routes,
    sense_credentials,
    sense_routes,
)
from tests.support.isolation import fresh_database
from tests.support.replay import load_fixture

HISTORY_PATH = "/api/history/period/2026-05-01T12:00:00+00:00"


def at(hour: int, minute: int, second: float = 0.0) -> datetime:
    """A time on 2026-05-01 (UTC), the day of the replayed answers."""
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    return datetime(2026, 5, 1, hour, minute, whole, micro, tzinfo=UTC)


def day_before(hour: int) -> datetime:
    return datetime(2026, 4, 30, hour, tzinfo=UTC)


def ha_fetch(server, start: datetime, **options):
    adapter = HomeAssistantMeterAdapter()
    credentials = home_assistant_credentials(server, **options)
    target = adapter.target(SITE, credentials)
    return adapter.fetch(target, credentials, Window(start=start, end=HA_NOW, now=HA_NOW))


@pytest.fixture
def influx(settings):
    with fresh_database("meter_backfill") as settings.INFLUXDB_DATABASE:
        yield get_timeseries()


# --- Home Assistant: timestamps and units ---


def test_a_constant_standby_load_is_stamped_when_ha_last_reported_it(replay_server):
    """HA moves last_updated only when the value changes: 212 W since 01:12 would keep that
    one old timestamp, and the 02:30-03:30 phantom-load window would see no sample."""
    standby = load_fixture("home_assistant/state_standby_w.json")
    replay_server.add("GET", "/api/states/sensor.home_power", json=standby)
    result = ha_fetch(
        replay_server, HA_NOW - timedelta(minutes=5), circuits={}, daily_energy_entity=None
    )
    (home,) = [r for r in result.readings if "total_power_w" in r.fields]
    assert home.fields == {"total_power_w": 212.0}
    assert home.time == at(14, 5, 20.504417)  # last_reported, not last_updated (01:12:40)


def test_without_last_reported_the_time_is_last_updated(replay_server):
    """Home Assistant before 2024.3 has no last_reported."""
    older = load_fixture("home_assistant/state_standby_w.json")
    del older["last_reported"]
    replay_server.add("GET", "/api/states/sensor.home_power", json=older)
    result = ha_fetch(
        replay_server, HA_NOW - timedelta(minutes=5), circuits={}, daily_energy_entity=None
    )
    assert [r.time for r in result.readings if "total_power_w" in r.fields] == [at(1, 12, 40.1182)]


def test_an_energy_entity_in_mwh_is_converted_to_kwh(replay_server):
    mwh = load_fixture("home_assistant/state_daily_mwh.json")
    replay_server.add("GET", "/api/states/sensor.home_energy_today", json=mwh)
    home_assistant_routes(replay_server)
    result = ha_fetch(replay_server, HA_NOW - timedelta(minutes=5))
    daily = [r for r in result.readings if "daily_kwh" in r.fields]
    assert [(r.fields["daily_kwh"], r.time) for r in daily] == [
        (pytest.approx(12.45), at(14, 5))  # 0.01245 MWh
    ]


# --- Home Assistant: backfill from /api/history/period ---


def test_a_normal_window_does_not_read_has_history(replay_server):
    home_assistant_routes(replay_server)
    ha_fetch(replay_server, HA_NOW - timedelta(minutes=5))
    assert not [r for r in replay_server.requests if r.path.startswith("/api/history")]


@pytest.mark.django_db
def test_a_fetch_window_longer_than_ha_keeps_asks_only_its_history(isolated, replay_server):
    # The admin takes any fetch window of a minute or more; HA's history API keeps a day.
    home_assistant_routes(replay_server)
    site = Site.objects.create(name="Home", latitude=SITE.latitude, longitude=SITE.longitude)
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant", interval_seconds=30 * 86400,
        api_key="ha-long-lived-token-xyz", options={"base_url": replay_server.url, **HA_OPTIONS},
    )  # fmt: skip
    pipeline.collect(config, now=HA_NOW)
    asked = [r.path for r in replay_server.requests if r.path.startswith("/api/history")]
    assert asked == [f"/api/history/period/{(HA_NOW - timedelta(days=1)).isoformat()}"]


def test_after_an_outage_the_states_ha_recorded_are_backfilled_once(
    replay_server, influx, settings
):
    home_assistant_routes(replay_server)
    replay_server.add(
        "GET", HISTORY_PATH, json=replay_server.load_fixture("home_assistant/history_period.json")
    )
    result = ha_fetch(replay_server, at(12, 0))
    (history,) = replay_server.calls("GET", HISTORY_PATH)
    assert history.query == {
        "filter_entity_id": (
            "sensor.home_power,sensor.heat_pump_power,sensor.oven_power,sensor.home_energy_today"
        ),
        "end_time": "2026-05-01T14:05:30+00:00",
        "minimal_response": "",
    }
    assert history.headers["Authorization"] == "Bearer ha-long-lived-token-xyz"
    homes = {
        r.time: r.fields["total_power_w"] for r in result.readings if "total_power_w" in r.fields
    }
    assert homes == {
        at(12, 0): 410.2,  # the state in effect when the gap began
        at(12, 47, 10.25): 2950.0,
        at(13, 12, 0.9): 415.0,  # "unavailable" at 13:10:05 is left out
        at(14, 4, 58.412311): 1843.6,  # the last recorded state
        at(14, 5, 3.100002): 1843.6,  # the live state, at its last_reported
    }
    heat_pump = sorted(
        ((r.time, dict(r.fields)) for r in result.readings if r.tags.get("circuit") == "Heat pump"),
        key=lambda pair: pair[0],
    )
    assert heat_pump[:2] == [  # kW -> W; no share: the whole home is another entity's state
        (at(12, 0), {"power_w": 0.0}),
        (at(12, 47, 9), {"power_w": 2400.0}),
    ]
    assert not [r for r in result.readings if r.tags.get("circuit") == "Oven"]
    daily = sorted(
        (r.time, r.fields["daily_kwh"]) for r in result.readings if "daily_kwh" in r.fields
    )
    assert daily == [(at(12, 0), 9.8), (at(13, 0), 10.4505), (at(14, 5), 12.45)]
    assert {r.tags["site"] for r in result.readings} == {"Home"}

    # Written twice (an overlapping backfill): the same points, never a second copy.
    db = settings.INFLUXDB_DATABASE
    influx.write(db, result.readings)
    influx.write(db, result.readings)
    rows = influx.query(db, 'SELECT "total_power_w" FROM "smart_meter" GROUP BY *')
    assert sorted(r.time for r in rows if r.values["total_power_w"] is not None) == sorted(homes)


def test_an_entity_named_twice_is_backfilled_under_each_name(replay_server, caplog):
    """One sensor as the whole home and a circuit ("Mains"), another under two circuit names:
    each name gets the states HA recorded, as it gets the live state."""
    home_assistant_routes(replay_server)
    replay_server.add(
        "GET", HISTORY_PATH, json=replay_server.load_fixture("home_assistant/history_period.json")
    )
    circuits = {
        "Mains": "sensor.home_power",
        "Heat pump": "sensor.heat_pump_power",
        "HVAC": "sensor.heat_pump_power",
    }
    caplog.set_level("INFO", logger="collectors.smart_meter.home_assistant")
    result = ha_fetch(replay_server, at(12, 0), circuits=circuits)
    # The log counts the states HA recorded (4 of the home, 3 of the heat pump, 3 daily
    # totals), in words, once each: it said "18 recorded state(s)", the points made of them.
    assert (
        "home_assistant: after an outage, read 10 recorded states since "
        "2026-05-01T12:00:00+00:00 from HA's history"
    ) in caplog.messages
    recorded = [at(12, 0), at(12, 47, 10.25), at(13, 12, 0.9), at(14, 4, 58.412311)]
    live = at(14, 5, 3.100002)
    homes = sorted(r.time for r in result.readings if "total_power_w" in r.fields)
    assert homes == [*recorded, live]
    mains = sorted(r.time for r in result.readings if r.tags.get("circuit") == "Mains")
    assert mains == [*recorded, live]
    heat_pump = [at(12, 0), at(12, 47, 9), at(14, 4, 41.25)]  # the last one is also live
    for name in ("Heat pump", "HVAC"):
        got = sorted(r.time for r in result.readings if r.tags.get("circuit") == name)
        assert got == heat_pump, name


def test_the_state_in_effect_when_the_gap_began_is_kept_for_a_start_within_a_second(
    replay_server,
):
    """The gap begins at the last success, a time with microseconds (12:00:00.5); the history is
    asked from the whole second and HA stamps the state in effect then with 12:00:00. A circuit
    that did not change during the gap has only that state: it was dropped, leaving no point."""
    home_assistant_routes(replay_server)
    replay_server.add(
        "GET", HISTORY_PATH, json=replay_server.load_fixture("home_assistant/history_period.json")
    )
    result = ha_fetch(replay_server, at(12, 0, 0.5))
    homes = {r.time: r.fields for r in result.readings if "total_power_w" in r.fields}
    assert homes[at(12, 0)] == {"total_power_w": 410.2}
    heat_pump = [r for r in result.readings if r.tags.get("circuit") == "Heat pump"]
    assert (at(12, 0), {"power_w": 0.0}) in [(r.time, r.fields) for r in heat_pump]
    daily = {r.time: r.fields["daily_kwh"] for r in result.readings if "daily_kwh" in r.fields}
    assert daily[at(12, 0)] == 9.8


# --- Sense: backfill from the trends ---


def sense_fetch(server, feed_url, start: datetime):
    adapter = SenseAdapter()
    credentials = sense_credentials(server, feed_url)
    target = adapter.target(SITE, credentials)
    return adapter.fetch(target, credentials, Window(start=start, end=SENSE_NOW, now=SENSE_NOW))


def test_a_normal_sense_window_asks_only_todays_trends(replay_server, feed):
    sense_routes(replay_server)
    sense_fetch(replay_server, feed.url, SENSE_NOW - timedelta(minutes=5))
    starts = [r.query["start"] for r in replay_server.calls("GET", "/app/history/trends")]
    assert starts == ["2026-05-01T14:05:00"]


def test_after_an_outage_sense_trends_give_each_complete_hour_and_day(
    replay_server, feed, influx, settings, caplog
):
    sense_routes(replay_server)
    complete = replay_server.load_fixture("sense/trends_day_complete.json")
    replay_server.add(
        "GET", "/app/history/trends", query={"start": "2026-04-30T20:00:00"}, json=complete
    )
    today = replay_server.load_fixture("sense/trends_day.json")
    replay_server.add(
        "GET", "/app/history/trends", query={"start": "2026-05-01T04:00:00"}, json=today
    )
    caplog.set_level("INFO", logger="collectors.smart_meter.sense")
    result = sense_fetch(replay_server, feed.url, day_before(20))
    # Hours and days apart, in words: it said "12 hour/day total(s)".
    assert (
        "sense: after an outage since 2026-04-30T20:00:00+00:00, 11 hourly totals and 1 daily "
        "total came back from the trends"
    ) in caplog.messages
    starts = [r.query["start"] for r in replay_server.calls("GET", "/app/history/trends")]
    # Today's total (every 15 min, for the frame's minute), then one call per day of the gap:
    # the day the gap began, then the next day from where that one ended.
    assert starts == ["2026-05-01T14:05:00", "2026-04-30T20:00:00", "2026-05-01T04:00:00"]
    hours = {r.time: r.fields["hour_kwh"] for r in result.readings if "hour_kwh" in r.fields}
    totals = complete["consumption"]["totals"]
    expected = {day_before(20 + i): totals[16 + i] for i in range(4)}  # 20:00 .. 23:00
    expected |= {at(i, 0): totals[20 + i] for i in range(4)}  # 00:00 .. 03:00 (the day ends 04:00)
    expected |= {at(4, 0): 0.9, at(5, 0): 0.8, at(6, 0): 0.7}  # today's hours Sense has so far
    assert hours == expected
    days = [(r.time, r.fields) for r in result.readings if "hour_kwh" not in r.fields][:1]
    assert days == [(at(3, 59), {"daily_kwh": 22.27})]  # the complete day, at its last minute
    realtime = [r for r in result.readings if "total_power_w" in r.fields]
    assert [(r.time, r.fields["total_power_w"]) for r in realtime] == [(at(14, 5), 11163.86)]
    assert {r.tags["device"] for r in result.readings} == {"98765"}

    db = settings.INFLUXDB_DATABASE
    influx.write(db, result.readings)
    influx.write(db, result.readings)  # a second, overlapping backfill
    rows = influx.query(db, 'SELECT "hour_kwh" FROM "smart_meter" GROUP BY *')
    stored = [r.time for r in rows if r.values["hour_kwh"] is not None]
    assert sorted(stored) == sorted(expected)
