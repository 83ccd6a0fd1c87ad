"""Tier execution against the real InfluxDB: constructed series with known answers, both
Home Assistant layouts, hot -> warm -> cold, late points, locks and retention-policy safety.

Days are UTC; T0 = 2024-03-04 00:00 UTC (tests/retention/conftest.py). Every run names its
days explicitly (start inclusive, end exclusive), so it touches only the test's data.
"""

import logging
import math
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrich.influx import get_timeseries, quote_ident
from enrich.redis.lock import RunLock
from retention.day_ranges import RangeError
from retention.entities.ha_source import count_samples, read_samples
from retention.models import Entity, RetentionRun, TierChunk
from retention.tiers import runner as tiers
from retention.tiers import safety
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import hour_windows
from tests.retention.conftest import T0
from tests.support.tier_runs import storage

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D0 = T0.date()


def hourly(start: date, end: date, **kwargs) -> RetentionRun:
    run = tiers.downsample_hourly(start, end, **kwargs)
    assert run.status in ("ok", "dry_run"), (run.status, run.errors)
    return run


def daily(start: date, end: date, **kwargs) -> RetentionRun:
    run = tiers.downsample_daily(start, end, **kwargs)
    assert run.status in ("ok", "dry_run"), (run.status, run.errors)
    return run


def rows(entity_id: str, rp: str = HOURLY_RP, start=T0 - 10 * DAY, end=T0 + 10 * DAY):
    return read_rows(rp, start, end, entity_id).get(entity_id, [])


def by_hour(entity_id: str, rp: str = HOURLY_RP, **window) -> dict[datetime, dict]:
    return {
        row.start: {k: v for k, v in row.fields.items() if not is_own_field(k)}
        for row in rows(entity_id, rp, **window)
    }


def waits(day: date) -> str:
    """The daily run's note for the days from `day`, which the raw -> hourly run has not done."""
    return (
        f"days from {day} wait for the raw -> hourly run, which has not done {day} yet (not "
        "started): a later run composes them once it has, so no hourly row is left behind"
    )


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --- hot -> warm: known answers --------------------------------------------------------------


def test_power_step_spans_hours_and_days_carried_in_after_raw_is_deleted(ha_db, layout):
    # 100 W from 23:30 the day before, 200 W from 00:10, 50 W from 01:06:40 on.
    entity = ha_db.saved_entity(
        layout, "sensor.heater_power", [(-1800, 100), (600, 200), (4000, 50)], unit="W"
    )
    run = hourly(D0 - DAY, D0 + DAY)

    got = by_hour(entity.entity_id)
    assert len(got) == 1 + 24  # the evening hour, then every hour of D0
    evening = got[T0 - HOUR]
    assert evening["avg_value"] == 100 and evening["coverage_seconds"] == 1800
    assert close(evening["total_energy"], 0.05)
    first = got[T0]  # 100 W carried in from the deleted day, then 200 W
    assert close(first["avg_value"], (100 * 600 + 200 * 3000) / 3600)
    assert (first["min_value"], first["max_value"], first["sample_count"]) == (100, 200, 1)
    assert first["coverage_seconds"] == 3600
    second = got[T0 + HOUR]
    assert close(second["avg_value"], (200 * 400 + 50 * 3200) / 3600)
    assert (second["min_value"], second["max_value"], second["last_value"]) == (50, 200, 50)
    for hour in range(2, 24):
        row = got[T0 + hour * HOUR]
        assert (row["avg_value"], row["sample_count"], row["coverage_seconds"]) == (50, 0, 3600)
    # The day's energy is the exact integral of the step function: 1.35 kWh.
    day_energy = sum(r["total_energy"] for t, r in got.items() if t >= T0)
    assert close(day_energy, (100 * 600 + 200 * 3400 + 50 * (86400 - 4000)) / 3.6e6)

    assert count_samples(entity, T0 - DAY, T0 + DAY) == 0  # raw deleted after verification
    assert (run.records_processed, run.records_deleted) == (3, 3)
    assert run.details["days"] == [str(D0 - DAY), str(D0)]
    states = dict(TierChunk.objects.filter(tier="hourly").values_list("day", "state"))
    assert states == {D0 - DAY: "deleted", D0: "deleted"}


def test_rerun_changes_nothing_and_skips_deleted_days(ha_db, layout):
    entity = ha_db.saved_entity(layout, "sensor.tv_power", [(60, 90), (7200, 0)], unit="W")
    hourly(D0, D0 + DAY)
    first = by_hour(entity.entity_id)
    again = hourly(D0, D0 + DAY)
    assert by_hour(entity.entity_id) == first
    assert (again.records_processed, again.records_deleted, again.details["days"]) == (0, 0, [])


def test_energy_meter_reset_and_small_dip_follow_home_assistant(ha_db, layout, caplog):
    points = [
        (600, 10.0),  # first reading ever: the zero point
        (4800, 10.5),
        (6000, 10.2),  # dip < 10 %: noise, -0.3 given back later
        (9000, 10.8),
        (11700, 0.3),  # reset: the new cycle counts from 0
        (18000, 0.9),
        (86400 + 3600, 1.5),  # next day: growth from the carried-in 0.9 (raw deleted by then)
    ]
    entity = ha_db.saved_entity(layout, "sensor.washer_energy", points, unit="kWh")
    with caplog.at_level(logging.WARNING):
        hourly(D0, D0 + 2 * DAY)
    got = by_hour(entity.entity_id)
    growth = {int((t - T0) / HOUR): r["total_energy"] for t, r in got.items()}
    assert growth[0] == 0
    assert close(growth[1], 0.2) and close(growth[2], 0.6) and close(growth[3], 0.3)
    assert growth[4] == 0 and close(growth[5], 0.6)
    assert close(growth[25], 0.6)
    assert close(sum(growth.values()), 2.3)
    assert got[T0 + 5 * HOUR]["last_value"] == 0.9
    assert "dipped from 10.5 to 10.2" in caplog.text


def test_units_are_converted_kw_to_w_and_wh_to_kwh(ha_db):
    kw = ha_db.saved_entity("official", "sensor.oven_power", [(0, 2.5)], unit="kW")
    wh = ha_db.saved_entity(
        "official", "sensor.plug_energy", [(0, 1000.0), (1800, 1500.0)], unit="Wh"
    )
    hourly(D0, D0 + DAY)
    oven = by_hour(kw.entity_id)[T0]
    assert oven["avg_value"] == 2500 and close(oven["total_energy"], 2.5)
    plug = by_hour(wh.entity_id)[T0]
    assert close(plug["total_energy"], 0.5) and plug["last_value"] == 1.5


def test_binary_and_text_states(ha_db, layout):
    motion = ha_db.saved_entity(
        layout,
        "binary_sensor.hall_motion",
        [(-600, "off"), (300, "on"), (900, "off"), (3000, "on"), (4200, "off")],
    )
    mode = ha_db.saved_entity(
        layout, "sensor.washer_program", [(0, "eco"), (1200, "rinse"), (1300, "rinse")]
    )
    assert mode.kind == "text"
    hourly(D0 - DAY, D0 + DAY)
    hour0 = by_hour(motion.entity_id)[T0]
    assert hour0["state_changes"] == 3  # off -> on -> off -> on
    assert hour0["on_seconds"] == 600 + 600 and hour0["last_state"] == "on"
    hour1 = by_hour(motion.entity_id)[T0 + HOUR]
    assert (hour1["on_seconds"], hour1["state_changes"], hour1["last_state"]) == (600, 1, "off")
    text = by_hour(mode.entity_id)[T0]
    assert (text["state_changes"], text["last_state"], text["sample_count"]) == (1, "rinse", 3)


def test_unavailable_and_unknown_are_gaps_and_counted(ha_db):
    # Only the HA Ingestor records unavailable/unknown; they stop the value from holding.
    entity = ha_db.saved_entity(
        "ingestor",
        "sensor.fridge_power",
        [(0, 100), (1800, "unavailable"), (2700, 200), (3000, "unknown")],
        unit="W",
    )
    hourly(D0, D0 + DAY)
    row = by_hour(entity.entity_id)[T0]
    assert (row["sample_count"], row["gap_count"], row["coverage_seconds"]) == (2, 2, 2100)
    assert close(row["avg_value"], (100 * 1800 + 200 * 300) / 2100)
    assert close(row["total_energy"], (100 * 1800 + 200 * 300) / 3.6e6)
    assert T0 + HOUR not in by_hour(entity.entity_id)  # a gap in force: nothing to say
    assert count_samples(entity, T0, T0 + DAY) == 0


def test_duplicate_timestamps_in_two_series_are_one_sample(ha_db):
    # The ingestor wrote the same state change twice with different area tags.
    from tests.retention.conftest import ingestor_readings

    points = [(0, 100), (1800, 300)]
    ha_db.write(ingestor_readings("sensor.desk_power", points, unit="W", area="office"))
    ha_db.write(ingestor_readings("sensor.desk_power", [(1800, 400)], unit="W", area="study"))
    entity = Entity.objects.create(
        entity_id="sensor.desk_power",
        kind="power",
        unit="W",
        layout="ingestor",
        measurement="home_assistant_events",
    )
    assert count_samples(entity, T0, T0 + DAY) == 2
    hourly(D0, D0 + DAY)
    row = by_hour(entity.entity_id)[T0]
    assert row["sample_count"] == 2
    assert row["max_value"] in (300, 400)  # the later series InfluxDB returns wins
    # Both series' points are gone.
    query = 'SELECT COUNT("state_value") FROM "home_assistant_events"'
    assert list(get_timeseries().query(ha_db.name, query)) == []


def test_dst_day_is_24_utc_hours_and_composes_exactly(ha_db, layout):
    # 2024-03-31: Europe switches to summer time; UTC days and hours are unaffected.
    dst = datetime(2024, 3, 31, tzinfo=UTC)
    entity = ha_db.saved_entity(layout, "sensor.pump_power", [(dst - HOUR, 1000)], unit="W")
    hourly(dst.date() - DAY, dst.date() + DAY)
    window = {"start": dst - 2 * DAY, "end": dst + 2 * DAY}
    got = {t: r for t, r in by_hour(entity.entity_id, **window).items() if t >= dst}
    assert len(got) == 24 and all(close(r["total_energy"], 1.0) for r in got.values())
    daily(dst.date(), dst.date() + DAY)
    day_row = by_hour(entity.entity_id, DAILY_RP, **window)[dst]
    assert close(day_row["total_energy"], 24.0) and day_row["coverage_seconds"] == 86400


def test_weather_attribute_means_are_carried_across_days(ha_db, layout):
    entity = ha_db.saved_entity(
        layout,
        "weather.home",
        [
            (-3600, "sunny", {"temperature": 10, "humidity": 50}),
            (1800, "rainy", {"temperature": 6, "humidity": 90}),
        ],
    )
    hourly(D0 - DAY, D0 + DAY)
    row = by_hour(entity.entity_id)[T0]
    assert row["temperature_mean"] == 8 and row["humidity_mean"] == 70
    assert (row["state_changes"], row["last_state"]) == (1, "rainy")


# --- the tiers equal one aggregation of the whole raw series -------------------------------


def reference(entity: Entity, start: datetime, end: datetime) -> dict[datetime, dict]:
    """What aggregating the complete raw series at once gives (before anything is deleted)."""
    samples = list(read_samples(entity, start, end))  # in W / kWh
    aggregates = aggregate_windows(entity.kind, samples, hour_windows(start, end))
    return {a.window_start: a.to_fields() for a in aggregates if a is not None}


def same(expected: dict, got: dict) -> bool:
    return expected.keys() == got.keys() and all(
        (expected[k] == got[k]) if isinstance(expected[k], str) else close(expected[k], got[k])
        for k in expected
    )


def demo_entities(readings, layout: str) -> list[Entity]:
    """Register the entities of a demo home written with `ha_db.write_demo_home`."""
    entities = []
    for measurement, domain, object_id in sorted(
        {(r.measurement, r.tags["domain"], r.tags["entity_id"]) for r in readings}
    ):
        kind = {"W": "power", "kWh": "energy", "°C": "numeric"}.get(measurement)
        kind = kind or ("binary" if domain == "binary_sensor" else "weather")
        entities.append(
            Entity.objects.create(
                entity_id=f"{domain}.{object_id}",
                kind=kind,
                unit=measurement if kind in ("power", "energy", "numeric") else "",
                layout=layout,
                measurement=measurement if layout == "official" else "home_assistant_events",
            )
        )
    return entities


def assert_one_shot(entities, expected, start: datetime, end: datetime) -> None:
    """Every entity's hourly rows are the `reference` ones, and its raw points are gone."""
    for entity in entities:
        got = by_hour(entity.entity_id)
        assert got.keys() == expected[entity.entity_id].keys(), entity.entity_id
        for hour, fields in expected[entity.entity_id].items():
            assert same(fields, got[hour]), (entity.entity_id, hour, fields, got[hour])
            if "avg_value" in fields:
                assert fields["min_value"] <= fields["avg_value"] <= fields["max_value"]
        assert count_samples(entity, start, end) == 0


def test_demo_home_tiers_equal_one_shot_aggregation_and_conserve(ha_db, layout):
    readings = ha_db.write_demo_home(layout, days=3, entities=8, end=T0 + 3 * DAY)
    entities = demo_entities(readings, layout)
    start, end = T0, T0 + 3 * DAY
    expected = {e.entity_id: reference(e, start, end) for e in entities}
    raw_total = sum(count_samples(e, start, end) for e in entities)

    run = hourly(D0, D0 + 3 * DAY)

    assert run.records_processed == raw_total == run.records_deleted
    assert_one_shot(entities, expected, start, end)

    hourly_rows = {e.entity_id: rows(e.entity_id) for e in entities}
    daily(D0, D0 + 3 * DAY)
    for entity in entities:
        assert rows(entity.entity_id) == []  # hourly rows deleted after verification
        days = rows(entity.entity_id, DAILY_RP)
        assert len(days) == 3
        hours = hourly_rows[entity.entity_id]
        assert sum(d.points for d in days) == sum(h.points for h in hours)
        assert close(sum(d.energy for d in days), sum(h.energy for h in hours))
        for day_row in days:
            f = day_row.fields
            if "avg_value" in f:
                assert f["min_value"] <= f["avg_value"] <= f["max_value"]


def test_days_computed_ahead_equal_the_one_shot_aggregation(ha_db, monkeypatch):
    """The next day is computed while the current one is written, verified and deleted
    (retention.tiers.ahead) only when that cannot change it: here days 3 and 4 are, day 2 is
    not (a plug appears on it: on day 1 not every entity had rows), and every hour equals the
    aggregation of the complete raw series."""
    from retention.tiers import ahead

    readings = ha_db.write_demo_home("official", days=4, entities=5, end=T0 + 4 * DAY)
    entities = demo_entities(readings, "official")
    plug = [(86400 + 600 + 60 * n, 40.0 + n) for n in range(0, 3 * 1440 - 20, 7)]
    entities.append(ha_db.saved_entity("official", "sensor.late_plug_power", plug, unit="W"))
    start, end = T0, T0 + 4 * DAY
    expected = {e.entity_id: reference(e, start, end) for e in entities}
    raw_total = sum(count_samples(e, start, end) for e in entities)
    served: list[date] = []
    take = ahead.Lookahead.take

    def counted(self, day):
        found = take(self, day)
        if found is not None:
            served.append(day)
        return found

    monkeypatch.setattr(ahead.Lookahead, "take", counted)

    run = hourly(D0, D0 + 4 * DAY)

    assert served == [D0 + 2 * DAY, D0 + 3 * DAY]
    assert run.records_processed == raw_total == run.records_deleted
    assert_one_shot(entities, expected, start, end)


# --- warm -> cold ----------------------------------------------------------------------------


def test_daily_row_at_midnight_survives_the_cross_policy_delete(ha_db, layout):
    entity = ha_db.saved_entity(layout, "sensor.lamp_power", [(0, 40), (7200, 60)], unit="W")
    hourly(D0, D0 + DAY)
    hour_rows = rows(entity.entity_id)
    run = daily(D0, D0 + DAY)
    assert run.records_processed == 24 and run.records_deleted == 24
    [row] = rows(entity.entity_id, DAILY_RP)
    assert row.start == T0
    assert close(row.fields["avg_value"], (40 * 7200 + 60 * (86400 - 7200)) / 86400)
    assert (row.fields["min_value"], row.fields["max_value"]) == (40, 60)
    assert row.points == sum(h.points for h in hour_rows) == 2
    assert close(row.energy, sum(h.energy for h in hour_rows))
    assert rows(entity.entity_id) == []
    chunk = TierChunk.objects.get(tier="daily", day=D0)
    assert chunk.state == "deleted" and chunk.pending_rows == {}


# --- late points -----------------------------------------------------------------------------


def test_late_point_after_its_day_was_deleted_is_folded_in_once(ha_db, layout):
    entity = ha_db.saved_entity(layout, "sensor.kettle_power", [(0, 10), (3 * 3600, 20)], unit="W")
    hourly(D0, D0 + DAY)
    before = by_hour(entity.entity_id)
    # A point for 05:30 arrives late (e.g. an ingestor backfill), raw of that day is gone.
    ha_db.write_entity(layout, "sensor.kettle_power", [(5.5 * 3600, 2000)], unit="W")

    run = hourly(D0, D0 + DAY)

    after = by_hour(entity.entity_id)
    hour5 = after[T0 + 5 * HOUR]
    assert hour5["sample_count"] == before[T0 + 5 * HOUR]["sample_count"] + 1
    assert hour5["max_value"] == 2000 and hour5["min_value"] == 20
    for name in ("avg_value", "total_energy", "coverage_seconds", "last_value"):
        assert hour5[name] == before[T0 + 5 * HOUR][name]  # time-based fields kept
    assert {t: r for t, r in after.items() if t != T0 + 5 * HOUR} == {
        t: r for t, r in before.items() if t != T0 + 5 * HOUR
    }
    assert run.details["late_points"] == 1 and run.records_deleted == 1
    assert count_samples(entity, T0, T0 + DAY) == 0
    [row] = [r for r in rows(entity.entity_id) if r.start == T0 + 5 * HOUR]
    assert row.late_times() == {int((T0 + 5.5 * HOUR).timestamp() * 1_000_000)}
    # Once folded and deleted, a rerun changes nothing.
    hourly(D0, D0 + DAY)
    assert by_hour(entity.entity_id) == after


def test_late_point_after_the_daily_row_is_folded_into_it(ha_db, layout):
    entity = ha_db.saved_entity(layout, "sensor.heat_pump_power", [(0, 500)], unit="W")
    hourly(D0, D0 + DAY)
    daily(D0, D0 + DAY)
    before = by_hour(entity.entity_id, DAILY_RP)[T0]
    ha_db.write_entity(layout, "sensor.heat_pump_power", [(12 * 3600, 3)], unit="W")
    run = hourly(D0, D0 + DAY)
    after = by_hour(entity.entity_id, DAILY_RP)[T0]
    assert after["sample_count"] == before["sample_count"] + 1 and after["min_value"] == 3
    assert after["total_energy"] == before["total_energy"]
    assert run.details["late_points"] == 1
    assert rows(entity.entity_id) == []  # no hourly row was recreated


def test_late_point_while_raw_is_still_there_is_simply_aggregated(ha_db, layout):
    entity = ha_db.saved_entity(layout, "sensor.fan_power", [(0, 30)], unit="W")
    hourly(D0 - DAY, D0)  # the day before only; D0 still raw
    ha_db.write_entity(layout, "sensor.fan_power", [(1800, 60)], unit="W")  # late, raw day
    hourly(D0, D0 + DAY)
    row = by_hour(entity.entity_id)[T0]
    assert row["sample_count"] == 2 and close(row["avg_value"], 45)


# --- verified days are deleted a week at a time ------------------------------------------------


def test_verified_days_are_deleted_a_week_at_a_time(ha_db, layout, monkeypatch):
    """A DELETE costs InfluxDB 1.6 about as much for seven days as for one
    (retention.tiers.pending): nine days are deleted as days 1-7 and 8-9, each window only
    once every day in it is verified, and the rows equal one aggregation of the raw series."""
    from retention.tiers import reads as tier_reads

    points = [(600 * n, float(n % 50)) for n in range(9 * 144)]
    oven = ha_db.saved_entity(layout, "sensor.oven_power", points, unit="W")
    dryer = ha_db.saved_entity(layout, "sensor.dryer_power", points[::3], unit="W")
    start, end = T0, T0 + 9 * DAY
    expected = {e.entity_id: reference(e, start, end) for e in (oven, dryer)}
    raw_total = sum(count_samples(e, start, end) for e in (oven, dryer))
    windows = []
    delete_day = tier_reads.delete_day

    def recorded(targets, first, last, *args, **kwargs):
        chunks = TierChunk.objects.filter(tier="hourly", day__gte=first.date(), day__lt=last.date())
        windows.append((first, last, set(chunks.values_list("state", flat=True))))
        return delete_day(targets, first, last, *args, **kwargs)

    monkeypatch.setattr(tier_reads, "delete_day", recorded)
    run = hourly(D0, D0 + 9 * DAY)

    assert windows == [(T0, T0 + 7 * DAY, {"verified"}), (T0 + 7 * DAY, end, {"verified"})]
    assert run.records_processed == raw_total == run.records_deleted == 9 * 144 + 3 * 144
    assert_one_shot([oven, dryer], expected, start, end)
    states = list(TierChunk.objects.filter(tier="hourly").values_list("state", flat=True))
    assert states == ["deleted"] * 9


def test_daily_deletes_a_week_of_hourly_rows_at_a_time(ha_db, layout, monkeypatch):
    """Warm -> cold holds verified days too: nine days' hourly rows go in two statements
    (days 1-7, 8-9), which take the daily rows at midnight with them; those are written again
    from the chunks and equal the time-weighted day of the raw series."""
    from retention.tiers import reads as tier_reads

    fan = ha_db.saved_entity(
        layout, "sensor.fan_power", [(1800 * n, float(n % 9)) for n in range(9 * 48)], unit="W"
    )
    hourly(D0, D0 + 9 * DAY)
    hours = rows(fan.entity_id)
    windows = []
    delete_tagged = tier_reads.delete_tagged

    def recorded(database, first, last, *args, **kwargs):
        windows.append((first, last))
        return delete_tagged(database, first, last, *args, **kwargs)

    monkeypatch.setattr(tier_reads, "delete_tagged", recorded)
    run = daily(D0, D0 + 9 * DAY)

    assert windows == [(T0, T0 + 7 * DAY), (T0 + 7 * DAY, T0 + 9 * DAY)]
    assert run.records_processed == len(hours) == run.records_deleted == 9 * 24
    days = rows(fan.entity_id, DAILY_RP)
    assert [row.start for row in days] == [T0 + n * DAY for n in range(9)]
    for k, row in enumerate(days):
        assert row.points == 48
        assert close(row.fields["avg_value"], sum(n % 9 for n in range(48 * k, 48 * k + 48)) / 48)
        assert close(
            row.energy, sum(h.energy for h in hours if T0 + k * DAY <= h.start < T0 + (k + 1) * DAY)
        )
    assert rows(fan.entity_id) == []
    states = list(TierChunk.objects.filter(tier="daily").values_list("state", flat=True))
    assert states == ["deleted"] * 9


def test_point_arriving_in_a_held_day_is_aggregated_not_deleted(ha_db, layout, monkeypatch, caplog):
    """A raw point written into a verified day still waiting for its delete is counted just
    before the delete: nothing is deleted unseen, each held day is taken again on its own, and
    the point is in its hour as if it had been there from the start."""
    from retention.tiers.pending import PendingDeletes

    points = [(600 * n, 100.0 + n % 7) for n in range(3 * 144)]
    late = (5 * 3600 + 1830, 2000.0)  # between two points of the series
    entity = ha_db.saved_entity(layout, "sensor.pump_power", points, unit="W")
    twin = ha_db.write_entity(layout, "sensor.twin_power", [*points, late], unit="W")  # untiered
    start, end = T0, T0 + 3 * DAY
    expected = {entity.entity_id: reference(twin, start, end)}
    flush, arrived = PendingDeletes.flush, []

    def point_arrives_first(self, lock):
        if self.days and not arrived:
            arrived.append([item.day for item in self.days])
            ha_db.write_entity(layout, "sensor.pump_power", [late], unit="W")
        return flush(self, lock)

    monkeypatch.setattr(PendingDeletes, "flush", point_arrives_first)
    with caplog.at_level(logging.WARNING, logger="retention.tiers.pending"):
        run = hourly(D0, D0 + 3 * DAY)

    assert arrived == [[D0, D0 + DAY, D0 + 2 * DAY]]  # all three held, nothing deleted yet
    assert "changed after they were verified (sensor.pump_power): taking each day again" in (
        caplog.text
    )
    assert_one_shot([entity], expected, start, end)
    assert by_hour(entity.entity_id)[T0 + 5 * HOUR]["max_value"] == 2000
    assert run.records_deleted == 3 * 144 + 1 and run.details["late_points"] == 0
    # The day taken again counts each point and each hourly row once in the run's record.
    assert run.records_processed == 3 * 144 + 1
    assert run.details["rows_written"] == 3 * 24
    states = list(TierChunk.objects.filter(tier="hourly").values_list("state", flat=True))
    assert states == ["deleted"] * 3


# --- verified chunks resume per entity ---------------------------------------------------------


def test_verified_day_with_an_entity_already_deleted_resumes(ha_db, layout):
    a = ha_db.saved_entity(layout, "sensor.a_power", [(0, 1), (60, 2)], unit="W")
    b = ha_db.saved_entity(layout, "sensor.b_power", [(0, 3), (60, 4)], unit="W")
    hourly(D0, D0 + DAY)
    expected_a, expected_b = by_hour(a.entity_id), by_hour(b.entity_id)
    # Put the state back to "verified" with b's raw points back, as after a kill mid-delete.
    TierChunk.objects.filter(tier="hourly", day=D0).update(state="verified")
    ha_db.write_entity(layout, "sensor.b_power", [(0, 3), (60, 4)], unit="W")
    run = hourly(D0, D0 + DAY)
    assert run.records_deleted == 2
    assert by_hour(a.entity_id) == expected_a and by_hour(b.entity_id) == expected_b
    assert count_samples(b, T0, T0 + DAY) == 0


# --- lock ---------------------------------------------------------------------------------------


def test_second_run_is_skipped_while_the_lock_is_held(ha_db):
    entity = ha_db.saved_entity("official", "sensor.x_power", [(0, 1)], unit="W")
    holder = RunLock(RetentionRun.Operation.DOWNSAMPLE_HOURLY, owner="run 999")
    assert holder.acquire()
    try:
        run = tiers.downsample_hourly(D0, D0 + DAY)
    finally:
        holder.release()
    assert run.status == "skipped"
    assert run.details["reason"].startswith(
        "the lock of the raw -> hourly runs is held by run 999 since "
    )
    assert count_samples(entity, T0, T0 + DAY) == 1  # nothing touched
    assert not TierChunk.objects.exists()
    assert hourly(D0, D0 + DAY).status == "ok"  # free again


def test_lock_is_released_and_renewed_only_by_its_owner(settings):
    first = RunLock("test-lock", owner="first", ttl_seconds=30)
    second = RunLock("test-lock", owner="second", ttl_seconds=30)
    assert first.acquire() and not second.acquire()
    assert second.holder().startswith("first since ")
    assert not second.release() and not second.renew()
    assert first.renew() and first.release()
    assert second.acquire() and second.release()


# --- safety: retention policies -------------------------------------------------------------


def test_refuses_when_the_raw_policy_would_drop_data_first(ha_db):
    entity = ha_db.saved_entity("official", "sensor.y_power", [(0, 1)], unit="W")
    get_timeseries().execute(
        None, f"ALTER RETENTION POLICY autogen ON {quote_ident(ha_db.name)} DURATION 168h"
    )
    problems = safety.check_retention_policies()
    assert len(problems) == 1
    assert "'autogen'" in problems[0] and "7d" in problems[0] and "DURATION INF" in problems[0]
    run = tiers.downsample_hourly(D0, D0 + DAY)
    assert run.status == "failed" and run.errors.startswith("Refused to run: ")
    assert count_samples(entity, T0, T0 + DAY) == 1


def test_refuses_when_a_tier_policy_was_shortened(ha_db):
    safety.ensure_tiers()
    get_timeseries().execute(
        None,
        f"ALTER RETENTION POLICY enrich_hourly ON {quote_ident(ha_db.name)} DURATION 30d "
        "SHARD DURATION 1w",  # InfluxDB refuses a duration shorter than the tier's shard groups
    )
    [problem] = safety.check_retention_policies()
    assert "'enrich_hourly'" in problem and "RETENTION_HOURLY_DAYS=90" in problem


def problems_once_set(ha_db, policy: str, duration: str) -> list[str]:
    """What the check says once the tier's `policy` has `duration` (an ALTER's words)."""
    safety.ensure_tiers()
    db = quote_ident(ha_db.name)
    get_timeseries().execute(None, f"ALTER RETENTION POLICY {policy} ON {db} DURATION {duration}")
    return safety.check_retention_policies()


def test_refuses_an_hourly_policy_that_drops_rows_of_a_failed_daily_run(ha_db):
    """92 days passed as safe (more than 90 + 1): the nightly daily run failed two nights in
    a row (an hourly run folding late points, or the archive deleting, held its lock past its
    retries; or another error) composed the hours of a shard group's last day after InfluxDB
    had dropped them."""
    [problem] = problems_once_set(ha_db, "enrich_hourly", "92d SHARD DURATION 1w")
    assert problem.startswith(
        f"Retention policy 'enrich_hourly' of {ha_db.name!r} drops rows after 92d, before they "
        "are composed: they wait for the daily tier up to 7 days longer (its nightly run may "
        "fail, also when another run holds its lock past its retries) (RETENTION_HOURLY_DAYS=90)."
    )
    assert problem.endswith("or to at least 98d.")
    assert problems_once_set(ha_db, "enrich_hourly", "98d") == []


def test_refuses_a_daily_policy_that_drops_rows_still_waiting_for_the_archive(ha_db):
    """Daily rows wait in enrich_daily past RETENTION_DAILY_DAYS until the archive writes
    them: a year's rows once the year has closed, and only at a weekly run (which fails when
    a restore holds the archive's lock past its retries). 400 days passed as safe (more than 365 + 1), so a
    January's rows expired unarchived while they waited for December."""
    [problem] = problems_once_set(ha_db, "enrich_daily", "400d SHARD DURATION 1w")
    assert problem.startswith(
        f"Retention policy 'enrich_daily' of {ha_db.name!r} drops rows after 400d, before they "
        "are archived: they wait for the archive up to 484 days longer (a year's rows are "
        "written once the year has closed"
    )
    assert "RETENTION_DAILY_DAYS=365" in problem and problem.endswith("or to at least 850d.")
    assert tiers.downsample_daily(D0, D0 + DAY).errors.startswith("Refused to run: ")
    assert problems_once_set(ha_db, "enrich_daily", "850d") == []


def test_tiers_are_created_infinite_and_never_default(ha_db):
    safety.ensure_tiers()
    policies = {p.name: p for p in get_timeseries().retention_policies(ha_db.name)}
    assert policies["enrich_hourly"].seconds is None and not policies["enrich_hourly"].default
    assert policies["enrich_daily"].seconds is None and not policies["enrich_daily"].default
    assert policies["autogen"].default
    assert safety.check_retention_policies() == []


# --- dry run and run record -------------------------------------------------------------------


def test_dry_run_reports_and_changes_nothing(ha_db, layout):
    entity = ha_db.saved_entity(
        layout, "sensor.z_power", [(n * 60, n % 7) for n in range(100)], unit="W"
    )
    run = hourly(D0, D0 + DAY, dry_run=True)
    report = run.details
    assert report["raw_points"] == 100 and report["entities"] == [entity.entity_id]
    assert report["days"] == [{"day": str(D0), "raw_points": 100}]
    size = get_timeseries().sizes().get((ha_db.name, "autogen"), 0)
    assert report["source_bytes"] == size and report["source_points"] == 100
    if size:
        assert close(report["bytes_per_point"], size / 100)
        assert report["expected_freed_bytes"] == round(size / 100 * 100)
    assert count_samples(entity, T0, T0 + DAY) == 100
    assert not TierChunk.objects.exists()
    assert run.status == "dry_run"


def test_dry_run_counts_every_raw_point_of_a_sensor_with_numbers_and_text(ha_db):
    """Home Assistant writes a number as `value` alone and a text state as `state` alone; with
    no attribute on every point (`ignore_attributes: [friendly_name]`) no field is in all of
    them. The dry run took a measurement's largest field count for its points: 50 of these
    100, which doubled the bytes per point and the space it said a run gives back. It counts
    them as GET /retention/stats does (retention.stats.points)."""
    states = [(n * 60, float(n) if n % 2 else "idle") for n in range(100)]
    ha_db.saved_entity("official", "sensor.washer_program", states)
    report = hourly(D0, D0 + DAY, dry_run=True).details
    assert report["raw_points"] == report["would_delete_points"] == 100
    assert report["source_points"] == 100
    size = get_timeseries().sizes().get((ha_db.name, "autogen"), 0)
    if size:
        assert close(report["bytes_per_point"], size / 100)
        assert report["expected_freed_bytes"] == size


def test_dry_runs_on_a_fresh_install_say_what_the_first_run_does_and_create_nothing(ha_db, capsys):
    """HA's database holds raw states; the tiers' retention policies do not exist yet (the
    first real run creates them). Before, the daily dry run failed: "retention policy not
    found: enrich_hourly"."""
    entity = ha_db.saved_entity(
        "official", "sensor.f_power", [(n * 60, n % 7) for n in range(100)], unit="W"
    )
    creates = [f"{ha_db.name}/{HOURLY_RP}", f"{ha_db.name}/{DAILY_RP}"]
    call_command("downsample_daily", "--dry-run")
    out = capsys.readouterr().out
    assert "would aggregate 0 hourly rows of 0 days and delete 0 points" in out
    assert f"first it would create the retention policies {', '.join(creates)}" in out
    report = RetentionRun.objects.get(operation="downsample_daily", status="dry_run").details
    assert (report["creates_retention_policies"], report["days"]) == (creates, [])
    assert (report["hourly_rows"], report["would_delete_points"]) == (0, 0)
    report = hourly(D0, D0 + DAY, dry_run=True).details
    assert report["creates_retention_policies"] == creates
    assert report["days"] == [{"day": str(D0), "raw_points": 100}]
    # A dry run writes nothing: no retention policy, no chunk, every raw point still there.
    assert [p.name for p in get_timeseries().retention_policies(ha_db.name)] == ["autogen"]
    assert count_samples(entity, T0, T0 + DAY) == 100 and not TierChunk.objects.exists()
    # The first run creates them, as said; the next dry runs read them.
    hourly(D0, D0 + DAY)
    report = daily(D0, D0 + DAY, dry_run=True).details
    assert (report["creates_retention_policies"], report["hourly_rows"]) == ([], 24)


def test_a_daily_dry_run_before_the_tier_database_exists_creates_nothing(ha_db, settings):
    """TIER_DATABASE apart from HA's, not made yet: before, "database not found"."""
    settings.TIER_DATABASE = f"{ha_db.name}_tiers"
    report = daily(D0, D0 + DAY, dry_run=True).details
    assert report["creates_retention_policies"] == [
        f"{settings.TIER_DATABASE}/{HOURLY_RP}",
        f"{settings.TIER_DATABASE}/{DAILY_RP}",
    ]
    # No raw -> hourly run has done the day: it waits for one, not composed as a day of 0 rows.
    assert (report["days"], report["days_in_range"], report["waiting"]) == ([], 0, [waits(D0)])
    assert settings.TIER_DATABASE not in get_timeseries().databases()


def test_dry_runs_list_only_the_days_with_something_to_do(ha_db, capsys):
    """From the first raw state on, most days of a fresh install hold nothing of a tiered
    entity. Before, the report listed each of them ("2024-02-23: 0", ...): it lists the days
    with something to aggregate or delete, counts the others in one line, and its totals stay
    those of the whole range (the run's own)."""
    day_a, day_b, day_c = -10 * 86400, 0, 2 * 86400  # D0 - 10, D0, D0 + 2
    points = [(day_a + n * 600, 50.0) for n in range(6)] + [
        (day_b + n * 60, n % 7) for n in range(100)
    ]
    entity = ha_db.saved_entity(
        "official", "sensor.q_power", points + [(day_c + 60, 3.0)], unit="W"
    )
    untiered = ha_db.saved_entity(
        "official", "sensor.q_other_power", [(-40 * 86400, 1.0)], unit="W"
    )
    Entity.objects.filter(pk=untiered.pk).update(tiered=False)  # its day is no day of the run
    end = D0 + 3 * DAY
    dry = hourly(None, end, dry_run=True)
    report = dry.details
    assert report["days"] == [
        {"day": str(D0 - 10 * DAY), "raw_points": 6},
        {"day": str(D0), "raw_points": 100},
        {"day": str(D0 + 2 * DAY), "raw_points": 1},
    ]
    assert (report["days_in_range"], report["days_with_nothing"]) == (13, 10)
    assert (report["first_day"], report["last_day"]) == (str(D0 - 10 * DAY), str(D0 + 2 * DAY))
    # The totals are the whole range's, as before.
    assert report["raw_points"] == report["would_delete_points"] == dry.records_processed == 107
    assert (report["entities"], report["tiered_entities"]) == ([entity.entity_id], 1)
    assert report["hourly_rows_at_most"] == 24 * 13 * 1
    assert report["source_points"] == 108  # the untiered entity's point too
    if report["source_bytes"]:
        per_point = report["source_bytes"] / 108
        assert report["expected_freed_bytes"] == round(per_point * 107)
    assert "nothing_tiered" not in report
    line = (
        f"10 of the 13 days from {D0 - 10 * DAY} to {D0 + 2 * DAY} hold no raw point of a "
        "tiered entity (not listed): nothing to delete there; the run gives a value that holds "
        "through them their hours"
    )
    summary = tiers.summary(dry)
    assert "would aggregate 107 raw points of 3 days and delete 107 points" in summary
    assert line in summary
    call_command("downsample_hourly", "--end", str(end), "--dry-run")
    out = capsys.readouterr().out
    listed = [text.strip() for text in out.splitlines() if text.startswith("  ")]
    assert listed == [f"{D0 - 10 * DAY}: 6", f"{D0}: 100", f"{D0 + 2 * DAY}: 1"]
    assert out.count(line) == 1 and ": 0\n" not in out
    # The run does what the dry run said, over the same 13 days.
    run = hourly(None, end)
    assert (run.records_processed, run.records_deleted) == (107, 107)
    assert len(run.details["days"]) == report["days_in_range"]
    assert run.details["rows_written"] == report["hourly_rows_at_most"]  # 50 W holds

    # The daily dry run: the days before the first hourly row have nothing to compose.
    dry = daily(D0 - 15 * DAY, end, dry_run=True)
    report = dry.details
    listed = {day["day"]: day["hourly_rows"] for day in report["days"]}
    assert listed == {str(D0 - 10 * DAY + n * DAY): 24 for n in range(13)}
    assert (report["days_in_range"], report["days_with_nothing"]) == (18, 5)
    assert report["hourly_rows"] == sum(listed.values()) == len(rows(entity.entity_id))
    assert report["daily_rows_at_most"] == 1 * 18
    assert (
        f"5 of the 18 days from {D0 - 15 * DAY} to {D0 + 2 * DAY} hold no hourly row (not "
        "listed): nothing to compose or delete there" in tiers.summary(dry)
    )
    run = daily(D0 - 15 * DAY, end)
    assert (run.records_processed, run.records_deleted) == (report["hourly_rows"],) * 2


# What the dry run and the run say with no tiered entity, `again` worded for each.
NOTHING_TIERED = {
    False: "nothing is tiered yet: the entity registry is empty (discovery has not run). Run "
    '`manage.py discover_entities`, or wait for the daily "Discover Home Assistant '
    'entities" (admin -> Periodic tasks), then {again}',
    True: "nothing is tiered: none of the 1 registered entities is tiered; tick 'tiered' on "
    "those to downsample (admin -> Retention -> Entities), then {again}",
}


@pytest.mark.parametrize("registered", [False, True])
def test_dry_runs_with_no_tiered_entity_say_what_to_run(ha_db, capsys, registered):
    """Discovery never ran (or every entity is untiered): before, the dry runs reported 0
    points of 0 days and nothing else."""
    ha_db.write_entity("official", "sensor.n_power", [(n * 60, 5.0) for n in range(10)], unit="W")
    if registered:
        ha_db.saved_entity("official", "sensor.n_power", [(0, 5.0)], unit="W")
        Entity.objects.update(tiered=False)
    said = NOTHING_TIERED[registered].format(again="dry-run again")
    for run in (hourly(D0, D0 + DAY, dry_run=True), daily(D0, D0 + DAY, dry_run=True)):
        assert run.details["nothing_tiered"] == said
        assert run.details["days"] == [] and run.records_processed == 0
        assert run.details["waiting"] == (
            [waits(D0)] if run.operation == "downsample_daily" else []
        )
        assert said in tiers.summary(run)
    call_command("downsample_hourly", "--end", str(D0 + DAY), "--dry-run")
    assert said in capsys.readouterr().out


def test_run_records_storage_and_logs_one_summary(ha_db, caplog):
    ha_db.saved_entity("official", "sensor.s_power", [(n, n) for n in range(0, 3600, 10)], unit="W")
    with caplog.at_level(logging.INFO, logger="retention.tiers.runner"):
        run = hourly(D0, D0 + DAY)
    assert run.storage_before_bytes is not None and run.storage_after_bytes is not None
    assert run.storage_freed_mb == round(
        (run.storage_before_bytes - run.storage_after_bytes) / 1e6, 3
    )
    assert "reduction_percent" in run.details and run.duration_seconds > 0
    [line] = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("raw -> hourly run")
    ]
    assert "360 raw points" in line and "360 deleted" in line and "storage" in line
    assert line == (  # no note: nothing left out
        f"raw -> hourly run {run.pk}: ok; 1 day, 1 entity, 360 raw points -> 24 hourly "
        f"rows, 360 deleted; {storage(run)}; {run.duration_seconds:.1f} s"
    )


def test_a_run_with_no_day_due_says_when_the_next_one_is(ha_db, settings):
    """The night after a run by hand, the scheduled run said "ok; 0 days, 0 entities, 0 raw
    points -> 0 hourly rows, 0 deleted" and nothing of why."""
    settings.RETENTION_RAW_DAYS, settings.RETENTION_LATE_MARGIN_HOURS = 7, 2
    ha_db.saved_entity("official", "sensor.n_power", [(n, n) for n in range(0, 3600, 60)], unit="W")
    now = T0 + 9 * DAY + timedelta(hours=3)  # the horizon: 2024-03-06
    assert hourly(None, None, now=now).details["days"] == [str(D0), str(D0 + DAY)]
    again = hourly(None, None, now=now)
    assert again.details["days"] == [] and again.records_processed == 0
    assert tiers.summary(again) == (
        f"raw -> hourly run {again.pk}: ok; 0 days, 0 entities, 0 raw points -> 0 hourly rows, "
        f"0 deleted; {storage(again)}; no day was due: every day before 2024-03-06 is done (or "
        "holds nothing tiered); 2024-03-06 comes due at 2024-03-14 02:00 UTC (raw points are "
        f"kept 7 days, and 2 h for late points); {again.duration_seconds:.1f} s"
    )
    assert again.details["note"] == (  # what GET /retention/runs/<run_id> and the admin show
        "no day was due: every day before 2024-03-06 is done (or holds nothing tiered); "
        "2024-03-06 comes due at 2024-03-14 02:00 UTC (raw points are kept 7 days, and 2 h for "
        "late points)"
    )
    settings.RETENTION_HOURLY_DAYS = 90
    composed = daily(None, None, now=now)  # no hourly row is 90 days old
    assert "; no day was due: every day before 2023-12-14 is done (or holds nothing tiered); " in (
        tiers.summary(composed)
    ), tiers.summary(composed)
    assert "comes due at 2024-03-14 02:00 UTC (hourly rows are kept 90 days, and 2 h for " in (
        tiers.summary(composed)
    )
    # A range given (a command's --start/--end): no word of the horizon.
    assert "no day was due" not in tiers.summary(hourly(D0, D0 + DAY, now=now))


def test_a_dry_run_with_no_day_due_says_when_the_next_one_is(ha_db, settings):
    """The dry run a user tries first said "would aggregate 0 raw points of 0 days and delete
    0 points" and nothing of why, where the run it previews says which days are done and when
    the next comes due."""
    settings.RETENTION_RAW_DAYS, settings.RETENTION_LATE_MARGIN_HOURS = 7, 2
    ha_db.saved_entity("official", "sensor.n_power", [(n, n) for n in range(0, 3600, 60)], unit="W")
    now = T0 + 9 * DAY + timedelta(hours=3)  # the horizon: 2024-03-06
    hourly(None, None, now=now)
    dry = hourly(None, None, now=now, dry_run=True)
    due = (
        "no day was due: every day before 2024-03-06 is done (or holds nothing tiered); "
        "2024-03-06 comes due at 2024-03-14 02:00 UTC (raw points are kept 7 days, and 2 h for "
        "late points)"
    )
    assert dry.details["nothing_due"] == due
    assert tiers.summary(dry) == (
        f"raw -> hourly run {dry.pk}: dry run; would aggregate 0 raw points of 0 days and "
        f"delete 0 points; {due}; {dry.duration_seconds:.1f} s"
    )
    settings.RETENTION_HOURLY_DAYS = 90
    composed = daily(None, None, now=now, dry_run=True)  # no hourly row is 90 days old
    assert "; no day was due: every day before 2023-12-14 is done (or holds nothing tiered); " in (
        tiers.summary(composed)
    ), tiers.summary(composed)
    # A range given, its day done: said as the range's (test_a_run_of_days_asked_...).
    assert hourly(D0, D0 + DAY, now=now, dry_run=True).details["nothing_due"] == (
        "no day asked (2024-03-04) was due: each is done already (a run does a day once)"
    )
    later = hourly(None, None, now=now + DAY, dry_run=True)  # 2024-03-06 is due then
    assert later.details["days_in_range"] == 1 and "nothing_due" not in later.details


def test_a_run_of_days_asked_that_are_done_says_so(ha_db, settings, capsys):
    """downsample_hourly --start/--end over days a run did already said "ok; 0 days, 0
    entities, ..." (and its dry run "0 raw points of 0 days") and nothing of why."""
    settings.RETENTION_RAW_DAYS, settings.RETENTION_LATE_MARGIN_HOURS = 7, 2
    ha_db.saved_entity("official", "sensor.n_power", [(n, n) for n in range(0, 3600, 60)], unit="W")
    now = T0 + 9 * DAY + timedelta(hours=3)  # the horizon: 2024-03-06
    assert hourly(None, None, now=now).details["days"] == [str(D0), str(D0 + DAY)]
    done = (
        "no day asked (2024-03-04 to 2024-03-05) was due: each is done already (a run does a "
        "day once)"
    )
    again = hourly(D0, D0 + 2 * DAY, now=now)
    assert (again.details["days"], again.details["note"]) == ([], done)
    assert tiers.summary(again).endswith(f"; {done}; {again.duration_seconds:.1f} s")
    assert hourly(D0, D0 + 2 * DAY, now=now, dry_run=True).details["nothing_due"] == done
    # Past the horizon: the days before it are done, the rest not due yet.
    assert hourly(D0 + DAY, D0 + 8 * DAY, now=now).details["note"] == (
        "no day asked (2024-03-05 to 2024-03-11) was due: each before 2024-03-06 is done already "
        "(a run does a day once), and 2024-03-06 comes due at 2024-03-14 02:00 UTC (raw points "
        "are kept 7 days, and 2 h for late points)"
    )
    call_command("downsample_hourly", "--start", "2024-03-04", "--end", "2024-03-06")
    assert f"; {done}; " in capsys.readouterr().out
    assert hourly(D0 + 7 * DAY, None, now=now).details["note"] == (
        "no day asked (2024-03-11) was due yet: 2024-03-06 comes due at 2024-03-14 02:00 UTC "
        "(raw points are kept 7 days, and 2 h for late points)"
    )


def test_commands_take_the_same_options(ha_db, capsys):
    entity = ha_db.saved_entity("official", "sensor.c_power", [(0, 5)], unit="W")
    call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY), "--dry-run")
    out = capsys.readouterr().out
    assert "would aggregate 1 raw point of 1 day and delete 1 point" in out and f"{D0}: 1" in out
    assert "\r" not in out  # no progress bar when stdout is not a terminal
    assert count_samples(entity, T0, T0 + DAY) == 1
    call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY))
    assert count_samples(entity, T0, T0 + DAY) == 0
    call_command("downsample_daily", "--start", str(D0), "--end", str(D0 + DAY))
    assert len(rows(entity.entity_id, DAILY_RP)) == 1
    with pytest.raises(CommandError, match="--end: .*only raw data older than 7 days"):
        call_command("downsample_hourly", "--end", str(datetime.now(UTC).date()))
    with pytest.raises(
        CommandError, match="--start: 'yesterday' is not valid: expected a date as YYYY-MM-DD"
    ):
        call_command("downsample_daily", "--start", "yesterday")


def test_check_range_rules(settings):
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    op = RetentionRun.Operation.DOWNSAMPLE_HOURLY
    assert safety.check_range(op, "2026-06-01", "2026-06-03", now) == (
        date(2026, 6, 1),
        date(2026, 6, 3),
    )
    assert safety.hourly_horizon(now) == date(2026, 6, 3)
    with pytest.raises(RangeError, match="end 2026-06-04 is too recent") as error:
        safety.check_range(op, None, "2026-06-04", now)
    assert error.value.parameter == "end"
    with pytest.raises(RangeError, match="must be after start") as error:
        safety.check_range(op, "2026-06-02", "2026-06-02", now)
    daily_op = RetentionRun.Operation.DOWNSAMPLE_DAILY
    with pytest.raises(RangeError, match="only hourly data older than 90 days"):
        safety.check_range(daily_op, "2026-05-01", None, now)


@pytest.mark.parametrize("registered", [False, True])
def test_without_tiered_entities_the_run_says_what_to_do(ha_db, registered):
    """In the words of the dry run (it said neither the daily discovery nor the 'tiered'
    tick before), "run again" for "dry-run again"."""
    write = ha_db.saved_entity if registered else ha_db.write_entity
    entity = write("official", "sensor.unregistered_power", [(0, 5)], unit="W")
    Entity.objects.update(tiered=False)
    run = hourly(D0, D0 + DAY)
    assert run.details["waiting"] == [NOTHING_TIERED[registered].format(again="run again")]
    assert (run.records_processed, run.records_deleted) == (0, 0)
    assert not TierChunk.objects.exists() and count_samples(entity, T0, T0 + DAY) == 1


@pytest.mark.parametrize("registered", [False, True])
def test_a_run_without_tiered_entities_prints_what_to_do(ha_db, capsys, caplog, registered):
    """The command printed "ok; 0 day(s), 0 entities, ..." and nothing about why: the note was
    only in the run's details and a warning of its own in the log."""
    write = ha_db.saved_entity if registered else ha_db.write_entity
    write("official", "sensor.unregistered_power", [(0, 5)], unit="W")
    Entity.objects.update(tiered=False)
    with caplog.at_level(logging.INFO, logger="retention.tiers.runner"):
        call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY))
    run = RetentionRun.objects.get()
    said = (
        f"raw -> hourly run {run.pk}: ok; 0 days, 0 entities, 0 raw points -> 0 hourly "
        f"rows, 0 deleted; {storage(run)}; "
        + NOTHING_TIERED[registered].format(again="run again")
        + f"; {run.duration_seconds:.1f} s"
    )
    assert capsys.readouterr().out == said + "\n"
    assert said in [r.getMessage() for r in caplog.records]  # the line logged at its end
    assert tiers.summary(run) == said  # the task's result


@pytest.mark.parametrize("registered", [False, True])
def test_the_daily_dry_run_with_hourly_rows_left_composes_them(ha_db, capsys, registered):
    """Entities tiered earlier, none now (untiered, or gone from the registry): the daily run
    composes their hourly rows, but its dry run said "nothing is tiered" all the same."""
    entity = ha_db.saved_entity("official", "sensor.earlier_power", [(0, 5)], unit="W")
    hourly(D0, D0 + DAY)
    if registered:
        Entity.objects.update(tiered=False)
    else:
        Entity.objects.all().delete()
    call_command("downsample_daily", "--start", str(D0), "--end", str(D0 + DAY), "--dry-run")
    dry = RetentionRun.objects.get(status="dry_run")
    assert "nothing_tiered" not in dry.details and dry.details["waiting"] == []
    assert dry.details["hourly_rows"] == dry.details["would_delete_points"] == 24
    freed = dry.details["expected_freed_bytes"]
    assert freed == round(24 * dry.details["bytes_per_point"])
    assert capsys.readouterr().out == (
        # The admin's words: it said "downsample_daily run 7: dry_run".
        f"hourly -> daily run {dry.pk}: dry run; would aggregate 24 hourly rows of 1 day "
        f"and delete 24 points, about {freed / 1e6:.2f} MB back; {dry.duration_seconds:.1f} s\n"
        f"  {D0}: 24\n"
        f"measured {dry.details['bytes_per_point']:.1f} bytes per point in "
        f"{ha_db.name}/{HOURLY_RP}\n"
        f"expected back: {freed / 1e6:.2f} MB\n"
    )
    run = daily(D0, D0 + DAY)  # as the dry run said
    assert (run.records_processed, run.records_deleted, run.details["waiting"]) == (24, 24, [])
    assert len(rows(entity.entity_id, DAILY_RP)) == 1 and rows(entity.entity_id) == []
