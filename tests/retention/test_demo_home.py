"""The synthetic demo home: the generator's physics, and what `manage.py demo_home` stores.

The command tests write into a fresh database of the InfluxDB the test command starts and
read it back through the gateway, so they check the official Home Assistant layout as stored.
"""

import io
import re
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from enrich.influx import get_timeseries, quote_ident
from retention.demo import DemoPlan, generate_demo_home, plan_entities
from retention.demo.home import DAY, Home

END = datetime(2024, 5, 8, tzinfo=UTC)


def series_of(readings) -> dict[tuple[str, str], list]:
    series = defaultdict(list)
    for reading in readings:
        series[(reading.measurement, reading.tags["entity_id"])].append(reading)
    return series


# --- the generator --------------------------------------------------------------------------


def test_plan_gives_each_kind_and_rejects_too_few_entities():
    assert plan_entities(4) == DemoPlan(power=1, energy=1, motion=1, temperature=0, weather=1)
    for entities in range(4, 40):
        plan = plan_entities(entities)
        assert plan.total == entities
        assert min(plan.power, plan.energy, plan.motion, plan.weather) >= 1
        assert plan.energy <= plan.power  # every meter meters a device with a power sensor
    assert plan_entities(12).temperature == 2
    with pytest.raises(ValueError, match="at least 4 entities"):
        plan_entities(3)


def test_same_seed_same_home_other_seed_other_home():
    first = list(generate_demo_home(3, 9, END, seed=7))
    assert first == list(generate_demo_home(3, 9, END, seed=7))
    other = list(generate_demo_home(3, 9, END, seed=8))
    assert [(r.measurement, r.time, dict(r.fields)) for r in other] != [
        (r.measurement, r.time, dict(r.fields)) for r in first
    ]


@pytest.mark.timeout(60)
def test_a_history_ending_while_the_oven_cooks_ends_there():
    """The oven's thermostat cycles until a drawn end; when the history ended before it, the
    generator waited forever (the status page test hung at 19:00 UTC)."""
    end = datetime(2024, 5, 8, 19, 0, tzinfo=UTC)
    readings = generate_demo_home(1, 9, end, seed=42)
    oven = [r for r in readings if r.measurement == "W" and r.tags["entity_id"] == "oven_power"]
    assert end - timedelta(minutes=5) < oven[-1].time <= end
    assert oven[-1].fields["value"] > 2000  # the element is on: cooking when the history ends


@pytest.mark.timeout(60)
def test_a_history_may_end_at_any_time_of_day():
    """Every device (24 entities: all six) ends its history wherever `end` falls, every 20
    minutes of a day, and no point lies after it."""
    assert plan_entities(24).power == 6
    for minutes in range(0, 24 * 60, 20):
        end = END + timedelta(minutes=minutes)
        readings = list(generate_demo_home(1, 24, end, seed=minutes))
        assert len(series_of(readings)) == 24
        assert max(r.time for r in readings) <= end


def test_every_point_is_inside_the_window_even_across_a_dst_change():
    end = datetime(2024, 4, 2, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # DST began 31 March
    readings = list(generate_demo_home(4, 30, end, seed=3))
    series = series_of(readings)
    assert len(series) == 30
    assert len({r.fields["friendly_name_str"] for r in readings}) == 30
    # 4 × 24 h back; `end - timedelta` would count wall-clock time and miss the lost hour.
    start = end.astimezone(UTC) - timedelta(days=4)
    for key, points in series.items():
        times = [r.time for r in points]
        assert all(start < t <= end for t in times), key
        assert times == sorted(set(times)), f"{key}: timestamps must strictly increase"


@pytest.mark.parametrize(
    ("name", "start", "days"),
    [
        # Havana goes back from 01:00 to 00:00 on 2 November 2025: midnight happens twice
        # (04:00 and 05:00 UTC) and the day starts at the first. A history starting in the
        # repeated hour (the second 00:30) had its first day start at the second midnight.
        ("America/Havana", datetime(2025, 11, 2, 5, 30, tzinfo=UTC), [(11, 2, 4), (11, 3, 5)]),
        # Santiago skips midnight on 7 September 2025: that day starts at 01:00 (04:00 UTC).
        ("America/Santiago", datetime(2025, 9, 6, 12, tzinfo=UTC), [(9, 6, 4), (9, 7, 4)]),
    ],
)
def test_the_homes_days_start_at_their_first_instant(name, start, days):
    home = Home(start, ZoneInfo(name), 2 * DAY, seed=1)
    starts = [start + timedelta(seconds=s) for s in home.day_starts()]
    assert starts[:2] == [datetime(2025, m, d, h, tzinfo=UTC) for m, d, h in days]


def test_energy_meters_integrate_their_power_sensor():
    series = series_of(generate_demo_home(7, 12, END, seed=42))
    meters = [entity for measurement, entity in series if measurement == "kWh"]
    assert len(meters) == 3
    for meter in meters:
        device = meter.removesuffix("_energy")
        power = series[("W", f"{device}_power")]
        # Energy shown by the power sensor: its value holds until the next state.
        shown = sum(
            a.fields["value"] * ((b.time if b else END) - a.time).total_seconds() / 3.6e6
            for a, b in zip(power, [*power[1:], None], strict=True)
        )
        values = [r.fields["value"] for r in series[("kWh", meter)]]
        # Growth as Home Assistant counts it: increases, and after a reset the new value.
        growth = sum(b - a if b >= a else b for a, b in zip(values, values[1:], strict=False))
        assert shown > 0.5
        assert growth == pytest.approx(shown, rel=0.03, abs=0.03), meter


def test_power_follows_the_devices_daily_rhythm():
    series = series_of(generate_demo_home(7, 12, END, seed=42))
    fridge = [r.fields["value"] for r in series[("W", "fridge_power")]]
    # The fridge cycles: its compressor runs at ~100 W and rests at a few watts, many times.
    starts = sum(1 for a, b in zip(fridge, fridge[1:], strict=False) if a < 10 <= b)
    assert 7 * 15 <= starts <= 7 * 45
    oven = series[("W", "oven_power")]
    peaks = [r for r in oven if r.fields["value"] > 2000]
    assert peaks and all(11 <= r.time.hour <= 22 for r in peaks)
    motion_on = [
        r
        for (m, _), rs in series.items()
        if m.startswith("binary_sensor.")
        for r in rs
        if r.fields["state"] == "on"
    ]
    awake = sum(1 for r in motion_on if 7 <= r.time.hour < 23)
    assert awake / len(motion_on) > 0.85
    weather = series[("weather.home", "home")]
    by_hour = defaultdict(list)
    for r in weather:
        by_hour[r.time.hour].append(r.fields["temperature"])
    mean = {h: sum(v) / len(v) for h, v in by_hour.items()}
    assert mean[15] > mean[4] + 3  # warmest in the afternoon, coldest before dawn


# --- the command, against InfluxDB ----------------------------------------------------------


@pytest.fixture
def demo_database():
    ts = get_timeseries()
    name = f"test_demo_{uuid.uuid4().hex[:12]}"
    yield name
    ts.drop_database(name)


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_home", *args, stdout=out)
    return out.getvalue()


def printed_counts(output: str) -> dict[str, tuple[int, int]]:
    """measurement -> (entities, points), from the summary table."""
    table = output.split("measurement", 1)[1].splitlines()[1:]
    rows = [re.match(r"^  (.+?)\s+(\d+)\s+(\d+)$", line) for line in table]
    return {m.group(1): (int(m.group(2)), int(m.group(3))) for m in rows if m}


@pytest.mark.influxdb
def test_command_writes_the_official_home_assistant_layout(demo_database):
    output = run_demo(
        "--days",
        "7",
        "--entities",
        "12",
        "--database",
        demo_database,
        "--seed",
        "42",
        "--end",
        END.isoformat(),
    )
    ts = get_timeseries()
    motion = {
        "binary_sensor.kitchen_motion",
        "binary_sensor.living_room_motion",
        "binary_sensor.office_motion",
    }
    assert set(ts.measurements(demo_database)) == {"W", "kWh", "°C", "weather.home"} | motion

    # Tags: the domain, and the object id without the domain.
    domains = {"W": "sensor", "kWh": "sensor", "°C": "sensor", "weather.home": "weather"}
    domains |= dict.fromkeys(motion, "binary_sensor")
    for measurement, domain in domains.items():
        assert ts.tag_keys(demo_database, measurement) == ["domain", "entity_id"]
        assert ts.tag_values(demo_database, measurement, "domain") == [domain]
        entity_ids = ts.tag_values(demo_database, measurement, "entity_id")
        assert all("." not in e for e in entity_ids), entity_ids
        if "." in measurement:  # unit-less: the measurement is the full entity id
            assert entity_ids == [measurement.split(".", 1)[1]]
    assert ts.tag_values(demo_database, "W", "entity_id") == [
        "fridge_power",
        "oven_power",
        "tv_power",
    ]
    assert ts.tag_values(demo_database, "kWh", "entity_id") == [
        "fridge_energy",
        "oven_energy",
        "tv_energy",
    ]

    # Field types: numeric `value`, `state` strings, attributes as `<name>_str`.
    for unit, device_class in (("W", "power"), ("kWh", "energy"), ("°C", "temperature")):
        assert ts.field_keys(demo_database, unit) == {
            "device_class_str": "string",
            "friendly_name_str": "string",
            "state_class_str": "string",
            "value": "float",
        }
        rows = ts.query(
            demo_database, f"SELECT DISTINCT(device_class_str) FROM {quote_ident(unit)}"
        )
        assert [r.values["distinct"] for r in rows] == [device_class]
    for measurement in motion:
        assert ts.field_keys(demo_database, measurement) == {
            "device_class_str": "string",
            "friendly_name_str": "string",
            "state": "string",
            "value": "float",
        }
        pairs = {
            (r.values["state"], r.values["value"])
            for r in ts.query(demo_database, f'SELECT state, value FROM "{measurement}"')
        }
        assert pairs == {("on", 1), ("off", 0)}
    weather_fields = ts.field_keys(demo_database, "weather.home")
    assert {
        k: weather_fields[k] for k in ("temperature", "humidity", "pressure", "wind_speed")
    } == dict.fromkeys(("temperature", "humidity", "pressure", "wind_speed"), "float")
    assert weather_fields["state"] == "string" and "value" not in weather_fields
    conditions = {
        r.values["distinct"]
        for r in ts.query(demo_database, 'SELECT DISTINCT(state) FROM "weather.home"')
    }
    assert conditions <= {"sunny", "clear-night", "partlycloudy", "cloudy", "rainy"}
    assert len(conditions) >= 2

    # Energy meters never decrease, except one reset to zero on one meter.
    drops = []
    rows = ts.query(demo_database, 'SELECT value FROM "kWh" GROUP BY entity_id')
    meters = defaultdict(list)
    for r in rows:
        meters[r.tags["entity_id"]].append(r.values["value"])
    for entity_id, values in meters.items():
        drops += [(entity_id, a, b) for a, b in zip(values, values[1:], strict=False) if b < a]
    assert len(drops) == 1
    entity_id, before, after = drops[0]
    assert before > 1 and after == 0

    # Irregular state-change timestamps, all inside the requested days.
    start = END - timedelta(days=7)
    for measurement in domains:
        times = defaultdict(list)
        for r in ts.query(demo_database, f"SELECT * FROM {quote_ident(measurement)} GROUP BY *"):
            times[r.tags["entity_id"]].append(r.time)
        for entity_id, moments in times.items():
            assert start < moments[0] and moments[-1] <= END, entity_id
            gaps = Counter(b - a for a, b in zip(moments, moments[1:], strict=False))
            assert len(gaps) > 0.8 * (len(moments) - 1), f"{entity_id}: regular sampling"

    # What the summary says is what is stored, and what the generator yields.
    printed = printed_counts(output)
    stored = {}
    for measurement in domains:
        field = "temperature" if measurement == "weather.home" else "value"
        q = f"SELECT COUNT({field}) FROM {quote_ident(measurement)}"
        stored[measurement] = next(iter(ts.query(demo_database, q))).values["count"]
    assert {m: points for m, (_, points) in printed.items() if m != "total"} == stored
    assert printed["W"][0] == printed["kWh"][0] == 3 and printed["°C"][0] == 2
    assert printed["total"] == (12, sum(stored.values()))
    expected = Counter(r.measurement for r in generate_demo_home(7, 12, END, seed=42))
    assert stored == dict(expected)
    assert f"Wrote {sum(stored.values()):,} points to InfluxDB database {demo_database!r}" in output
    assert f"requested: 7 days up to {END.isoformat()}" in output


@pytest.mark.influxdb
def test_rerun_overwrites_and_fresh_starts_over(demo_database):
    ts = get_timeseries()

    def total() -> int:
        q = 'SELECT COUNT(value) FROM "W", "kWh"'
        return sum(r.values["count"] for r in ts.query(demo_database, q))

    args = ("--days", "1", "--entities", "4", "--database", demo_database)
    run_demo(*args, "--end", END.isoformat())
    once = total()
    run_demo(*args, "--end", END.isoformat())  # same points, same timestamps: overwritten
    assert total() == once
    later = (END + timedelta(days=3)).isoformat()
    run_demo(*args, "--end", later)
    assert total() > once
    output = run_demo(*args, "--end", later, "--fresh")
    printed = printed_counts(output)
    assert total() == printed["W"][1] + printed["kWh"][1]


@pytest.mark.influxdb
def test_refuses_the_home_assistant_database_and_writes_nothing():
    ts = get_timeseries()
    name = f"test_demo_ha_{uuid.uuid4().hex[:12]}"  # named like a demo, but HA's per settings
    with override_settings(HA_INFLUXDB_DATABASE=name):
        with pytest.raises(CommandError, match="HA_INFLUXDB_DATABASE") as refused:
            run_demo("--days", "1", "--entities", "4", "--database", name)
    assert f"{name!r}" in str(refused.value) and "--database" in str(refused.value)
    assert name not in ts.databases()


@pytest.mark.influxdb
def test_refusing_the_demo_database_home_assistant_reads_says_how_to_write_there():
    """With the whole system kept on the demo (HA_INFLUXDB_DATABASE=enrich_demo, as
    docs/deployment.md says), the refusal told to pick "--database enrich_demo (the default)":
    the database it had just refused. It says how to write more demo data there on purpose."""
    ts = get_timeseries()
    name = f"test_demo_kept_{uuid.uuid4().hex[:12]}"
    with override_settings(HA_INFLUXDB_DATABASE=name, DEMO_INFLUXDB_DATABASE=name):
        with pytest.raises(CommandError) as refused:
            run_demo("--days", "1", "--entities", "4")
    message = str(refused.value)
    assert f"--database {name} (the default" not in message, message
    assert "HA_INFLUXDB_DATABASE=home_assistant .venv/bin/python manage.py demo_home" in message
    assert "another demo database, e.g. --database " in message, message
    assert name not in ts.databases()


@pytest.mark.influxdb
def test_refuses_a_database_not_named_as_a_demo_and_writes_nothing():
    ts = get_timeseries()
    name = f"test_home_{uuid.uuid4().hex[:12]}"
    with pytest.raises(CommandError, match="must contain 'demo'"):
        run_demo("--days", "1", "--entities", "4", "--database", name)
    assert name not in ts.databases()


@pytest.mark.influxdb
def test_a_demo_setting_not_named_as_a_demo_is_refused_without_offering_it_again():
    # The refusal offered "the default 'enrich_home'": the very name it refused, from
    # DEMO_INFLUXDB_DATABASE, which it did not name.
    ts = get_timeseries()
    name = f"test_home_{uuid.uuid4().hex[:12]}"
    said = []
    with override_settings(DEMO_INFLUXDB_DATABASE=name):
        for argv in [(), ("--database", f"{name}_2")]:
            with pytest.raises(CommandError, match="must contain 'demo'") as refused:
                run_demo("--days", "1", "--entities", "4", *argv)
            said.append(str(refused.value))
    assert not [message for message in said if f"the default {name!r}" in message], said
    assert f"set DEMO_INFLUXDB_DATABASE (which names it) to e.g. {name}_demo" in said[0]
    assert name not in ts.databases()


@pytest.mark.influxdb
def test_default_database_is_the_demo_setting_and_bad_arguments_are_explained():
    ts = get_timeseries()
    name = f"test_demo_default_{uuid.uuid4().hex[:12]}"
    with override_settings(DEMO_INFLUXDB_DATABASE=name):
        with pytest.raises(CommandError, match="at least 4 entities"):
            run_demo("--entities", "3")
        with pytest.raises(CommandError, match="not an ISO 8601"):
            run_demo("--end", "last tuesday")
        with pytest.raises(CommandError, match="--days 0: give from 1 to 3660 days"):
            run_demo("--days", "0")
        assert name not in ts.databases()
        try:
            output = run_demo("--days", "1", "--entities", "4", "--end", END.isoformat())
            assert f"database {name!r}" in output
            # One of a kind and one day, in the singular: it said "1 power sensors", "1 days".
            assert (
                "  4 entities: 1 power sensor, 1 energy meter, 1 motion sensor, 0 temperature "
                f"sensors, 1 weather entity\n  requested: 1 day up to {END.isoformat()}\n"
            ) in output
            assert set(ts.measurements(name)) == {
                "W",
                "kWh",
                "binary_sensor.kitchen_motion",
                "weather.home",
            }
        finally:
            ts.drop_database(name)


def test_the_deployment_page_gives_the_limits_the_command_checks():
    """docs/deployment.md gave `--entities` "up to 1000": fewer than one of each kind, 4, is
    refused as well."""
    from enrich.time_span import EARLIEST, LATEST
    from retention.demo import MIN_ENTITIES
    from retention.management.commands.demo_home import MAX_DAYS, MAX_ENTITIES
    from tests.support.doc_pages import ROOT

    text = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    said = re.search(r"`--days` (\d+) to (\d+), `--entities` (\d+) to (\d+), a history from "
                     r"(\d+) to (\d+)", text)  # fmt: skip
    assert said, "the limits of demo_home"
    days, entities = (1, MAX_DAYS), (MIN_ENTITIES, MAX_ENTITIES)
    assert tuple(map(int, said.groups())) == (*days, *entities, EARLIEST.year, LATEST.year - 1)
    with pytest.raises(CommandError, match=f"--entities {MIN_ENTITIES - 1}"):
        run_demo("--entities", str(MIN_ENTITIES - 1))
