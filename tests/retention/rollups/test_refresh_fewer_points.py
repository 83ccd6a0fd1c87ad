"""The scheduled refresh keeps a row it would read from fewer source points than the row was
built from, as a rebuild does.

Home Assistant's InfluxDB restored from a backup older than enrich's database (or InfluxDB 1.6
hiding a series after a DELETE) returns fewer points of a recent day; here the points are
deleted with InfluxQL DELETE after the rows were built, which InfluxDB answers alike. Before,
the next refresh, whose late margin reaches back into that day, wrote the smaller row over the
good one (a heat pump's day of 12.0 kWh from 20 points became 4.8 kWh from 8) and named
nothing. The rows read from as many points or more (new points, late points) are written.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention import models
from retention.rollups.follow import note_edit
from retention.rollups.materialized import ACTIVITY, CARBON, ENERGY, rebuild_view, refresh_view
from tests.retention.conftest import T0, HaDatabase, at
from tests.support.fewer_points import HOUR, heat_pump_meter

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1, DAY2 = date(2024, 3, 4), date(2024, 3, 5)  # T0's day, the next
FIRST = T0 + timedelta(days=1, hours=2)  # DAY1 is closed: its rows are not partial
NEXT = FIRST + timedelta(hours=4)  # the next scheduled refresh: its 6 h margin reaches DAY1
KEPT = (
    "the row is kept (rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if the "
    "points were deleted on purpose)"
)


def energy(entity_id: str, day: date = DAY1) -> models.DailyEnergyByDevice:
    return models.DailyEnergyByDevice.objects.get(entity_id=entity_id, date=day)


def hall(hour: int) -> tuple[int, int]:
    """(motion_count, source_points) of the Hall's hour `hour` of DAY1."""
    row = models.HourlyRoomActivity.objects.get(area="Hall", hour=at(hour * HOUR))
    return row.motion_count, row.source_points


def known_long() -> None:
    """The entities registered long before the refreshes: each refresh reaches back its late
    margin only (an entity discovered since the previous refresh is read from its first_seen)."""
    models.Entity.objects.update(discovered=T0)


def motion_sensor(ha_db: HaDatabase, entity_id: str, start: int) -> models.Entity:
    """A Hall motion sensor on for 10 minutes at DAY1 21:`start` and 22:`start`."""
    points = [(-60, "off")] + [
        (hour * HOUR + start * 60 + offset, state)
        for hour in (21, 22)
        for offset, state in ((0, "on"), (600, "off"))
    ]
    sensor = ha_db.saved_entity("official", entity_id, points, kind="binary")
    sensor.area, sensor.device_class = "Hall", "motion"
    sensor.save()
    return sensor


def test_the_refresh_keeps_a_heat_pumps_day_influxdb_returns_fewer_points_for(
    ha_db: HaDatabase, enrich_db: str
):
    # A heat pump's meter: 20 readings on DAY1 (00:30 to 19:30), 0.6 kWh each: 12.0 kWh.
    pump = heat_pump_meter(ha_db, 20)
    fridge = ha_db.saved_entity(
        "official", "sensor.fridge_power", [(h * HOUR, 100) for h in range(26)], unit="W"
    )
    known_long()
    refresh_view(ENERGY, now=FIRST)
    row = energy(pump.entity_id)
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(12.0), 20, False)

    # InfluxDB returns only the first 8 readings of DAY1 (4.8 kWh); the fridge reports on,
    # with a late point of DAY2 inside the margin.
    get_timeseries().delete(ha_db.name, at(8 * HOUR), at(24 * HOUR), "kWh")
    ha_db.write_entity("official", "sensor.fridge_power",
                       [(h * HOUR, 100) for h in range(26, 30)] + [(25 * HOUR + 1800, 200)],
                       unit="W")  # fmt: skip
    run = refresh_view(ENERGY, now=NEXT)

    row = energy(pump.entity_id)
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(12.0), 20, False)
    assert run.status == "ok" and run.details["mode"] == "incremental"
    assert run.range_start == T0 + timedelta(hours=20)  # FIRST less the margin
    assert run.details["skipped"] == [
        "sensor.heat_pump_energy 2024-03-04: read from 8 source points, fewer than the 20 the "
        f"stored row was built from (InfluxDB did not return the others); {KEPT}",
        # The next day's first growth would be counted from 07:30 across the hidden readings.
        "sensor.heat_pump_energy 2024-03-05: read on from the point of 2024-03-04T07:30:00+00:00, "
        "the last before it InfluxDB returned, across 2024-03-04, whose stored row was built from "
        "12 source points InfluxDB did not return (a meter's growth over them would land in this "
        f"row); {KEPT}",
    ]
    assert run.errors.startswith("sensor.heat_pump_energy 2024-03-04: read from 8 source points")
    # The fridge's rows are written: its open day read from its new and late points.
    day2 = energy(fridge.entity_id, DAY2)
    assert (day2.source_points, day2.partial) == (7, True)
    assert energy(fridge.entity_id).source_points == 24

    # The points deleted on purpose: the rebuild asked to writes the row read from fewer.
    rebuild_view(ENERGY, DAY1, DAY1, now=NEXT, allow_fewer_points=True)
    row = energy(pump.entity_id)
    assert (row.total_kwh, row.source_points) == (pytest.approx(4.8), 8)


def test_the_next_day_is_kept_once_the_refresh_reads_from_it_on(ha_db: HaDatabase, enrich_db):
    """The heat pump reports on: the next day's first growth would be counted from the last
    reading InfluxDB returns before it. Once the refresh's range starts after the day InfluxDB
    returns fewer points of, it reads that day for its count alone, and the next day, read from
    more readings than its row was built from, is read from its own first reading on. Before,
    it wrote the next day with the hidden readings' growth in it (13.2 kWh for the 6.0 of its 10
    readings), naming nothing."""
    pump = heat_pump_meter(ha_db, 20)  # 22.0 at DAY1 19:30
    day2 = [(24 * HOUR + h * HOUR + 1800, round(22.0 + 0.6 * (h + 1), 1)) for h in range(10)]
    ha_db.write_entity("official", pump.entity_id, day2, unit="kWh", kind="energy")
    known_long()
    refresh_view(ENERGY, now=FIRST)
    row = energy(pump.entity_id, DAY2)
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(1.2), 2, True)

    get_timeseries().delete(ha_db.name, at(8 * HOUR), at(24 * HOUR), "kWh")
    assert len(refresh_view(ENERGY, now=NEXT).details["skipped"]) == 2  # DAY1 kept, DAY2 named
    run = refresh_view(ENERGY, now=NEXT + timedelta(hours=4))

    assert run.range_start == T0 + timedelta(days=1)  # DAY2's start: DAY1 is not computed
    row = energy(pump.entity_id, DAY2)
    # 22.6 at 00:30 -> 28.0 at 09:30: the growth from 22.0 (DAY1 19:30, not returned) left out.
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(5.4), 10, True)
    assert run.details["skipped"] == [
        "sensor.heat_pump_energy 2024-03-05: read on from the point of 2024-03-04T07:30:00+00:00, "
        "the last before it InfluxDB returned, across 2024-03-04, whose stored row was built from "
        "12 source points InfluxDB did not return (a meter's growth over them would land in this "
        "row); the row is written from its own 10 source points, without the growth before the "
        "first of them (partial; rebuild with --allow-fewer-points (POST: allow_fewer_points=true) "
        "if the points were deleted on purpose)"
    ]
    assert energy(pump.entity_id).total_kwh == pytest.approx(12.0)

    # Deleted on purpose: the rebuild asked to counts their growth at the reading after them.
    rebuild_view(ENERGY, DAY1, DAY2, now=NEXT + timedelta(hours=4), allow_fewer_points=True)
    assert energy(pump.entity_id).total_kwh == pytest.approx(4.8)
    assert energy(pump.entity_id, DAY2).total_kwh == pytest.approx(13.2)


def test_the_refresh_keeps_room_activity_and_carbon_rows_read_from_fewer_points(
    ha_db: HaDatabase, enrich_db: str
):
    motion = motion_sensor(ha_db, "binary_sensor.hall_motion", 0)
    get_timeseries().write(
        enrich_db,
        [Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": 200.0 + h}, at(h * HOUR),
                 {"region": "DE", "provider": "electricity_maps"}) for h in range(24)],
    )  # fmt: skip
    known_long()
    refresh_view(ACTIVITY, now=FIRST)
    refresh_view(CARBON, now=FIRST)
    assert hall(21) == (1, 2)
    assert models.DailyCarbonSummary.objects.get(region="DE", date=DAY1).source_points == 24

    get_timeseries().delete(ha_db.name, at(20 * HOUR), at(24 * HOUR), motion.measurement)
    get_timeseries().delete(enrich_db, at(12 * HOUR), at(24 * HOUR), "carbon_intensity")
    rooms = refresh_view(ACTIVITY, now=NEXT)
    carbon = refresh_view(CARBON, now=NEXT)

    assert rooms.details["skipped"] == [
        f"Hall 2024-03-04T{h}:00:00+00:00: read from 0 source points, fewer than the 2 the "
        f"stored row was built from (InfluxDB did not return the others); {KEPT}"
        for h in (21, 22)
    ]
    assert hall(21) == (1, 2) and hall(22) == (1, 2)
    assert rooms.records_processed > 0  # the other hours of the margin, as before
    assert carbon.details["skipped"] == [
        "DE 2024-03-04: read from 12 source points, fewer than the 24 the stored row was built "
        f"from (InfluxDB did not return the others); {KEPT}"
    ]
    kept = models.DailyCarbonSummary.objects.get(region="DE", date=DAY1)
    assert (kept.max_carbon, kept.source_points) == (223.0, 24)


def test_the_refresh_writes_the_rows_a_noted_registry_edit_changes(
    ha_db: HaDatabase, enrich_db: str
):
    """A sensor moved to another room lowers its old room's points on purpose: the refresh,
    which follows the edit noted while the broker was out of reach, keeps no row of it."""
    motion_sensor(ha_db, "binary_sensor.hall_motion", 0)
    pir = motion_sensor(ha_db, "binary_sensor.hall_pir", 30)
    known_long()
    refresh_view(ACTIVITY, now=FIRST)
    assert hall(21) == (2, 4)

    before = models.Entity.objects.get(pk=pir.pk)
    pir.area = "Kitchen"
    pir.save()
    note_edit(before, pir)  # as the admin's save does; no worker follows it here
    run = refresh_view(ACTIVITY, now=NEXT)

    assert run.details["skipped"] == [] and not run.errors
    followed = models.RetentionRun.objects.get(pk=run.details["edits_run"])
    assert followed.status == "ok" and followed.details["mode"] == "edits"
    assert hall(21) == (1, 2) and hall(22) == (1, 2)
    kitchen = models.HourlyRoomActivity.objects.get(area="Kitchen", hour=at(21 * HOUR))
    assert (kitchen.motion_count, kitchen.source_points) == (1, 2)


def test_todays_row_follows_its_points_after_a_day_influxdb_returns_fewer_of(
    ha_db: HaDatabase, enrich_db
):
    """The day InfluxDB returns fewer points of is yesterday: today's row is read on from
    today's first reading, without the hidden day's growth and without the growth before that
    reading, each time its points grew since the row was written. Before, today's row was kept
    as the refresh before the hidden day left it (1.2 kWh from 2 readings) at every refresh,
    the heat pump's readings of the day counted nowhere."""
    pump = heat_pump_meter(ha_db, 20)  # 22.0 at DAY1 19:30

    def report(first: int, last: int) -> None:  # DAY2's readings at half past these hours
        readings = [(24 * HOUR + h * HOUR + 1800, round(22.0 + 0.6 * (h + 1), 1))
                    for h in range(first, last)]  # fmt: skip
        ha_db.write_entity("official", pump.entity_id, readings, unit="kWh", kind="energy")

    report(0, 2)
    known_long()
    refresh_view(ENERGY, now=FIRST)
    assert energy(pump.entity_id, DAY2).total_kwh == pytest.approx(1.2)  # 22.0 -> 23.2

    get_timeseries().delete(ha_db.name, at(8 * HOUR), at(24 * HOUR), "kWh")  # 14.8 at 07:30 left
    for refresh, (last, kwh) in enumerate([(6, 3.0), (10, 5.4)], start=1):
        report(0, last)
        run = refresh_view(ENERGY, now=FIRST + timedelta(hours=4 * refresh))
        row = energy(pump.entity_id, DAY2)
        # 22.6 (00:30) -> 25.6 (05:30), then -> 28.0 (09:30); from 14.8 it would be 13.2.
        assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(kwh), last, True)
        assert run.details["skipped"][-1] == (
            "sensor.heat_pump_energy 2024-03-05: read on from the point of "
            "2024-03-04T07:30:00+00:00, the last before it InfluxDB returned, across "
            "2024-03-04, whose stored row was built from 12 source points InfluxDB did not "
            "return (a meter's growth over them would land in this row); the row is written "
            f"from its own {last} source points, without the growth before the first of them "
            "(partial; rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if the "
            "points were deleted on purpose)"
        )
    assert energy(pump.entity_id).total_kwh == pytest.approx(12.0)  # the hidden day: kept

    # A rebuild of the open day writes it alike once its points grew.
    report(0, 12)
    run = rebuild_view(ENERGY, DAY2, DAY2, now=FIRST + timedelta(hours=12))
    row = energy(pump.entity_id, DAY2)
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(6.6), 12, True)
    assert "from its own 12 source points" in run.details["skipped"][-1]

    # Past midnight the closed day takes its readings up to 19:30 in (22.6 -> 34.0), and the
    # next day is read on from its last, InfluxDB returning all of them.
    report(0, 20)
    ha_db.write_entity("official", pump.entity_id, [(48 * HOUR + 1800, 34.8)], unit="kWh",
                       kind="energy")  # fmt: skip
    run = refresh_view(ENERGY, now=T0 + timedelta(days=2, hours=2))
    row = energy(pump.entity_id, DAY2)
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(11.4), 20, True)
    day3 = energy(pump.entity_id, DAY2 + timedelta(days=1))
    assert (day3.total_kwh, day3.source_points) == (pytest.approx(0.8), 1)  # 34.0 -> 34.8
    assert not any("2024-03-06" in line for line in run.details["skipped"])


def test_a_power_sensors_today_is_read_from_its_first_point_after_a_hidden_day(
    ha_db: HaDatabase, enrich_db
):
    """A 100 W sensor reporting at a quarter past each hour (read as plain points): with
    yesterday's points from 08:00 not returned, today's row holds 100 W from today's first
    point on, not held from yesterday's 07:15. Before, it stayed 0.2 kWh from 2 points."""
    fridge = ha_db.saved_entity(
        "official", "sensor.fridge_power", [(h * HOUR + 900, 100) for h in range(30)], unit="W"
    )  # DAY1 00:15 to DAY2 05:15
    known_long()
    refresh_view(ENERGY, now=FIRST)
    assert energy(fridge.entity_id, DAY2).total_kwh == pytest.approx(0.2)

    get_timeseries().delete(ha_db.name, at(8 * HOUR), at(24 * HOUR), fridge.measurement)
    run = refresh_view(ENERGY, now=NEXT)

    row = energy(fridge.entity_id, DAY2)
    assert (row.total_kwh, row.source_points, row.partial) == (pytest.approx(0.575), 6, True)
    assert run.details["skipped"][-1].endswith(
        "the row is written from its own 6 source points, without the growth before the first "
        "of them (partial; rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if "
        "the points were deleted on purpose)"
    )
    assert energy(fridge.entity_id).source_points == 24  # DAY1: kept
