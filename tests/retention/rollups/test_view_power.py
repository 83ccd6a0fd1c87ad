"""The fast path of the energy view (retention.rollups.power) gives what the general path gives.

The same Home Assistant points are read both ways from the real InfluxDB: `read_samples` +
`aggregate_windows` (the general path) and `read_power` + `power_windows` (CSV, integer
times). The windows must be equal field for field, float for float, and the view's rows too.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from enrich.influx import InfluxQueryError, get_timeseries
from enrich.readings import EPOCH
from retention.entities.discovery import discover
from retention.entities.ha_source import carried_in_sample, read_samples
from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.rollups.power import plain_power, power_windows, read_power
from retention.tiers.stepwise import aggregate_windows
from tests.retention.conftest import T0, HaDatabase, NanoReading, at

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)  # T0's day


@pytest.fixture
def utc(settings):
    settings.TIME_ZONE = "UTC"
    settings.ENERGY_FLAT_TARIFF = 0.3


def irregular_power(seed: int, hours: int = 30) -> list[tuple[float, float]]:
    """Points at irregular, sub-second times from 2 h before T0: bursts, pauses, zeros."""
    rng = random.Random(seed)
    points, moment = [], -7200.0
    while moment < hours * 3600:
        points.append((moment, round(rng.choice([0.0, rng.uniform(0, 3000)]), 3)))
        moment += rng.choice([0.000001, 0.25, 17.5, 60.0, 61.123456, 1800.0, 5400.0])
    return points


def windows_of(start, end, cuts: list[float]):
    edges = sorted({start, end, *(at(c) for c in cuts if start < at(c) < end)})
    return list(zip(edges, edges[1:], strict=False))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_power_windows_equal_aggregate_windows_float_for_float(ha_db: HaDatabase, utc, seed):
    points = irregular_power(seed)
    entity = ha_db.write_entity("official", "sensor.oven_power", points, unit="W", kind="power")
    entity.save()
    assert plain_power(entity)
    start, end = at(0), at(26 * 3600)
    rng = random.Random(seed)
    cuts = [h * 3600.0 for h in range(27)] + [rng.uniform(0, 26 * 3600) for _ in range(40)]
    windows = windows_of(start, end, cuts)

    general = aggregate_windows("power", read_samples(entity, start, end), windows)
    head = carried_in_sample(entity, start)
    fast = power_windows([head] if head else [], read_power(entity, start, end), windows)

    assert head is not None and head.time < start  # points before T0 carry in
    assert len(fast) == len(general) == len(windows)
    assert sum(1 for a in general if a is not None and a.total_energy) > 20
    for mine, theirs in zip(fast, general, strict=True):
        if theirs is None:
            assert mine is None
            continue
        assert mine is not None
        for name in ("window_start", "window_end", "coverage_seconds", "avg_value", "min_value",
                     "max_value", "last_value", "total_energy", "sample_count", "gap_count"):  # fmt: skip
            assert getattr(mine, name) == getattr(theirs, name), name


def test_points_of_one_time_in_two_series_keep_the_later(ha_db: HaDatabase, utc):
    # Two series of one entity (another tag) with points at the same times: one sample each.
    ha_db.write_entity("official", "sensor.kettle_power", [(0, 100.0), (600, 300.0)], unit="W")
    entity = ha_db.write_entity(
        "official", "sensor.kettle_power", [(600, 500.0), (1200, 0.0)], unit="W",
        kind="power", extra_tags={"source": "b"},
    )  # fmt: skip
    entity.save()
    start, end = at(0), at(3600)
    points = read_power(entity, start, end)
    samples = list(read_samples(entity, start, end))
    assert len(points.times) == len(samples) == 3
    assert points.values == [s.value for s in samples]
    windows = [(start, at(900)), (at(900), end)]
    assert power_windows([], points, windows) == aggregate_windows("power", samples, windows)


def test_points_within_one_microsecond_are_two_on_both_paths(ha_db: HaDatabase, utc):
    # InfluxDB keeps nanoseconds: 12:00:00.000000100 and .000000200 are two points (a writer
    # with nanosecond times), both counted by COUNT. The general path keeps both, the earlier
    # holding 0 s; the fast path kept only the later of points sharing a microsecond.
    entity = ha_db.write_entity(
        "official", "sensor.kettle_power", [(0, 100.0), (2700, 0.0)], unit="W", kind="power"
    )
    entity.save()
    tags = {"domain": "sensor", "entity_id": "kettle_power"}
    noon = at(12 * 3600)
    ha_db.write([NanoReading("W", {"value": 3000.0}, noon, tags, 100),
                 NanoReading("W", {"value": 500.0}, noon, tags, 200),
                 NanoReading("W", {"value": 800.0}, noon + timedelta(minutes=5), tags, 100),
                 NanoReading("W", {"value": 1e301}, noon + timedelta(minutes=5), tags, 200)])  # fmt: skip
    start, end = at(0), at(24 * 3600)
    windows = windows_of(start, end, [h * 3600.0 for h in range(25)])
    samples = list(read_samples(entity, start, end))
    points = read_power(entity, start, end)
    fast, general = power_windows([], points, windows), aggregate_windows("power", samples, windows)
    # Noon's hour: 4 points; 3000 W and 800 W hold 0 s (no peak), 1e301 is no reading (the
    # last reading is 800).
    noon_hour = (4, 500.0, 500.0, 800.0)
    assert [(a.sample_count, a.min_value, a.max_value, a.last_value) for a in general[12:13]] == [
        noon_hour
    ]
    assert [(a.sample_count, a.min_value, a.max_value, a.last_value) for a in fast[12:13]] == [
        noon_hour
    ]
    assert fast == general
    assert len(points.times) == len(samples) == 6
    assert points.values == [s.value for s in samples]


def test_points_within_one_microsecond_in_two_measurements_keep_their_order(ha_db, utc):
    # A unit switch (W -> kW) within one microsecond: 2 kW at .000000100 in `kW`, 300 W at
    # .000000200 in `W`. 300 W is the later and holds; the fast path ordered the two by
    # measurement (W first) and kept 2 kW: 2000 W for six hours instead of 300 W.
    tags = {"domain": "sensor", "entity_id": "heater_power"}
    noon = at(12 * 3600)
    ha_db.write([NanoReading("W", {"value": 100.0}, at(0), tags),
                 NanoReading("kW", {"value": 2.0}, noon, tags, 100),
                 NanoReading("W", {"value": 300.0}, noon, tags, 200),
                 NanoReading("kW", {"value": 0.0}, at(18 * 3600), tags)])  # fmt: skip
    discover(ha_db.name, "official")
    entity = Entity.objects.get(entity_id="sensor.heater_power")
    assert plain_power(entity) and entity.unit == "kW"
    start, end = at(0), at(24 * 3600)
    windows = windows_of(start, end, [h * 3600.0 for h in range(25)])
    samples = list(read_samples(entity, start, end))
    fast = power_windows([], read_power(entity, start, end), windows)
    general = aggregate_windows("power", samples, windows)
    assert [(a.avg_value, a.max_value) for a in general[12:18]] == [(300.0, 300.0)] * 6
    assert [(a.avg_value, a.max_value) for a in fast[12:18]] == [(300.0, 300.0)] * 6
    assert fast == general


def test_a_measurement_with_text_states_takes_the_general_path(ha_db: HaDatabase, utc):
    entity = ha_db.write_entity(
        "official", "sensor.heater_power", [(0, 1000.0), (1800, "standby"), (2700, 2000.0)],
        unit="W", kind="power",
    )  # fmt: skip
    entity.first_seen = at(0)
    entity.save()
    assert not plain_power(entity)  # a "state" field: null and "" would look alike in CSV
    meter = Entity(entity_id="sensor.heater_energy", kind="energy", layout="official",
                   measurement="W", unit="kWh")  # fmt: skip
    assert not plain_power(meter)
    run = rebuild_view(ENERGY, DAY1, DAY1, now=T0 + timedelta(days=2))
    row = DailyEnergyByDevice.objects.get(entity_id="sensor.heater_power", date=DAY1)
    # 1000 W for 30 min, "standby" holds nothing for 15 min, 2000 W for the rest of the day.
    assert row.total_kwh == pytest.approx(0.5 + 2.0 * (24 - 0.75))
    assert run.details["rows_written"] == 1


def test_view_rows_of_the_fast_path_equal_the_general_path(ha_db: HaDatabase, utc, monkeypatch):
    for n in range(3):
        entity = ha_db.write_entity(
            "official", f"sensor.plug_{n}_power", irregular_power(10 + n, hours=50), unit="W",
            kind="power",
        )  # fmt: skip
        entity.first_seen = at(-7200)
        entity.save()
    now = T0 + timedelta(days=5)
    rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=2), now=now)
    fast = list(DailyEnergyByDevice.objects.order_by("entity_id", "date").values())
    assert len(fast) == 9
    DailyEnergyByDevice.objects.all().delete()
    monkeypatch.setattr("retention.rollups.energy.plain_power", lambda entity: False)
    run = rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=2), now=now)
    general = list(DailyEnergyByDevice.objects.order_by("entity_id", "date").values())
    columns = ("entity_id", "date", "total_kwh", "avg_power", "peak_power", "cost",
               "cost_source", "partial")  # fmt: skip
    assert [[r[c] for c in columns] for r in fast] == [[r[c] for c in columns] for r in general]
    assert run.details["sources"] == {"raw": 3}
    assert get_timeseries().field_keys(ha_db.name, "W") == {"value": "float"}


def test_query_csv_streams_whole_lines_and_raises_for_a_bad_statement(ha_db: HaDatabase):
    ha_db.write_entity("official", "sensor.fan_power", [(0, 5.0), (60, 6.5)], unit="W")
    ts = get_timeseries()
    blocks = list(ts.query_csv(ha_db.name, 'SELECT "value" FROM "W"', chunk_size=1))
    assert all(block.endswith("\n") for block in blocks)
    header, *lines = "".join(blocks).splitlines()
    assert header == "name,tags,time,value"
    rows = [line.split(",") for line in lines]
    assert [(name, int(ns), float(value)) for name, _, ns, value in rows] == [
        ("W", (at(0) - EPOCH) // timedelta(microseconds=1) * 1000, 5.0),
        ("W", (at(60) - EPOCH) // timedelta(microseconds=1) * 1000, 6.5),
    ]
    with pytest.raises(InfluxQueryError, match="SELEC"):
        list(ts.query_csv(ha_db.name, 'SELEC "value" FROM "W"'))
