"""Sparse entities keep their states (retention.tiers.density): the hourly tier never holds more rows
than the raw states they replace, the daily tier composes kept days from raw, and every read
across raw + hourly + daily equals the aggregate of the raw data (time-weighted means, energy
with a meter reset), against real InfluxDB."""

import math
import uuid
from datetime import timedelta

import pytest

from retention.entities.ha_source import count_samples, read_samples
from retention.models import Entity, TierChunk
from retention.rollups.inputs import RawPart, TierPart, entity_parts
from retention.tiers import density
from retention.tiers import runner as tiers
from retention.tiers.aggregate import compose
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import day_windows
from tests.retention.conftest import T0

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D0 = T0.date()
DAYS = 5  # A kept, B busy, C kept, D busy, E kept (busy: more states than hourly rows)
BUSY = (1, 3)


@pytest.fixture(autouse=True)
def own_redis_prefix(settings):
    settings.REDIS_KEY_PREFIX = f"test-density-{uuid.uuid4().hex[:8]}"


def power_points() -> list[tuple[int, float]]:
    points = []
    for day in range(DAYS):
        base = day * 86400
        if day in BUSY:  # 40 changes: more states than the 24 hourly rows
            points += [(base + 600 + n * 2000, float(100 + 7 * n % 300)) for n in range(40)]
        else:  # three changes a day
            points += [(base + 3 * 3600, 120.0), (base + 9 * 3600 + 17, 0.0),
                       (base + 20 * 3600, 75.5)]  # fmt: skip
    return points


def meter_points() -> list[tuple[int, float]]:
    points, reading = [], 50.0
    for day in range(DAYS):
        base = day * 86400
        moments = range(900, 86400, 2000) if day in BUSY else (7200, 40000, 70000)
        for second in moments:
            reading += 0.4
            if day == 2 and second == 40000:
                reading = 0.3  # the meter restarts on a kept day
            points.append((base + second, round(reading, 3)))
    return points


def measured(entity: Entity) -> Entity:
    entity.save()
    density.measure([entity], now=T0 + DAYS * DAY, days=DAYS)
    entity.refresh_from_db()
    return entity


def reference(entity: Entity) -> list:
    """The aggregate of each day straight from the raw data, before any tiering."""
    samples = read_samples(entity, T0, T0 + DAYS * DAY)
    return aggregate_windows(entity.kind, samples, day_windows(T0, T0 + DAYS * DAY))


def read_across_tiers(entity: Entity) -> list:
    """Each day's aggregate from whatever holds it now (view_inputs: the cross-tier reader)."""
    days = []
    for part in entity_parts(entity, T0, T0 + DAYS * DAY):
        windows = day_windows(part.start, part.end)
        if isinstance(part, RawPart):
            days += aggregate_windows(entity.kind, part.samples, windows)
        else:
            assert isinstance(part, TierPart)
            for start, end in windows:
                inside = [r for r in part.rows if start <= r.window_start < end]
                days.append(compose(entity.kind, inside, start, end))
    return days


def same(want, got) -> None:
    expected, have = want.to_fields(), got.to_fields()
    assert expected.keys() == have.keys(), (expected, have)
    for name, value in expected.items():
        if isinstance(value, str):
            assert have[name] == value, name
        else:
            assert math.isclose(have[name], value, rel_tol=1e-9, abs_tol=1e-9), (name, have, value)


def rows_per_day(entity_id: str) -> dict:
    rows = read_rows(HOURLY_RP, T0, T0 + DAYS * DAY, entity_id).get(entity_id, [])
    per_day: dict = {}
    for row in rows:
        per_day[row.start.date()] = per_day.get(row.start.date(), 0) + 1
    return per_day


def test_quiet_days_keep_their_states_and_reads_stay_exact(ha_db, layout):
    power = measured(ha_db.write_entity(layout, "sensor.heater_power", power_points(), unit="W"))
    meter = measured(ha_db.write_entity(layout, "sensor.main_energy", meter_points(), unit="kWh"))
    assert power.states_per_day == pytest.approx((3 * 3 + 40 * 2) / DAYS)
    want = {e.entity_id: reference(e) for e in (power, meter)}
    raw_states = {
        (e.entity_id, D0 + n * DAY): count_samples(e, T0 + n * DAY, T0 + (n + 1) * DAY)
        for e in (power, meter)
        for n in range(DAYS)
    }

    run = tiers.downsample_hourly(D0, D0 + DAYS * DAY)
    assert run.status == "ok", run.errors
    for entity in (power, meter):
        per_day = rows_per_day(entity.entity_id)
        # Busy days get their 24 hourly rows; quiet days keep their states and get none.
        assert per_day == {D0 + n * DAY: 24 for n in BUSY}
        for day, rows in per_day.items():
            assert rows <= raw_states[(entity.entity_id, day)]
        for n in range(DAYS):
            left = count_samples(entity, T0 + n * DAY, T0 + (n + 1) * DAY)
            assert left == (0 if n in BUSY else raw_states[(entity.entity_id, D0 + n * DAY)])
    kept = dict(TierChunk.objects.filter(tier="hourly").values_list("day", "kept_raw"))
    assert kept == {
        D0 + n * DAY: ([] if n in BUSY else ["sensor.heater_power", "sensor.main_energy"])
        for n in range(DAYS)
    }
    for entity in (power, meter):
        for want_day, got_day in zip(
            want[entity.entity_id], read_across_tiers(entity), strict=True
        ):
            same(want_day, got_day)

    # The daily tier composes A (kept: from its raw states) and B (from its hourly rows).
    run = tiers.downsample_daily(D0, D0 + 2 * DAY)
    assert run.status == "ok", run.errors
    for entity in (power, meter):
        days = read_rows(DAILY_RP, T0, T0 + DAYS * DAY, entity.entity_id)[entity.entity_id]
        assert [row.start for row in days] == [T0, T0 + DAY]
        assert days[0].points == raw_states[(entity.entity_id, D0)]  # every state accounted for
        assert count_samples(entity, T0, T0 + DAY) == 0  # then deleted
        assert rows_per_day(entity.entity_id) == {D0 + 3 * DAY: 24}
    assert TierChunk.objects.get(tier="hourly", day=D0).kept_raw == []

    # A daily (from raw), B daily (from hourly), C raw, D hourly, E raw: each day as the raw.
    for entity in (power, meter):
        got = read_across_tiers(entity)
        for want_day, got_day in zip(want[entity.entity_id], got, strict=True):
            same(want_day, got_day)
    # The meter's reset on C (a kept day) is in the day's energy, as Home Assistant counts it.
    assert want["sensor.main_energy"][2].total_energy == pytest.approx(0.4 + 0.3 + 0.4)


def test_a_kept_day_after_a_busy_day_the_daily_tier_composed_holds_the_value_carried_in(
    ha_db, layout
):
    """Day C (kept raw) follows B (busy: hourly rows, its raw states deleted). Once the daily
    tier has composed B and deleted its hourly rows, only B's daily row knows the value in force
    at C's start: C's daily row, composed from its raw states, holds it from midnight (the
    heater's 75.5 W until 03:00) as the raw data did."""
    power = measured(ha_db.write_entity(layout, "sensor.heater_power", power_points(), unit="W"))
    meter = measured(ha_db.write_entity(layout, "sensor.main_energy", meter_points(), unit="kWh"))
    want = {e.entity_id: reference(e) for e in (power, meter)}
    assert tiers.downsample_hourly(D0, D0 + DAYS * DAY).status == "ok"

    hours = []
    for day in range(3):  # the nightly runs: A, then B, then C
        run = tiers.downsample_daily(D0 + day * DAY, D0 + (day + 1) * DAY)
        assert run.status == "ok", run.errors
        hours.append(run.records_processed)
    assert hours == [21 + 22, 2 * 24, 2 * 24]  # A from the first states (03:00, 02:00) on
    for entity in (power, meter):
        days = read_rows(DAILY_RP, T0, T0 + DAYS * DAY, entity.entity_id)[entity.entity_id]
        assert [row.start for row in days] == [T0, T0 + DAY, T0 + 2 * DAY]
        assert days[2].fields["coverage_seconds"] == 86400  # not from its first state on
        for want_day, got_day in zip(
            want[entity.entity_id], read_across_tiers(entity), strict=True
        ):
            same(want_day, got_day)


def test_late_points_of_a_kept_day_stay_raw(ha_db, layout):
    power = measured(ha_db.write_entity(layout, "sensor.lamp_power", power_points(), unit="W"))
    assert tiers.downsample_hourly(D0, D0 + DAYS * DAY).status == "ok"
    ha_db.write_entity(layout, "sensor.lamp_power", [(5 * 3600, 33.0)], unit="W")
    before = count_samples(power, T0, T0 + DAY)
    run = tiers.downsample_hourly(D0, D0 + DAYS * DAY)
    assert run.status == "ok" and run.details["late_points"] == 0
    assert count_samples(power, T0, T0 + DAY) == before == 4  # kept, not folded in
    assert rows_per_day(power.entity_id) == {D0 + n * DAY: 24 for n in BUSY}


def test_dense_or_unmeasured_entities_still_get_hourly_rows(ha_db, layout):
    minutes = [(60 * n, float(n % 50)) for n in range(2 * 1440)]  # a reading a minute
    dense = measured(ha_db.write_entity(layout, "sensor.fridge_power", minutes, unit="W"))
    quiet = ha_db.write_entity(layout, "sensor.tv_power", [(600, 90.0), (7200, 0.0)], unit="W")
    quiet.save()  # not measured: rows as always
    assert dense.states_per_day == pytest.approx(2 * 1440 / DAYS)
    assert tiers.downsample_hourly(D0, D0 + 2 * DAY).status == "ok"
    assert rows_per_day(dense.entity_id) == {D0: 24, D0 + DAY: 24}
    assert rows_per_day(quiet.entity_id) == {D0: 24, D0 + DAY: 24}
    assert count_samples(dense, T0, T0 + 2 * DAY) == count_samples(quiet, T0, T0 + 2 * DAY) == 0


def test_discovery_measures_states_per_day(ha_db, layout):
    import io
    from datetime import UTC, datetime

    from django.core.management import call_command

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    door = [(midnight - 3 * DAY + n * HOUR, "on" if n % 2 else "off") for n in range(6)]
    ha_db.write_entity(layout, "binary_sensor.front_door", door)
    every = timedelta(minutes=36)  # 40 a day
    # Also over the day from this midnight on: a UTC midnight passing before discovery reads
    # its own clock moves the measured days one on, and they hold 40 a day all the same.
    power = [(midnight - (n + 1) * every, float(n)) for n in range(-40, 7 * 40)]
    ha_db.write_entity(layout, "sensor.oven_power", power, unit="W")
    out = io.StringIO()
    call_command("discover_entities", "--layout", layout, stdout=out)
    measured = dict(Entity.objects.values_list("entity_id", "states_per_day"))
    # Over the RETENTION_RAW_DAYS (7) whole days before today.
    assert measured == {
        "binary_sensor.front_door": pytest.approx(6 / 7, abs=1e-3),
        "sensor.oven_power": pytest.approx(40.0),
    }
    # It read "1 have fewer than 24".
    assert "States per day measured for 2 tiered entities; 1 has fewer than 24" in out.getvalue()


def test_dry_runs_count_what_the_runs_then_delete(ha_db, layout):
    """With a sparse entity the hourly tier keeps some days raw and the daily tier deletes
    them later: each dry run reports the points its run then deletes, and the space expected
    back from each source's measured bytes per point."""
    power = measured(ha_db.write_entity(layout, "sensor.heater_power", power_points(), unit="W"))
    dense = [(900 * n, float(n % 50)) for n in range(DAYS * 96)]  # every 15 min, 96 a day
    measured(ha_db.write_entity(layout, "sensor.fridge_power", dense, unit="W"))
    end = D0 + 2 * DAY  # A (heater kept), B (heater busy)

    dry = tiers.downsample_hourly(D0, end, dry_run=True)
    assert dry.status == "dry_run", dry.errors
    run = tiers.downsample_hourly(D0, end)
    assert run.status == "ok", run.errors
    report = dry.details
    # The heater's 3 states of day A stay raw; B's 40 and the fridge's 2 x 96 go.
    assert report["would_delete_points"] == run.records_deleted == 40 + 2 * 96
    assert dry.records_processed == run.records_processed == 40 + 2 * 96
    assert report["kept_raw_points"] == 3
    assert "and delete 232 points (3 raw states of sparse entities stay raw)" in tiers.summary(dry)
    assert report["days"] == [
        {"day": str(D0), "raw_points": 96, "kept_raw_points": 3},
        {"day": str(D0 + DAY), "raw_points": 40 + 96},
    ]
    assert count_samples(power, T0, T0 + DAY) == 3

    dry = tiers.downsample_daily(D0, end, dry_run=True)
    assert dry.status == "dry_run", dry.errors
    report = dry.details
    run = tiers.downsample_daily(D0, end)
    assert run.status == "ok", run.errors
    # The hourly rows (heater on B, fridge on A and B) and the heater's 3 raw states of A.
    assert report["would_delete_points"] == run.records_deleted == 3 * 24 + 3
    assert dry.records_processed == run.records_processed == 3 * 24 + 21  # A's heater: 03-24 h
    assert report["kept_raw_points"] == run.details["raw_points_deleted"] == 3
    assert "and delete 75 points (3 of them raw states kept by the hourly tier)" in tiers.summary(
        dry
    )
    # The space: each source's bytes per point (its size by InfluxDB / its points) times the
    # points deleted there.
    assert report["source_points"] == 3 * 24  # the hourly tier holds A and B
    kept = report["kept_raw"]
    assert kept["source"] == f"{ha_db.name}/autogen" and kept["points"] == 3
    expected = 0
    for source, deleted in ((report, 3 * 24), (kept, 3)):
        if source["source_points"] and source["source_bytes"]:
            per_point = source["source_bytes"] / source["source_points"]
            assert source["bytes_per_point"] == pytest.approx(per_point)
            expected += round(per_point * deleted)
    assert report["expected_freed_bytes"] == (expected or None)


def test_days_without_states_of_a_measured_entity_get_days_not_hours(ha_db):
    """A measured entity keeps its raw states on a day with no more of them than hourly rows:
    a day without any gets no hourly row. The dry run said "the run gives them the hours of
    values that hold"; the value that holds reaches those days through the daily tier."""
    points = [(3 * 3600, 120.0), (20 * 3600, 75.5)]  # day A only; B and C hold 75.5 W
    heater = measured(ha_db.write_entity("official", "sensor.heater_power", points, unit="W"))
    dry = tiers.downsample_hourly(D0, D0 + 3 * DAY, dry_run=True)
    assert dry.details["days_with_nothing"] == 2
    assert (
        "nothing to delete there; the run gives a value that holds through them their hours "
        "(an entity whose states per day are measured keeps its raw states there, none: the "
        "daily tier gives it the days)" in tiers.summary(dry)
    )
    assert tiers.downsample_hourly(D0, D0 + 3 * DAY).status == "ok"
    assert rows_per_day(heater.entity_id) == {}  # day A too: 2 states, fewer than its rows
    assert tiers.downsample_daily(D0, D0 + 3 * DAY).status == "ok"
    days = read_rows(DAILY_RP, T0, T0 + 3 * DAY, heater.entity_id)[heater.entity_id]
    assert [row.start for row in days] == [T0, T0 + DAY, T0 + 2 * DAY]
    for row in days[1:]:
        assert (row.fields["avg_value"], row.fields["coverage_seconds"]) == (75.5, 86400)
