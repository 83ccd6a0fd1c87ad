"""Materialized views against the real InfluxDB, with answers computed by hand.

Every scenario writes Home Assistant data (both layouts where the view reads HA data), price
slots and carbon points, refreshes or rebuilds a view and compares the rows to the numbers
worked out in the comments.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from enrich.redis.client import get_redis
from retention import models
from retention.entities.discovery import discover
from retention.entities.ha_source import read_samples
from retention.rollups.materialized import (
    ACTIVITY,
    CARBON,
    ENERGY,
    MaterializedViewManager,
    rebuild_view,
    refresh_view,
    view_lock_key,
)
from retention.rollups.rows import activity_sensors
from retention.tiers import runner as tiers
from tests.retention.conftest import T0, HaDatabase, at
from tests.retention.rollups.conftest import write_prices
from tests.support.entities import save
from tests.support.view_tiers import write_daily_tier, write_hourly_tier

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)  # T0's day, a Monday
AFTER = T0 + timedelta(days=3)  # "now" when every test day is closed
MIN = 60


# 15-minute slots for 00:00-01:00, one 60-minute slot 01:00-02:00, nothing after.
MIXED_SLOTS = [(0, 15, 0.10), (15 * MIN, 15, 0.20), (30 * MIN, 15, 0.30), (45 * MIN, 15, 0.40),
               (60 * MIN, 60, 0.25)]  # fmt: skip


def energy_row(entity_id: str, day: date = DAY1) -> models.DailyEnergyByDevice:
    return models.DailyEnergyByDevice.objects.get(entity_id=entity_id, date=day)


# --- daily_energy_by_device ----------------------------------------------------------------
def test_energy_meter_with_reset_priced_by_15_and_60_minute_slots(
    ha_db: HaDatabase, enrich_db: str, layout: str, caplog
):
    write_prices(enrich_db, [*MIXED_SLOTS, (-3600, 60, 0.10)])  # and 23:00 the day before
    # A step's growth was used between the reading before and the one that counts it: it
    # is priced spread evenly over that time.
    ha_db.saved_entity(
        layout,
        "sensor.plug_energy",
        [
            (-3600, 10.0),  # carried in: the meter stands at 10.0 when the day starts
            (5 * MIN, 10.4),  # +0.4 over 23:00-00:05, all at 0.10 -> 0.04
            (20 * MIN, 11.0),  # +0.6 over 00:05-00:20: 10 min at 0.10, 5 at 0.20 -> 0.08
            (40 * MIN, 0.3),  # reset (0.3 < 0.9 x 11): +0.3, half at 0.20, half 0.30 -> 0.075
            (50 * MIN, 0.5),  # +0.2 over 00:40-00:50, half at 0.30, half 0.40 -> 0.07
            (90 * MIN, 1.5),  # +1.0 over 00:50-01:30: 10 min at 0.40, 30 at 0.25 -> 0.2875
            (3 * 3600, 1.5),  # no growth, no price: costs nothing
        ],
        unit="kWh",
        kind="energy",
    )

    with caplog.at_level(logging.INFO, logger="retention.tiers.stepwise"):
        run = rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    # Said once (the cost's walk over the same readings logged it again).
    assert [r.getMessage() for r in caplog.records if "reset" in r.getMessage()] == [
        "sensor.plug_energy: energy meter reset from 11.0 to 0.3 at 2024-03-04T00:40:00+00:00: "
        "new cycle counted from 0"
    ]
    row = energy_row("sensor.plug_energy")
    assert row.total_kwh == pytest.approx(2.5)
    # Before: each step at the slot of its reading, 0.58.
    assert row.cost == pytest.approx(0.5525, abs=1e-9)
    assert (row.currency, row.cost_source, row.partial) == ("EUR", "price_slots", False)
    assert row.avg_power == pytest.approx(2.5 / 24 * 1000)  # known all day
    assert row.peak_power == pytest.approx(1500)  # hour 00: 1.5 kWh in one hour
    assert run.status == "ok" and run.operation == models.RetentionRun.Operation.VIEW_REFRESH
    assert run.details["mode"] == "rebuild" and run.details["sources"] == {"raw": 1}
    assert run.records_processed == 1


def test_power_sensor_mixed_prices_flat_tariff_and_unknown(
    ha_db: HaDatabase, enrich_db: str, layout: str, settings
):
    write_prices(enrich_db, MIXED_SLOTS)
    settings.ENERGY_FLAT_TARIFF = 0.50
    ha_db.saved_entity(
        layout,
        "sensor.heater_power",
        [
            (-60, 0),
            (30 * MIN, 1000),  # 00:30-02:30 at 1 kW
            (150 * MIN, 0),
            (86400 + 10 * 3600, 500),  # day 2: 10:00-12:00 at 500 W, no prices that day
            (86400 + 12 * 3600, 0),
        ],
        unit="W",
        kind="power",
    )

    rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=1), now=AFTER)

    day1 = energy_row("sensor.heater_power")
    # 0.25 kWh x 0.30 + 0.25 kWh x 0.40 + 1 kWh x 0.25 + 0.5 kWh x 0.50 (flat) = 0.675
    assert day1.total_kwh == pytest.approx(2.0)
    assert day1.cost == pytest.approx(0.675, abs=1e-9)
    assert (day1.cost_source, day1.currency) == ("mixed", "EUR")
    assert day1.avg_power == pytest.approx(2000 / 24)
    assert day1.peak_power == 1000
    day2 = energy_row("sensor.heater_power", DAY1 + timedelta(days=1))
    assert day2.total_kwh == pytest.approx(1.0)
    assert (day2.cost, day2.cost_source) == (pytest.approx(0.5), "flat_tariff")

    settings.ENERGY_FLAT_TARIFF = None  # nothing known for day 2's energy: no cost at all
    rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=1), now=AFTER)
    day2 = energy_row("sensor.heater_power", DAY1 + timedelta(days=1))
    assert (day2.cost, day2.cost_source, day2.currency) == (None, "none", "")
    day1 = energy_row("sensor.heater_power")  # 02:00-02:30 is unpriced now: cost unknown
    assert (day1.cost, day1.cost_source) == (None, "none")


def test_days_are_local_days_of_time_zone(ha_db: HaDatabase, enrich_db: str, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+1 in March 2024 (DST starts on the 31st)
    settings.ENERGY_FLAT_TARIFF = 0.30
    ha_db.saved_entity(
        "official",
        "sensor.lamp_power",
        [(-2 * 3600, 100), (-30 * MIN, 0)],  # 22:00-23:30 UTC = 23:00-00:30 Berlin
        unit="W",
        kind="power",
    )

    rebuild_view(ENERGY, DAY1 - timedelta(days=1), DAY1, now=AFTER)

    # Berlin's March 4th starts at 23:00 UTC on the 3rd: 0.5 h at 100 W = 0.05 kWh.
    assert energy_row("sensor.lamp_power").total_kwh == pytest.approx(0.05)
    assert energy_row("sensor.lamp_power", DAY1 - timedelta(days=1)).total_kwh == pytest.approx(0.1)


def test_dst_day_lasts_23_hours(ha_db: HaDatabase, enrich_db: str, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    dst = date(2024, 3, 31)  # clocks go from 02:00 to 03:00
    start = datetime(2024, 3, 30, 23, tzinfo=UTC)  # Berlin midnight of the 31st
    ha_db.saved_entity(
        "official", "sensor.fan_power", [(start - timedelta(hours=1), 100)], unit="W", kind="power"
    )

    rebuild_view(ENERGY, dst, dst, now=datetime(2024, 4, 2, tzinfo=UTC))

    row = energy_row("sensor.fan_power", dst)
    assert row.total_kwh == pytest.approx(2.3)  # 100 W for 23 hours
    assert row.avg_power == pytest.approx(100)


def test_readings_in_wh_and_kw_are_counted_in_kwh_and_w_as_the_tiers_store_them(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    # A plug's meter in Wh grows 2000 Wh (2 kWh) in the first hour; a heater reads 2 kW.
    ha_db.saved_entity(
        layout, "sensor.plug_energy", [(-60, 1000.0), (3600, 3000.0)], unit="Wh", kind="energy"
    )
    ha_db.saved_entity(layout, "sensor.heat_power", [(-60, 2.0)], unit="kW", kind="power")

    def rows():
        rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
        plug, heat = energy_row("sensor.plug_energy"), energy_row("sensor.heat_power")
        return plug.total_kwh, plug.peak_power, heat.total_kwh, heat.avg_power, heat.peak_power

    # Before: 2000 "kWh" with a 2 MW peak, and 0.048 kWh at 2 "W".
    assert rows() == pytest.approx((2.0, 2000.0, 48.0, 2000.0, 2000.0))
    run = tiers.downsample_hourly(DAY1, DAY1 + timedelta(days=1))  # it converts the units
    assert run.status == "ok", run.errors
    assert rows() == pytest.approx((2.0, 2000.0, 48.0, 2000.0, 2000.0))


# --- incremental refresh -------------------------------------------------------------------
def test_incremental_refresh_touches_only_recent_buckets_and_marks_the_open_one(
    ha_db: HaDatabase, enrich_db: str, settings
):
    settings.VIEW_LATE_MARGIN_HOURS = 6
    settings.ENERGY_FLAT_TARIFF = 0.20
    oven = ha_db.saved_entity(
        "official", "sensor.oven_power", [(-60, 2000)], unit="W", kind="power"
    )
    # Discovered long before (one discovered since the previous refresh gets its history).
    models.Entity.objects.filter(pk=oven.pk).update(discovered=T0)
    views = MaterializedViewManager()

    first_now = T0 + timedelta(days=2, hours=10)
    run = refresh_view(ENERGY, now=first_now)
    rows = {r["date"]: r for r in views.daily_energy("sensor.oven_power")}
    # Days 3 to 5 March (the 3rd from first_seen 23:59); the 6th is open: 10 h so far, not 24.
    assert sorted(rows) == [date(2024, 3, 3), DAY1, date(2024, 3, 5), date(2024, 3, 6)]
    open_day = rows[date(2024, 3, 6)]
    assert open_day["partial"] is True and open_day["total_kwh"] == pytest.approx(20.0)
    assert rows[DAY1]["partial"] is False and rows[DAY1]["total_kwh"] == pytest.approx(48.0)
    assert run.details["partial_rows"] == 1
    assert models.ViewState.objects.get(view=ENERGY).watermark == first_now
    before = {r["date"]: r["refreshed"] for r in views.daily_energy("sensor.oven_power")}

    # Late data inside the margin (the oven was off 08:00-09:00) and a second refresh 4 h on:
    ha_db.write(
        [
            Reading("W", {"value": 0.0}, first_now - timedelta(hours=2), {"domain": "sensor",
                    "entity_id": "oven_power"}),
            Reading("W", {"value": 2000.0}, first_now - timedelta(hours=1), {"domain": "sensor",
                    "entity_id": "oven_power"}),
        ]
    )  # fmt: skip
    second = refresh_view(ENERGY, now=first_now + timedelta(hours=4))
    after = {r["date"]: r for r in views.daily_energy("sensor.oven_power")}
    assert second.range_start == first_now - timedelta(hours=6)
    for untouched in (date(2024, 3, 3), DAY1, date(2024, 3, 5)):
        assert after[untouched]["refreshed"] == before[untouched]
    assert after[date(2024, 3, 6)]["refreshed"] > before[date(2024, 3, 6)]
    assert after[date(2024, 3, 6)]["total_kwh"] == pytest.approx(26.0)  # 13 h on of 14
    assert second.records_processed == 1

    # The day closes: the next refresh writes it whole, no longer partial, and opens the 7th.
    refresh_view(ENERGY, now=T0 + timedelta(days=3, hours=1))
    closed = energy_row("sensor.oven_power", date(2024, 3, 6))
    assert closed.partial is False and closed.total_kwh == pytest.approx(46.0)
    assert energy_row("sensor.oven_power", date(2024, 3, 7)).partial is True


def test_reruns_are_idempotent(ha_db: HaDatabase, enrich_db: str):
    write_prices(enrich_db, MIXED_SLOTS)
    ha_db.saved_entity(
        "ingestor", "sensor.tv_power", [(-60, 80), (3600, 0)], unit="W", kind="power"
    )
    rows = models.DailyEnergyByDevice.objects
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    first = list(rows.values("entity_id", "date", "total_kwh", "cost"))
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    refresh_view(ENERGY, now=AFTER)
    refresh_view(ENERGY, now=AFTER)
    again = list(rows.filter(date=DAY1).values("entity_id", "date", "total_kwh", "cost"))
    assert again == first
    assert first[0]["cost"] == pytest.approx(0.08 * (0.10 + 0.20 + 0.30 + 0.40) / 4)
    assert rows.filter(entity_id="sensor.tv_power", date=DAY1).count() == 1


def test_the_log_line_of_a_run_of_one_row_says_one_row(ha_db: HaDatabase, enrich_db: str, caplog):
    ha_db.saved_entity("ingestor", "sensor.tv_power", [(-60, 80)], unit="W", kind="power")
    caplog.set_level("INFO", logger="retention.rollups.materialized")
    run = rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    assert run.records_processed == 1
    # It said "1 rows written".
    assert f"view {ENERGY} rebuild: 1 row written" in caplog.messages


def test_a_view_busy_with_another_run_is_skipped_and_recorded(ha_db: HaDatabase, enrich_db: str):
    ha_db.saved_entity("official", "sensor.tv_power", [(-60, 80)], unit="W", kind="power")
    other = get_redis().lock(view_lock_key(ENERGY), timeout=60)
    assert other.acquire(blocking=False)  # as a refresh in another worker would
    try:
        refreshed = refresh_view(ENERGY, now=AFTER)
        rebuilt = rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
        carbon = refresh_view(CARBON, now=AFTER)  # another view is not held up
    finally:
        other.release()
    for run in (refreshed, rebuilt):
        assert run.status == "skipped" and run.records_processed == 0
        assert f"another refresh or rebuild of {ENERGY} is running" in run.errors
    assert (refreshed.details["mode"], rebuilt.details["mode"]) == ("incremental", "rebuild")
    assert rebuilt.range_start == datetime(2024, 3, 4, tzinfo=UTC)
    assert not models.DailyEnergyByDevice.objects.exists()
    assert models.ViewState.objects.get(view=ENERGY).watermark is None  # the watermark did not move
    assert carbon.status == "ok"

    run = refresh_view(ENERGY, now=AFTER)  # free again: the refresh runs and releases it
    assert run.status == "ok" and energy_row("sensor.tv_power").total_kwh > 0
    assert get_redis().get(view_lock_key(ENERGY)) is None


def test_a_rebuild_holds_the_views_lock_past_its_expiry(
    ha_db: HaDatabase, enrich_db: str, monkeypatch
):
    """`manage.py rebuild_view` and `refresh_views` run in the command's own process, with no
    time limit: a rebuild of years of a big home could outlast the lock's expiry, which was
    never renewed, and a scheduled refresh then ran beside it (the older rows of the one
    finishing last overwrite the newer). The lock is renewed while the run lives."""
    import time

    from retention.rollups import lock as view_locks
    from retention.rollups import materialized

    ha_db.saved_entity("official", "sensor.tv_power", [(-60, 80)], unit="W", kind="power")
    monkeypatch.setattr(view_locks, "LOCK_SECONDS", 1.5)
    compute, won = materialized._compute, []

    def slow_compute(*args, **kwargs):
        time.sleep(4)  # more than twice the lock's expiry
        other = get_redis().lock(view_lock_key(ENERGY), timeout=30)
        won.append(other.acquire(blocking=False))  # as a scheduled refresh would try
        if won[-1]:
            other.release()
        return compute(*args, **kwargs)

    monkeypatch.setattr(materialized, "_compute", slow_compute)
    run = rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    assert run.status == "ok" and won == [False]
    assert get_redis().get(view_lock_key(ENERGY)) is None  # released at the end


# --- rebuild from the hourly tier ------------------------------------------------------------
def test_rebuild_of_an_old_range_reads_the_hourly_tier_after_raw_is_gone(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    write_prices(enrich_db, MIXED_SLOTS)
    kettle = ha_db.saved_entity(
        layout,
        "sensor.kettle_power",
        [
            (-60, 0),
            (30 * MIN, 1000),  # hour 00: on 00:30-01:00 only (not constant within the hour)
            (90 * MIN, 2000),  # hour 01: 01:00-01:30 at 1 kW, then 2 kW until 02:00
            (120 * MIN, 0),
            (86400 + 3600, 0),  # day 2 still has raw points
        ],
        unit="W",
        kind="power",
    )
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    from_raw = energy_row("sensor.kettle_power")
    # raw: 0.25 x 0.30 + 0.25 x 0.40 + (0.5 + 1.0) x 0.25 = 0.55
    assert from_raw.cost == pytest.approx(0.55, abs=1e-9)

    write_hourly_tier(ha_db, kettle, T0)
    assert list(read_samples(kettle, T0, T0 + timedelta(days=1), carry_in=False)) == []
    run = rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=1), now=AFTER)

    row = energy_row("sensor.kettle_power")
    assert run.details["sources"] == {"hourly": 1, "raw": 1}
    assert row.total_kwh == pytest.approx(2.0)  # energy is exact from the tier
    assert row.avg_power == pytest.approx(from_raw.avg_power)
    assert row.peak_power == 2000
    # The tier spreads hour 00's 0.5 kWh evenly over its four 15-minute slots (mean price
    # 0.25): 0.125 instead of 0.175; hour 01 has one 60-minute slot: exact (1.5 x 0.25).
    assert row.cost == pytest.approx(0.125 + 0.375, abs=1e-9)
    assert row.cost_source == "price_slots"
    # Day 2 reads raw again; the value in force at its start comes from the tier's last row.
    assert energy_row("sensor.kettle_power", DAY1 + timedelta(days=1)).total_kwh == 0


def test_refresh_after_the_day_before_was_tiered_reads_the_value_in_force_from_the_tier(
    ha_db: HaDatabase, enrich_db: str, layout: str, settings
):
    settings.VIEW_LATE_MARGIN_HOURS = 6
    day2 = DAY1 + timedelta(days=1)
    # 100 W from 3 March 23:59, 200 W from 12:00 on the 4th; nothing is written on the 5th.
    fridge = ha_db.saved_entity(
        layout, "sensor.fridge_power", [(-60, 100), (12 * 3600, 200)], unit="W", kind="power"
    )
    # Official layout (a tier's raw delete is per measurement: not the fridge's in the other).
    motion = ha_db.saved_entity(
        "official", "binary_sensor.hall_motion", [(-60, "off"), (23 * 3600, "on")], kind="binary"
    )
    motion.area, motion.device_class = "hall", "motion"
    motion.save()
    first = T0 + timedelta(days=1, hours=10)
    refresh_view(ENERGY, now=first)
    refresh_view(ACTIVITY, now=first)
    assert energy_row("sensor.fridge_power", day2).total_kwh == pytest.approx(2.0)

    # Retention replaces the 4th by hourly rows; the next refreshes start on the 5th.
    write_hourly_tier(ha_db, fridge, T0)
    write_hourly_tier(ha_db, motion, T0)
    later = first + timedelta(hours=4)
    refresh_view(ENERGY, now=later)
    refresh_view(ACTIVITY, now=later)

    # The 200 W (and the motion "on") in force since the 4th hold all of the 5th so far; the
    # raw carry-in is the 100 W (the "off") of the 3rd, the 4th's raw points being gone.
    incremental = energy_row("sensor.fridge_power", day2)
    assert incremental.total_kwh == pytest.approx(2.8)  # 200 W for 14 h; was 1.4
    assert incremental.avg_power == pytest.approx(200)
    rates = models.HourlyRoomActivity.objects.filter(area="hall", hour__gte=T0 + timedelta(days=1))
    assert {r.occupancy_rate for r in rates} == {1.0}  # was 0.0 for the refreshed hours
    # ... which is what a rebuild of the whole range gives.
    rebuild_view(ENERGY, DAY1 - timedelta(days=1), day2, now=later)
    assert energy_row("sensor.fridge_power", day2).total_kwh == pytest.approx(2.8)


# --- rebuild from the daily tier --------------------------------------------------------------
@pytest.mark.parametrize(
    "zone, rows",
    [
        # Berlin's 28 March runs 23:00 UTC (27th) to 23:00 UTC (28th), its 29th (DST, 23 h)
        # to 22:00 UTC: no UTC day's row is one of its days. Before, the 28th got 1 h of raw
        # plus the whole UTC 28th (2.5 kWh in a 24-h day), the 29th the UTC 29th (24 h).
        ("Europe/Berlin", {}),
        # London's 28th (GMT) is the UTC 28th: exact from its row. Its 29th (23 h, 00:00 to
        # 23:00 UTC) and 30th (BST) are not UTC days: before, the 29th was given 24 h.
        ("Europe/London", {date(2026, 3, 28): 2.4}),
    ],
)
def test_daily_tier_rows_fill_only_local_days_that_are_utc_days(
    ha_db: HaDatabase, enrich_db: str, settings, zone: str, rows: dict
):
    settings.TIME_ZONE = zone
    fridge = ha_db.saved_entity(
        "official", "sensor.fridge_power", [(datetime(2026, 3, 27, 12, tzinfo=UTC), 100)],
        unit="W", kind="power",
    )  # fmt: skip
    write_daily_tier(ha_db, fridge, [date(2026, 3, d) for d in (28, 29, 30)])

    run = rebuild_view(
        ENERGY, date(2026, 3, 28), date(2026, 3, 30), now=datetime(2026, 4, 2, tzinfo=UTC)
    )

    found = {r["date"]: r["total_kwh"] for r in MaterializedViewManager().daily_energy()}
    assert found == pytest.approx(rows)  # 100 W all along: 2.4 kWh in a 24-h day
    skipped = [day for day in ("2026-03-28", "2026-03-29", "2026-03-30")
               if date.fromisoformat(day) not in rows]  # fmt: skip
    assert [note.split()[1].rstrip(":") for note in run.details["skipped"]] == skipped


def test_unticking_tiered_in_the_admin_does_not_change_the_rows_of_tiered_days(
    ha_db: HaDatabase, enrich_db: str
):
    # 100 W from the 4th, 200 W from noon on the 5th; retention replaced the 4th by its
    # daily row before the user unticked `tiered` (retention leaves the entity alone now).
    fridge = ha_db.saved_entity(
        "official", "sensor.fridge_power", [(0, 100), (36 * 3600, 200)], unit="W", kind="power"
    )
    write_daily_tier(ha_db, fridge, [DAY1])
    models.Entity.objects.filter(pk=fridge.pk).update(tiered=False, edited=True)

    run = rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=1), now=AFTER)

    found = {r["date"]: r["total_kwh"] for r in MaterializedViewManager().daily_energy()}
    # Before: no row for the 4th, and the 5th without the 100 W in force at its start (2.4).
    assert found == pytest.approx({DAY1: 2.4, DAY1 + timedelta(days=1): 1.2 + 2.4})
    assert run.details["sources"] == {"daily": 1, "raw": 1}


# --- hourly_room_activity --------------------------------------------------------------------
def test_room_activity_unions_overlapping_sensors(
    ha_db: HaDatabase, enrich_db: str, layout: str, settings
):
    settings.TIME_ZONE = "America/New_York"  # UTC-5: 02:00 UTC Monday is Sunday 21:00
    h = 3600
    area = {"area": "hall"} if layout == "ingestor" else {}

    def in_the_hall(entity_id: str, points: list) -> models.Entity:
        return ha_db.write_entity(layout, entity_id, points, kind="binary", **area)

    motion = in_the_hall(
        "binary_sensor.hall_motion",
        [(-600, "off"), (10 * h + 10 * MIN, "on"), (10 * h + 30 * MIN, "off"),
         (10 * h + 50 * MIN, "on"), (11 * h + 10 * MIN, "off")],
    )  # fmt: skip
    occupancy = in_the_hall(
        "binary_sensor.hall_occupancy",
        [(-600, "off"), (10 * h + 20 * MIN, "on"), (10 * h + 40 * MIN, "off"),
         (11 * h + 5 * MIN, "on"), (11 * h + 20 * MIN, "off")],
    )  # fmt: skip
    light = in_the_hall("light.hall", [(-600, "on")])
    nowhere = ha_db.write_entity(
        layout, "binary_sensor.attic_motion", [(-600, "on")], kind="binary"
    )
    for entity in (motion, occupancy, light):
        save(entity, at(-600), area="hall")
    save(nowhere, at(-600))

    rebuild_view(ACTIVITY, DAY1, DAY1, now=AFTER)

    rows = {r["hour"]: r for r in MaterializedViewManager().room_activity(area="hall")}
    # Local March 4th in New York = 05:00 UTC on the 4th to 05:00 UTC on the 5th.
    assert min(rows) == T0 + timedelta(hours=5) and len(rows) == 24
    ten, eleven = rows[at(10 * h)], rows[at(11 * h)]
    # 10:xx: motion on 10-30 and 50-60, occupancy 20-40 -> union 10-40, 50-60 = 40 minutes
    assert ten["occupancy_rate"] == pytest.approx(40 / 60)
    assert ten["motion_count"] == 3
    # 11:xx: motion on 00-10 (carried over), occupancy 05-20 -> union 00-20; one off->on
    assert eleven["occupancy_rate"] == pytest.approx(20 / 60)
    assert eleven["motion_count"] == 1
    assert ten["day_of_week"] == 0  # 05:00 Monday in New York
    assert rows[at(12 * h)]["occupancy_rate"] == 0 and rows[at(12 * h)]["motion_count"] == 0
    assert set(models.HourlyRoomActivity.objects.values_list("area", flat=True)) == {"hall"}

    settings.TIME_ZONE = "America/New_York"
    rebuild_view(ACTIVITY, DAY1 - timedelta(days=1), DAY1 - timedelta(days=1), now=AFTER)
    sunday = models.HourlyRoomActivity.objects.get(area="hall", hour=at(2 * h))
    assert sunday.day_of_week == 6  # 21:00 Sunday local
    mondays = MaterializedViewManager().room_activity(area="hall", day_of_week=0)
    assert {r["hour"] for r in mondays} == {at(n * h) for n in range(5, 29)}


def test_room_activity_picks_sensors_by_device_class_before_name(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    h = 3600
    # Occupancy by device class, though no keyword is in its id or name.
    ha_db.write_entity(
        layout,
        "binary_sensor.sofa_seat",
        [(-600, "off"), (10 * h, "on"), (10 * h + 30 * MIN, "off")],
        device_class="occupancy",
        friendly_name="Sofa seat",
    )
    # A door sensor named like a motion sensor: its device class keeps it out.
    ha_db.write_entity(
        layout,
        "binary_sensor.motion_door",
        [(-600, "on")],
        device_class="door",
        friendly_name="Motion door",
    )
    # No device class recorded: the keyword rule still picks it.
    ha_db.write_entity(
        layout, "binary_sensor.den_pir", [(-600, "off"), (10 * h + 15 * MIN, "on"),
                                          (10 * h + 45 * MIN, "off")]
    )  # fmt: skip
    discover(layout=layout)
    models.Entity.objects.update(area="den")  # the official layout has no areas: set them here
    assert dict(models.Entity.objects.values_list("entity_id", "device_class")) == {
        "binary_sensor.sofa_seat": "occupancy",
        "binary_sensor.motion_door": "door",
        "binary_sensor.den_pir": "",
    }
    picked = activity_sensors(models.Entity.objects.all())
    assert {area: sorted(e.entity_id for e in sensors) for area, sensors in picked.items()} == {
        "den": ["binary_sensor.den_pir", "binary_sensor.sofa_seat"]
    }

    rebuild_view(ACTIVITY, DAY1, DAY1, now=AFTER)

    rows = {r["hour"]: r for r in MaterializedViewManager().room_activity(area="den")}
    assert len(rows) == 24
    # 10:xx: sofa on 00-30, pir on 15-45 -> union 00-45; one off->on each. The door, on all
    # day, would make every hour 1.0 if it were counted.
    assert rows[at(10 * h)]["occupancy_rate"] == pytest.approx(45 / 60)
    assert rows[at(10 * h)]["motion_count"] == 2
    assert rows[at(9 * h)]["occupancy_rate"] == 0 and rows[at(9 * h)]["motion_count"] == 0
    assert sum(r["occupancy_rate"] for r in rows.values()) == pytest.approx(45 / 60)


def test_room_activity_device_class_rule_without_influxdb():
    def binary(entity_id: str, device_class: str = "", friendly_name: str = "") -> models.Entity:
        return models.Entity(entity_id=entity_id, kind="binary", area="hall", layout="official",
                             measurement=entity_id, device_class=device_class,
                             friendly_name=friendly_name)  # fmt: skip

    picked = activity_sensors(
        [
            binary("binary_sensor.a", "motion"),
            binary("binary_sensor.b", "Presence"),  # edited by hand: case does not matter
            binary("binary_sensor.c", "occupancy"),
            binary("binary_sensor.motion_door", "door", "Motion door"),
            binary("binary_sensor.pir_window", "window"),
            binary("binary_sensor.hall_pir"),
            binary("binary_sensor.x", friendly_name="Hall movement"),
            binary("binary_sensor.y"),
            models.Entity(
                entity_id="light.motion", kind="binary", area="hall", device_class="motion"
            ),
        ]
    )
    assert sorted(e.entity_id for e in picked["hall"]) == [
        "binary_sensor.a",
        "binary_sensor.b",
        "binary_sensor.c",
        "binary_sensor.hall_pir",
        "binary_sensor.x",
    ]


def test_a_sensor_discovered_in_an_area_with_rows_gets_its_history_on_the_next_refresh(
    ha_db: HaDatabase, enrich_db: str
):
    h = 3600
    desk = ha_db.write_entity("official", "binary_sensor.desk_presence", [(-600, "off")])
    save(desk, at(-600), area="office")
    models.Entity.objects.filter(pk=desk.pk).update(discovered=at(-600))  # long known
    refresh_view(ACTIVITY, now=at(20 * h))
    # The next day's discovery finds a motion sensor of the office, on 02:00-03:00 yesterday.
    door = ha_db.write_entity(
        "official", "binary_sensor.door_motion", [(2 * h, "on"), (3 * h, "off")]
    )
    save(door, at(2 * h), area="office")
    refresh_view(ACTIVITY, now=at(28 * h))

    refreshed = MaterializedViewManager().room_activity(area="office")
    two = next(r for r in refreshed if r["hour"] == at(2 * h))
    assert two["occupancy_rate"] == 1.0  # was 0.0: the new sensor's history was left out
    # ... as a rebuild of the same days gives.
    rebuild_view(ACTIVITY, DAY1, DAY1 + timedelta(days=1), now=at(28 * h))
    rebuilt = MaterializedViewManager().room_activity(area="office")
    assert [(r["hour"], r["occupancy_rate"], r["motion_count"]) for r in refreshed] == [
        (r["hour"], r["occupancy_rate"], r["motion_count"]) for r in rebuilt
    ]


def test_an_entity_deleted_and_discovered_again_gets_its_history_on_the_next_refresh(
    ha_db: HaDatabase, enrich_db: str
):
    first = T0 + timedelta(hours=10)
    ha_db.saved_entity("official", "sensor.oven_power", [(-60, 1000)], unit="W", kind="power")
    refresh_view(ENERGY, now=first)  # the 4th so far: 10 h, partial
    models.Entity.objects.filter(entity_id="sensor.oven_power").delete()  # in the admin
    refresh_view(ENERGY, now=first + timedelta(days=1))
    # Discovery registers it again the next night; the refresh after reads its history.
    ha_db.saved_entity("official", "sensor.oven_power", [(-60, 1000)], unit="W", kind="power")
    later = first + timedelta(days=1, hours=4)
    refresh_view(ENERGY, now=later)
    day1 = energy_row("sensor.oven_power")
    assert (day1.total_kwh, day1.partial) == (pytest.approx(24.0), False)  # was 10 h, partial
    refreshed = dict(models.DailyEnergyByDevice.objects.values_list("date", "total_kwh"))
    rebuild_view(ENERGY, DAY1 - timedelta(days=1), DAY1 + timedelta(days=1), now=later)
    rebuilt = dict(models.DailyEnergyByDevice.objects.values_list("date", "total_kwh"))
    assert rebuilt == pytest.approx(refreshed)


def drop_out(ha_db: HaDatabase, gone: int, back: int, kwh: float) -> None:
    """A smart plug (meter) and a motion sensor, unavailable from `gone` to `back` (seconds
    after T0; the HA Ingestor records the state): the meter grew `kwh` meanwhile and 0.5 kWh
    in the hour after, the sensor came back "on" for a minute."""
    ha_db.saved_entity(
        "ingestor", "sensor.plug_energy", [(-60, 100.0), (gone, "unavailable"),
        (back, 100.0 + kwh), (back + 3600, 100.5 + kwh)], unit="kWh", kind="energy",
    )  # fmt: skip
    ha_db.saved_entity(
        "ingestor", "binary_sensor.hall_motion", [(-60, "off"), (gone, "unavailable"),
        (back, "on"), (back + 60, "off")], kind="binary", device_class="motion", area="hall",
    )  # fmt: skip


def test_a_refresh_starting_inside_an_unavailable_spell_counts_across_it_as_a_rebuild(
    ha_db: HaDatabase, enrich_db: str, settings
):
    settings.VIEW_LATE_MARGIN_HOURS = 6
    settings.ENERGY_FLAT_TARIFF = 0.30
    h = 3600
    drop_out(ha_db, 20 * h, 34 * h, 4.0)  # 20:00 to 10:00 the next day
    models.Entity.objects.update(discovered=T0 - timedelta(days=1))
    for hours in range(4, 44, 4):  # every 4 h; from 04:00 on the 5th a range starts in the gap
        refresh_view(ENERGY, now=at(hours * h))
        refresh_view(ACTIVITY, now=at(hours * h))
    views = MaterializedViewManager()
    refreshed = views.daily_energy(), views.room_activity()
    day2 = energy_row("sensor.plug_energy", DAY1 + timedelta(days=1))
    assert day2.total_kwh == pytest.approx(4.5)  # was 0.5: the growth across the gap lost
    came_back = models.HourlyRoomActivity.objects.get(area="hall", hour=at(34 * h))
    assert came_back.motion_count == 1  # off -> unavailable -> on counts once; was 0

    rebuild_view(ENERGY, DAY1 - timedelta(days=1), DAY1 + timedelta(days=1), now=at(40 * h))
    rebuild_view(ACTIVITY, DAY1 - timedelta(days=1), DAY1 + timedelta(days=1), now=at(40 * h))
    rebuilt = views.daily_energy(), views.room_activity()
    drop = {"refreshed"}
    assert [[{k: v for k, v in r.items() if k not in drop} for r in rows] for rows in rebuilt] == [
        [{k: v for k, v in r.items() if k not in drop} for r in rows] for rows in refreshed
    ]  # the hours of the gap too (occupancy 0), which the refreshes had left out


@pytest.mark.parametrize("first_day", [DAY1, DAY1 + timedelta(days=1)])
def test_a_gap_over_midnight_counts_the_same_after_retention_tiered_the_day_before(
    ha_db: HaDatabase, enrich_db: str, first_day: date
):
    h = 3600
    drop_out(ha_db, 23 * h, 26 * h, 1.0)  # 23:00 to 02:00
    day2 = DAY1 + timedelta(days=1)

    def rows():
        rebuild_view(ENERGY, first_day, day2, now=AFTER)
        rebuild_view(ACTIVITY, first_day, day2, now=AFTER)
        meter = energy_row("sensor.plug_energy", day2)
        back = models.HourlyRoomActivity.objects.get(area="hall", hour=at(26 * h))
        return meter.total_kwh, meter.avg_power, back.motion_count

    from_raw = rows()
    # 1.5 kWh over the whole day: the meter's value is carried in from the 4th, and the
    # 1 kWh counted at 02:00 was used during the gap (before: over the 22 h known, 68.18 W).
    assert from_raw == (pytest.approx(1.5), pytest.approx(1.5 / 24 * 1000), 1)
    run = tiers.downsample_hourly(DAY1, day2)  # the real hot -> warm step: the 4th's raw goes
    assert run.status == "ok", run.errors
    # Before: the tier's "unavailable at 23:00" was read without the state and reading before
    # it: the on at 02:00 was no change and the 1 kWh across the gap was not counted.
    assert rows() == from_raw


def test_room_activity_open_hour_is_partial(ha_db: HaDatabase, enrich_db: str):
    sensor = ha_db.write_entity(
        "official", "binary_sensor.desk_presence", [(-600, "on")], kind="binary"
    )
    save(sensor, at(-600), area="office")
    now = at(2 * 3600 + 30 * MIN)
    refresh_view(ACTIVITY, now=now)
    latest = models.HourlyRoomActivity.objects.get(area="office", hour=at(2 * 3600))
    assert latest.partial is True and latest.occupancy_rate == 1.0
    assert models.HourlyRoomActivity.objects.get(area="office", hour=at(3600)).partial is False
    assert not models.HourlyRoomActivity.objects.filter(hour__gte=at(3 * 3600)).exists()


# --- daily_carbon_summary ----------------------------------------------------------------
def test_carbon_summary_is_time_weighted_per_region(enrich_db: str):
    def point(seconds: float, region: str, **fields: float) -> Reading:
        tags = {"region": region, "grid_operator": region, "provider": "electricitymaps"}
        return Reading("carbon_intensity", fields, at(seconds), tags)

    get_timeseries().write(
        enrich_db,
        [
            point(-3600, "DE", carbon_intensity_gco2_kwh=999.0),  # yesterday: not carried in
            point(0, "DE", carbon_intensity_gco2_kwh=100.0, renewable_percentage=40.0),
            point(12 * 3600, "DE", carbon_intensity_gco2_kwh=200.0, renewable_percentage=60.0),
            point(18 * 3600, "DE", carbon_intensity_gco2_kwh=400.0),
            point(6 * 3600, "GB", carbon_intensity_gco2_kwh=150.0),
        ],
    )

    refresh_view(CARBON, now=at(86400 + 6 * 3600))

    views = MaterializedViewManager()
    [de] = views.carbon(region="DE", start=DAY1, end=DAY1)
    # 100 for 12 h, 200 for 6 h, 400 for 6 h -> 4800 / 24 = 200 (the plain mean is 233.3)
    assert de["avg_carbon"] == pytest.approx(200.0)
    assert (de["min_carbon"], de["max_carbon"]) == (100.0, 400.0)
    assert de["avg_renewable"] == pytest.approx(50.0)  # 40 for 12 h, 60 for 12 h
    assert de["partial"] is False
    [gb] = views.carbon(region="GB")
    assert gb["avg_carbon"] == 150.0 and gb["avg_renewable"] is None
    yesterday = models.DailyCarbonSummary.objects.get(region="DE", date=DAY1 - timedelta(days=1))
    assert yesterday.avg_carbon == 999.0
    # The 5th is open and has no point of its own: nothing is carried into it.
    assert not models.DailyCarbonSummary.objects.filter(date=DAY1 + timedelta(days=1)).exists()


# --- the query interface -------------------------------------------------------------------
def test_manager_filters(ha_db: HaDatabase, enrich_db: str, settings):
    settings.ENERGY_FLAT_TARIFF = 0.30
    for name, watts in (("sensor.a_power", 100), ("sensor.b_power", 200)):
        ha_db.saved_entity("official", name, [(-60, watts)], unit="W", kind="power")
    rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=2), now=AFTER)
    views = MaterializedViewManager()
    assert len(views.daily_energy()) == 6
    one = views.daily_energy("sensor.b_power", start=DAY1 + timedelta(days=1))
    assert [r["date"] for r in one] == [DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)]
    assert one[0]["total_kwh"] == pytest.approx(4.8) and one[0]["cost"] == pytest.approx(1.44)
    grouped = views.energy_by_device(start=DAY1, end=DAY1 + timedelta(days=1))
    assert [(g["entity_id"], g["days"]) for g in grouped] == [
        ("sensor.a_power", 2),
        ("sensor.b_power", 2),
    ]
    assert grouped[0]["total_kwh"] == pytest.approx(4.8)
    assert views.freshness(ENERGY) == {"last_refreshed": None, "watermark": None}
