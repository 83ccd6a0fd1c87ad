"""The smart meter watch (after-write hook) on real Redis and InfluxDB: high-consumption events
logged once (also across two worker processes), and the 3 a.m. phantom-load baseline on
constructed series across nights and DST changes."""

import json
import logging
import math
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from collectors import pipeline
from collectors.base import ConfigError, FetchResult, Target
from collectors.smart_meter import common, watch
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from enrich.redis.client import get_redis
from tests.collectors import scenarios_smart_meter as scenarios
from tests.collectors.scenarios_smart_meter import HA_NOW, HA_OPTIONS, home_assistant_routes
from tests.ha_mqtt import homes
from tests.support import log_workers
from tests.support.isolation import own_storage

pytestmark = pytest.mark.influxdb
LOGGER = "collectors.smart_meter"
BERLIN = ZoneInfo("Europe/Berlin")
TAGS = {"meter_type": "emporia_vue", "device": "Main panel", "provider": "emporia_vue"}


def target(**params) -> Target:
    base = {"timezone": "Europe/Berlin", "phantom_nights": 1, "high_power_w": 10_000.0}
    return Target("smart_meter", "emporia_vue", "owner@example.com", base | params)


@pytest.fixture
def isolated(settings, caplog):
    """Own InfluxDB database and Redis key prefix per test (also for its worker processes)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with own_storage(settings, "meter") as ts:
        yield ts


def logged(caplog) -> list[tuple[str, str]]:
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == LOGGER and r.levelno >= logging.INFO
    ]


def home(watts: float, when: datetime, device: str = "Main panel") -> Reading:
    return Reading("smart_meter", {"total_power_w": watts}, when, TAGS | {"device": device})


def circuit(watts: float, when: datetime, name: str) -> Reading:
    return Reading("smart_meter_circuit", {"power_w": watts}, when, TAGS | {"circuit": name})


# --- high consumption ---

T0 = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "options",
    [{"high_power_w": math.inf}, {"high_power_w": math.nan}, {"phantom_nights": math.inf}],
)
def test_a_watch_option_that_is_no_finite_number_is_refused_naming_it(options):
    # The admin refuses NaN and infinities on save, but a meter config the embedded SQLite
    # holds from before reached the run: Infinity (and NaN) W never alerted, an infinite
    # phantom_nights raised OverflowError out of it.
    [name] = options
    with pytest.raises(ConfigError, match=f"option {name}=.* must be a finite number above 0"):
        common.watch_options(options)


def test_high_consumption_is_logged_once_when_it_starts_and_once_when_it_ends(isolated, caplog):
    for minute, watts in enumerate([9000, 11000, 12500, 10400, 9000, 8000]):
        watch.note_high_power(target(), [home(watts, T0 + timedelta(minutes=5 * minute))])
    assert logged(caplog) == [
        (
            "WARNING",
            "High consumption on Main panel (emporia_vue) started at 2026-05-01T18:05:00+00:00:"
            " 11.0 kW, above 10.0 kW",
        ),
        (
            "INFO",
            "High consumption on Main panel (emporia_vue) ended at 2026-05-01T18:20:00+00:00 "
            "(now 9.0 kW): it lasted 0:15:00, peak 12.5 kW",
        ),
    ]


def test_the_same_or_an_older_reading_again_logs_nothing(isolated, caplog):
    watch.note_high_power(target(), [home(11000, T0)])
    caplog.clear()
    watch.note_high_power(target(), [home(11000, T0)])  # a second worker, same answer
    watch.note_high_power(target(), [home(5000, T0 - timedelta(minutes=5))])  # a late one
    assert logged(caplog) == []
    assert get_redis().hget(watch.high_power_key(target(), "Main panel"), "state") == "high"


def test_threshold_and_devices_are_separate(isolated, caplog):
    watch.note_high_power(
        target(high_power_w=3000.0), [home(3500, T0), home(2000, T0, device="Office plug")]
    )
    assert [m for _, m in logged(caplog)] == [
        "High consumption on Main panel (emporia_vue) started at 2026-05-01T18:00:00+00:00:"
        " 3.5 kW, above 3.0 kW"
    ]


def test_a_backfill_of_many_readings_goes_to_redis_in_a_few_round_trips(isolated, caplog):
    """A day of HA states (a sensor reporting every few seconds) is tens of thousands of
    readings: one round trip each was most of the write's time. Redis counts the reads of
    its clients (all of them, so the bound leaves room for other tests' traffic: one round
    trip a reading would be 20,000 reads)."""
    readings = [home(8000 + (i // 5000) * 3000, T0 + timedelta(seconds=i)) for i in range(20_000)]
    reads = get_redis().info("stats")["total_reads_processed"]
    watch.note_high_power(target(), readings)
    assert get_redis().info("stats")["total_reads_processed"] - reads < 10_000
    assert [level for level, _ in logged(caplog)] == ["WARNING"]  # 11 kW from the 5000th second
    assert "started at 2026-05-01T19:23:20+00:00" in logged(caplog)[0][1]
    assert get_redis().hget(watch.high_power_key(target(), "Main panel"), "peak") == "17000.0"


# A worker process (tests/support/log_workers.py): notes the whole-home series given as JSON
# and prints the records it logged.
WORKER = """
from datetime import datetime
from collectors.base import Target
from collectors.smart_meter.watch import note_high_power
from enrich.readings import Reading

wait_for_go()
target = Target("smart_meter", "emporia_vue", "owner@example.com", {"high_power_w": 10000.0})
tags = {"meter_type": "emporia_vue", "device": "Main panel", "provider": "emporia_vue"}
for when, watts in json.loads(args[0]):
    reading = Reading("smart_meter", {"total_power_w": watts}, datetime.fromisoformat(when), tags)
    note_high_power(target, [reading])
print(json.dumps(records))
"""


def test_two_worker_processes_log_each_event_edge_exactly_once(isolated, settings):
    barrier = f"{settings.REDIS_KEY_PREFIX}:barrier"
    series = [
        [(T0 + timedelta(minutes=5 * i)).isoformat(), w] for i, w in enumerate([11e3, 12e3, 9e3])
    ]
    workers = [
        log_workers.start(
            WORKER,
            logger=LOGGER,
            level="INFO",
            prefix=settings.REDIS_KEY_PREFIX,
            barrier=barrier,
            args=[json.dumps(series)],
        )
        for _ in range(2)
    ]
    log_workers.release(barrier, workers)
    records = [record for worker in workers for record in log_workers.records(worker)]
    assert sorted(level for level, _ in records) == ["INFO", "WARNING"]
    assert any("started" in m for _, m in records) and any("ended" in m for _, m in records)


# --- phantom load ---


def night_series(day, value_of, start_utc_hour=-3, hours=9, step=5):
    """Whole-home and circuit samples every `step` minutes around the night of `day`, in UTC,
    each valued by value_of(utc time)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=start_utc_hour)
    points = []
    for i in range(hours * 60 // step):
        when = start + timedelta(minutes=i * step)
        watts = value_of(when)
        points += [home(watts, when), circuit(watts / 10, when, "Fridge")]
    return points


def minutes_after_midnight_utc(when: datetime) -> float:
    return float(when.hour * 60 + when.minute) if when.hour < 12 else -1000.0


def after_night(day, hour=4) -> list[Reading]:
    """What a fetch after the night returns (the data's own time decides the local day)."""
    when = datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(UTC)
    return [home(500.0, when), circuit(50.0, when, "Fridge")]


def stored_phantom(ts, settings, measurement="smart_meter"):
    query = f'SELECT "phantom_load_w" FROM "{measurement}" GROUP BY *'
    rows = ts.query(settings.INFLUXDB_DATABASE, query)
    return [
        (r.time, r.tags.get("circuit"), r.values["phantom_load_w"])
        for r in rows
        if r.values["phantom_load_w"] is not None
    ]


@pytest.mark.parametrize(
    "day, expected",
    [
        # CEST (+2): 02:30-03:30 local = 00:30-01:30 UTC, samples 30..85 -> median 57.5
        (datetime(2026, 3, 31).date(), 57.5),
        # spring forward: 02:00 CET -> 03:00 CEST, only 03:00-03:30 CEST = 01:00-01:30 UTC
        (datetime(2026, 3, 29).date(), 72.5),
        # fall back: 02:30-03:00 CEST (00:30-01:00 UTC) and 02:30-03:30 CET (01:30-02:30 UTC)
        (datetime(2026, 10, 25).date(), 102.5),
        # CET (+1): 01:30-02:30 UTC, samples 90..145 -> 117.5
        (datetime(2026, 11, 2).date(), 117.5),
    ],
)
def test_baseline_uses_the_local_0230_0330_samples_whatever_dst_does(
    isolated, settings, caplog, day, expected
):
    isolated.write(settings.INFLUXDB_DATABASE, night_series(day, minutes_after_midnight_utc))
    watch.after_write(target(), FetchResult(after_night(day), {}))
    stamp = datetime(day.year, day.month, day.day, 3, 30, tzinfo=BERLIN).astimezone(UTC)
    assert stored_phantom(isolated, settings) == [(stamp, None, expected)]
    assert stored_phantom(isolated, settings, "smart_meter_circuit") == [
        (stamp, "Fridge", pytest.approx(expected / 10))
    ]
    assert (
        "INFO",
        f"Phantom load of Main panel (whole home): {expected:.0f} W (median of 02:30-03:30, 1 night)",
    ) in logged(caplog)


def test_where_0300_0330_happens_twice_the_baseline_waits_for_the_second(
    isolated, settings, caplog
):
    """Europe/Helsinki goes back 04:00 EEST -> 03:00 EET (01:00 UTC): 02:30-03:30 is 23:30-00:30
    UTC and again 01:00-01:30 UTC. A poll at the first 03:35 must not compute the day yet."""
    helsinki = target(timezone="Europe/Helsinki")
    day = datetime(2026, 10, 25).date()
    night = night_series(day, lambda when: 300.0 if when.day == 25 else 100.0, hours=6)
    db = settings.INFLUXDB_DATABASE

    def poll(hour: int, minute: int) -> None:
        now = datetime(2026, 10, 25, hour, minute, tzinfo=UTC)
        isolated.write(db, [p for p in night if p.time <= now])  # what was measured by then
        watch.after_write(helsinki, FetchResult([home(300.0, now)], {}))

    poll(0, 35)  # 03:35 EEST: the second 03:00-03:30 is still to come
    poll(1, 35)  # 03:35 EET
    # 6 samples of 100 W (02:30-03:00 EEST), 6 + 6 of 300 W (03:00-03:30 EEST, then EET)
    stamp = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 03:30
    assert stored_phantom(isolated, settings) == [(stamp, None, 300.0)]


def test_median_over_the_last_nights_ignores_one_odd_night(isolated, settings):
    last = datetime(2026, 4, 10).date()
    points = []
    for back in range(7):
        night = last - timedelta(days=back)
        watts = 2000.0 if back == 3 else 300.0 + back  # one night with a party
        points += night_series(night, lambda when, w=watts: w)
    old = last - timedelta(days=7)  # an eighth night, outside N=7: never counted
    points += night_series(old, lambda when: 5000.0)
    isolated.write(settings.INFLUXDB_DATABASE, points)
    series = watch.series("smart_meter", TAGS)
    baselines = watch.phantom_baselines("emporia_vue", {series: TAGS}, BERLIN, last, 7)
    # Nights of 300, 301, 302, 304, 305, 306 W (12 samples each) and one of 2000 W: the median
    # is the middle normal night; a mean would be 545 W.
    assert baselines == {series: 304.0}


def tagged(readings: list[Reading], **tags: str) -> list[Reading]:
    return [Reading(r.measurement, r.fields, r.time, {**r.tags, **tags}) for r in readings]


def test_two_sites_or_accounts_with_the_same_device_name_keep_their_own_baseline(
    isolated, settings
):
    """Same provider, same device name: the site tag (or Emporia's device_gid) keeps each
    home's series apart, and the phantom load of each is its own."""
    day = datetime(2026, 4, 10).date()
    homes = {("Home", "1234"): 300.0, ("Cabin", "5678"): 900.0, ("Home", "9999"): 40.0}
    for (site, gid), watts in homes.items():
        points = night_series(day, lambda when, w=watts: w)
        isolated.write(settings.INFLUXDB_DATABASE, tagged(points, site=site, device_gid=gid))
    readings = tagged(after_night(day), site="Home", device_gid="1234")
    watch.after_write(target(site="Home"), FetchResult(readings, {}))
    rows = isolated.query(
        settings.INFLUXDB_DATABASE, 'SELECT "phantom_load_w" FROM "smart_meter" GROUP BY *'
    )
    stored = {
        (r.tags["site"], r.tags["device_gid"]): r.values["phantom_load_w"]
        for r in rows
        if r.values["phantom_load_w"] is not None
    }
    assert stored == {("Home", "1234"): 300.0}  # not a median over the three homes' 40..900 W


def test_a_meter_writing_on_change_weighs_each_value_by_how_long_it_held(isolated, settings):
    """A Home Assistant sensor is written when its value changes (its `last_reported` stays
    put while it holds): a standby of 80 W from 23:10 and one two-minute spike at 02:50 were
    two samples inside 02:30-03:30, and their median said a phantom load of 1,040 W. The 80 W
    held 58 of the 60 minutes (carried in from before 02:30): that is the baseline."""
    ha_tags = {"meter_type": "home_assistant", "device": "home", "provider": "home_assistant",
               "site": "Home"}  # fmt: skip
    ha = Target("smart_meter", "home_assistant", "Home|http://ha:8123|home",
                {"timezone": "Europe/Berlin", "phantom_nights": 1, "site": "Home"})  # fmt: skip

    def at(hour: int, minute: int, day: int = 1) -> datetime:
        return datetime(2026, 6, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)

    def state(watts: float, when: datetime, circuit: str | None = None) -> Reading:
        if circuit is None:
            return Reading("smart_meter", {"total_power_w": watts}, when, ha_tags)
        fields = {"power_w": watts}
        return Reading("smart_meter_circuit", fields, when, ha_tags | {"circuit": circuit})

    isolated.write(
        settings.INFLUXDB_DATABASE,
        [
            state(80.0, at(23, 10) - timedelta(days=1)),  # 31 May, 23:10
            state(2000.0, at(2, 50)),
            state(80.0, at(2, 52)),
            state(0.0, at(0, 0), "Heat pump"),
            state(1200.0, at(2, 58), "Heat pump"),
            state(0.0, at(3, 1), "Heat pump"),
        ],
    )
    watch.after_write(
        ha, FetchResult([state(80.0, at(4, 0)), state(0.0, at(4, 0), "Heat pump")], {})
    )
    stamp = at(3, 30)
    assert stored_phantom(isolated, settings) == [(stamp, None, 80.0)]
    assert stored_phantom(isolated, settings, "smart_meter_circuit") == [(stamp, "Heat pump", 0.0)]


def test_computed_once_a_day_after_0330_and_changes_logged_once(isolated, settings, caplog):
    day1, day2, day3 = (datetime(2026, 6, d).date() for d in (1, 2, 3))
    isolated.write(settings.INFLUXDB_DATABASE, night_series(day1, lambda when: 300.0))
    watch.after_write(target(), FetchResult(after_night(day1, hour=3), {}))  # 03:00: too early
    assert stored_phantom(isolated, settings) == [] and logged(caplog) == []
    watch.after_write(target(), FetchResult(after_night(day1), {}))
    watch.after_write(target(), FetchResult(after_night(day1, hour=5), {}))  # same day: no more
    assert [m for _, m in logged(caplog) if "whole home" in m] == [
        "Phantom load of Main panel (whole home): 300 W (median of 02:30-03:30, 1 night)"
    ]
    caplog.clear()
    # +5 %: not notable, nothing logged
    isolated.write(settings.INFLUXDB_DATABASE, night_series(day2, lambda when: 315.0))
    watch.after_write(target(), FetchResult(after_night(day2), {}))
    assert logged(caplog) == []
    # +20 % and +60 W over the last reported 300 W: logged once, as a rise
    isolated.write(settings.INFLUXDB_DATABASE, night_series(day3, lambda when: 360.0))
    watch.after_write(target(), FetchResult(after_night(day3), {}))
    watch.after_write(target(), FetchResult(after_night(day3, hour=6), {}))
    # (the fridge went 30 -> 36 W: +20 % but only 6 W, not notable)
    assert logged(caplog) == [
        ("WARNING", "Phantom load of Main panel (whole home) rose: 300 W -> 360 W (+60 W, +20 %)")
    ]
    assert [v for _, _, v in stored_phantom(isolated, settings)] == [300.0, 315.0, 360.0]


def test_small_absolute_changes_are_not_notable(isolated, settings, caplog):
    day1, day2 = datetime(2026, 6, 1).date(), datetime(2026, 6, 2).date()
    isolated.write(settings.INFLUXDB_DATABASE, night_series(day1, lambda when: 50.0))
    watch.after_write(target(), FetchResult(after_night(day1), {}))
    caplog.clear()
    isolated.write(settings.INFLUXDB_DATABASE, night_series(day2, lambda when: 68.0))  # +36 %, 18 W
    watch.after_write(target(), FetchResult(after_night(day2), {}))
    assert logged(caplog) == []


def test_influxdb_failure_leaves_the_day_open_for_the_next_poll(isolated, settings, caplog):
    day = datetime(2026, 6, 1).date()
    settings.INFLUXDB_DATABASE = f"missing_{uuid.uuid4().hex[:8]}"
    watch.after_write(target(), FetchResult(after_night(day), {}))
    assert "phantom load of owner@example.com not computed" in caplog.text
    assert not get_redis().exists(watch.phantom_day_key(target(), day))


# --- through the pipeline ---


@pytest.mark.django_db
def test_pipeline_writes_meter_readings_and_runs_the_watch(
    isolated, settings, replay_server, caplog
):
    home_assistant_routes(replay_server)
    site = Site.objects.create(
        name="Home", latitude=52.52, longitude=13.40, timezone="Europe/Berlin"
    )
    config = ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider="home_assistant",
        interval_seconds=300,
        api_key="ha-long-lived-token-xyz",
        options={"base_url": replay_server.url, **HA_OPTIONS, "high_power_w": 1500},
    )
    outcome = pipeline.collect(config, now=HA_NOW)
    assert (outcome.status, outcome.points_written) == ("ok", 3)
    rows = list(
        isolated.query(settings.INFLUXDB_DATABASE, 'SELECT * FROM "smart_meter" GROUP BY *')
    )
    assert {(r.time, r.values["total_power_w"], r.values["daily_kwh"]) for r in rows} == {
        (datetime(2026, 5, 1, 14, 5, 3, 100002, tzinfo=UTC), 1843.6, None),
        (datetime(2026, 5, 1, 14, 5, tzinfo=UTC), None, 12.45),
    }
    assert (
        "WARNING",
        "High consumption on home (home_assistant, site Home) started at"
        " 2026-05-01T14:05:03.100002+00:00:"
        " 1.8 kW, above 1.5 kW",
    ) in logged(caplog)


# Vue 1234 "Main panel" of tests/fixtures/emporia draws 1026-1116 W from 13:56 to 14:05; the
# second Vue the owner also called "Main panel" (1235) 1800 W from 13:59 to 14:02, else 300 W.
SECOND_VUE_HIGH = [0.005] * 3 + [0.03] * 4 + [0.005] * 3
VUE = "High consumption on Main panel (emporia_vue, site Home, device_gid {})"


def emporia_config(site) -> ProviderConfig:
    return ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="emporia_vue", interval_seconds=300
    )


def old_high_state(device: str, since: datetime) -> str:
    """A high event as the watch kept it before it kept its state per device_gid: by name."""
    account = Target("smart_meter", "emporia_vue", "vue.owner@example.com", {})
    key = watch.high_power_key(account, device)
    stamp = repr(since.timestamp())
    get_redis().hset(
        key, mapping={"time": stamp, "state": "high", "since": stamp, "peak": "12000.0"}
    )
    return key


@pytest.mark.django_db
def test_two_vues_named_alike_in_one_account_each_have_their_own_high_consumption(isolated, caplog):
    """Before, both Vues shared one state (kept by name): at each minute the first Vue's
    reading was taken and the second's, of the same minute, was seen as already noted, so the
    second Vue's 1.8 kW event never started nor ended."""
    scenario = partial(scenarios.two_panels, second_chart=SECOND_VUE_HIGH)
    assert homes.collect(emporia_config(homes.home()), scenario, high_power_w=1500).status == "ok"
    assert logged(caplog) == [
        (
            "WARNING",
            f"{VUE.format(1235)} started at 2026-05-01T13:59:00+00:00: 1.8 kW, above 1.5 kW",
        ),
        (
            "INFO",
            f"{VUE.format(1235)} ended at 2026-05-01T14:03:00+00:00 (now 0.3 kW): it lasted"
            " 0:04:00, peak 1.8 kW",
        ),
    ]


@pytest.mark.django_db
def test_an_event_kept_by_name_before_the_upgrade_ends_on_its_vue(isolated, caplog):
    """A Vue whose name is its own takes over the state kept under its name (once)."""
    old = old_high_state("Main panel", datetime(2026, 5, 1, 13, 50, tzinfo=UTC))
    config = emporia_config(homes.home())
    assert homes.collect(config, scenarios.emporia, high_power_w=1500).status == "ok"
    assert logged(caplog) == [
        (
            "INFO",
            f"{VUE.format(1234)} ended at 2026-05-01T13:56:00+00:00 (now 1.0 kW): it lasted"
            " 0:06:00, peak 12.0 kW",
        )
    ]
    assert not get_redis().exists(old)


@pytest.mark.django_db
def test_an_event_kept_by_a_name_two_vues_share_is_taken_by_neither(isolated, caplog):
    """Two Vues called alike shared the old state: whose event it was is unknown, so neither
    ends it (the second Vue, at 300 W all along, must not say its 12 kW event ended)."""
    old_high_state("Main panel", datetime(2026, 5, 1, 13, 50, tzinfo=UTC))
    config = emporia_config(homes.home())
    assert homes.collect(config, scenarios.two_panels, high_power_w=1500).status == "ok"
    assert logged(caplog) == []


@pytest.mark.django_db
def test_two_sites_meters_both_named_home_have_their_own_events(isolated, replay_server, caplog):
    """The Home Assistant meter's target is its site (and HA, and device): each site's events
    are its own, and the message says which site."""
    north = homes.HaMeter(replay_server, homes.home("North"), {}, HA_NOW)
    south = homes.HaMeter(replay_server, homes.home("South"), {}, HA_NOW)
    for north_w, south_w in ((12000.0, 400.0), (11000.0, 12500.0), (400.0, 13000.0)):
        north.run({}, total=north_w)
        south.run({}, total=south_w)
    assert logged(caplog) == [
        (
            "WARNING",
            "High consumption on home (home_assistant, site North) started at"
            " 2026-05-01T14:05:00+00:00: 12.0 kW, above 10.0 kW",
        ),
        (
            "WARNING",
            "High consumption on home (home_assistant, site South) started at"
            " 2026-05-01T14:10:00+00:00: 12.5 kW, above 10.0 kW",
        ),
        (
            "INFO",
            "High consumption on home (home_assistant, site North) ended at"
            " 2026-05-01T14:15:00+00:00 (now 0.4 kW): it lasted 0:10:00, peak 12.0 kW",
        ),
    ]
