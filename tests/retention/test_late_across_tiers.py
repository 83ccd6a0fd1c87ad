"""Late points that reach a day after every tier is done with it: raw -> hourly -> daily ->
archived and deleted from InfluxDB. The real tiers and archive run against the real InfluxDB
and a local archive directory; every point must still count in what the archive holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from retention import faults
from retention.archive import format as fmt
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples, read_samples
from retention.models import ArchiveObject, Entity, TierChunk
from retention.tiers import runner as tiers
from retention.tiers.aggregate import compose
from retention.tiers.layout import DAILY_RP, expand
from retention.tiers.rows import HOURLY_RP, LATE_TIMES, differences, read_rows
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import hour_windows
from tests.retention.conftest import T0, HaDatabase, at

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D = date(2022, 3, 1)
D0 = T0.date()
T = datetime(2022, 3, 1, tzinfo=UTC)
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # archive cutoff 2024-03-15: 2022 has closed


def _ok(run):
    assert run.status == "ok", (run.status, run.errors)
    return run


def rows_of(entity_id: str) -> list:
    return read_rows(HOURLY_RP, T0 - DAY, T0 + 3 * DAY, entity_id).get(entity_id, [])


def _archived(entity_id: str) -> dict:
    """The entity's archived row of D with the fields a reader derives put back."""
    [row] = [r for r in fmt.table_rows(restore_from_archive(D, D)) if r["entity_id"] == entity_id]
    return expand(DAILY_RP, row, row["kind"])


def test_late_point_of_an_archived_day_is_added_to_its_archived_row(
    tier, local_archive, settings, caplog
):
    """A point that arrives for a day whose daily row is already archived (and deleted from
    InfluxDB) adds to that row: the archive keeps the day's mean and energy and counts the
    point, instead of replacing the day by a row holding only the late point."""
    ha = HaDatabase(tier.database)
    entity = ha.saved_entity(
        "official", "sensor.boiler_power", [(T, 100), (T + 6 * HOUR, 300)], unit="W"
    )
    _ok(tiers.downsample_hourly(D, D + DAY))
    _ok(tiers.downsample_daily(D, D + DAY))
    assert run_archive(NOW).errors == []
    before = _archived(entity.entity_id)
    assert before["sample_count"] == 2
    assert before["avg_value"] == pytest.approx((100 * 6 + 300 * 18) / 24)
    assert before["total_energy"] == pytest.approx((100 * 6 + 300 * 18) / 1000)  # kWh

    # An ESP device with a wrong clock (or a replayed buffer) writes a point into that day.
    ha.write_entity("official", "sensor.boiler_power", [(T + 12 * HOUR, 5)], unit="W")
    # Without the archive at hand its row cannot be read: the point waits, nothing is lost.
    settings.ARCHIVE_LOCAL_DIR = ""
    run = _ok(tiers.downsample_hourly(D, D + DAY))
    assert run.details["late_points"] == 0 and count_samples(entity, T, T + DAY) == 1
    assert run.details["waiting"][0].startswith(  # in words: it said "1 late point(s) ... wait"
        "sensor.boiler_power: 1 late point of 2022-03-01 kept raw: the day is archived and its "
        "row could not be read from the archive ("
    ), run.details["waiting"]
    assert tier.rows() == []
    settings.ARCHIVE_LOCAL_DIR = local_archive
    caplog.set_level("WARNING", logger="retention")
    run = _ok(tiers.downsample_hourly(D, D + DAY))
    assert run.details["late_points"] == 1
    assert (
        f"sensor.boiler_power: 1 late point of 2022-03-01 folded into the {DAILY_RP} rows "
        "(counts, min/max; see the README), 1 raw point deleted"
    ) in caplog.messages
    assert count_samples(entity, T, T + DAY) == 0  # the raw point was deleted ...

    [obj] = ArchiveObject.objects.all()
    uploaded = get_storage().head(obj.key).last_modified
    report = run_archive(uploaded + timedelta(days=91))  # the object may be rewritten now
    assert report.errors == []
    after = _archived(entity.entity_id)
    # ... so the archive must count it, and keep what the whole day gave.
    assert after["sample_count"] == before["sample_count"] + 1
    assert after["min_value"] == 5 and after["max_value"] == 300
    for name in ("avg_value", "coverage_seconds", "last_value", "total_energy"):
        assert after[name] == before[name], name
    assert ArchiveObject.objects.get(key=obj.key).record_count == 1
    assert tier.rows() == []


class Killed(BaseException):
    """The process dies here (as Celery's hard time limit or the OOM killer would)."""


def hourly_run_dies_at(monkeypatch, fault: str, start: date, end: date, run=None) -> None:
    """An hourly run of [start, end) that dies at `fault`, e.g. `hourly:late_after_write`:
    after writing the rows of the raw points found in deleted days, before deleting them
    (`run`: another tier's run, e.g. tiers.downsample_daily at `daily:after_write`)."""
    real = faults.point

    def dies(name: str) -> None:
        if name == fault:
            raise Killed(name)
        real(name)

    monkeypatch.setattr(faults, "point", dies)
    with pytest.raises(Killed):
        (run or tiers.downsample_hourly)(start, end)
    monkeypatch.setattr(faults, "point", real)


def test_late_point_of_a_day_the_daily_tier_has_not_finished_waits_and_says_so(ha_db, monkeypatch):
    """The daily tier died after writing a day's row, before deleting its hourly rows: a late
    point of that day stays raw, and the run's notes say so of one point in the singular (it
    said "1 late point(s) of ... wait for")."""
    entity = ha_db.saved_entity("official", "sensor.kettle_power", [(0, 10)], unit="W")
    _ok(tiers.downsample_hourly(D0, D0 + DAY))
    hourly_run_dies_at(monkeypatch, "daily:after_write", D0, D0 + DAY, tiers.downsample_daily)
    assert TierChunk.objects.get(tier="daily", day=D0).state == "written"
    ha_db.write_entity("official", "sensor.kettle_power", [(2 * 3600 + 5, 900)], unit="W")
    run = _ok(tiers.downsample_hourly(D0, D0 + DAY))
    assert run.details["late_points"] == 0 and count_samples(entity, T0, T0 + DAY) == 1
    assert run.details["waiting"] == [
        f"sensor.kettle_power: 1 late point of {D0} kept raw until the daily tier has "
        "finished that day"
    ]


def test_late_point_left_by_a_crash_counts_once_after_its_day_went_daily(ha_db, monkeypatch):
    """A run dies after folding a late point into its hourly row, before deleting it; the daily
    tier then composes that day. The next hourly run must see that the daily row already
    holds the point, not fold it in a second time."""
    entity = ha_db.saved_entity("official", "sensor.kettle_power", [(0, 10)], unit="W")
    day = T0.date()
    _ok(tiers.downsample_hourly(day, day + DAY))
    ha_db.write_entity("official", "sensor.kettle_power", [(2 * 3600 + 5, 900)], unit="W")
    hourly_run_dies_at(monkeypatch, "hourly:late_after_write", day, day + DAY)
    assert count_samples(entity, T0, T0 + DAY) == 1  # folded, not deleted yet

    _ok(tiers.downsample_daily(day, day + DAY))
    _ok(tiers.downsample_hourly(day, day + DAY))  # the rerun deletes it
    assert count_samples(entity, T0, T0 + DAY) == 0
    [row] = read_rows(DAILY_RP, T0, T0 + DAY, entity.entity_id)[entity.entity_id]
    assert row.points == 2  # the day's point and the late one, each once
    assert (row.fields["min_value"], row.fields["max_value"]) == (10, 900)


LATE = {  # points written into the day after its delete ran: fewer than, as many as and more
    # than the two its hourly rows account for
    "none": [],
    "fewer": [(5.5 * 3600, 2000)],
    "as_many": [(5.5 * 3600, 2000), (9 * 3600, 3)],
    "more": [(5.5 * 3600, 2000), (5.75 * 3600, 1500), (9 * 3600, 3)],
}


@pytest.mark.parametrize("layout", ["official", "ingestor"])
@pytest.mark.parametrize("late", LATE.values(), ids=LATE.keys())
def test_late_points_after_an_interrupted_delete_are_folded_in_once(
    ha_db, monkeypatch, layout, late
):
    """The run dies right after its delete statement removed the kettle's raw points of a
    verified day; points then written into that day are late points. The rerun must fold them
    into their hours, not delete them uncounted as leftovers of the delete, nor recompute the
    day from them alone (replacing the hours the deleted points gave)."""
    entity = ha_db.saved_entity(layout, "sensor.kettle_power", [(0, 10), (3600, 20)], unit="W")
    hourly_run_dies_at(monkeypatch, "hourly:mid_delete", D0, D0 + DAY)
    assert TierChunk.objects.get(tier="hourly", day=D0).state == "verified"
    assert count_samples(entity, T0, T0 + DAY) == 0
    verified = {row.start: row.fields for row in rows_of(entity.entity_id)}
    if late:
        ha_db.write_entity(layout, "sensor.kettle_power", late, unit="W")

    run = _ok(tiers.downsample_hourly(D0, D0 + DAY))
    assert run.details["late_points"] == len(late)
    assert count_samples(entity, T0, T0 + DAY) == 0
    assert TierChunk.objects.get(tier="hourly", day=D0).state == "deleted"
    got = {row.start: row.fields for row in rows_of(entity.entity_id)}
    assert got.keys() == verified.keys()
    for start, fields in verified.items():
        values = [value for t, value in late if start <= at(t) < start + HOUR]
        want = {**fields, "sample_count": fields["sample_count"] + len(values)}
        want["min_value"] = min([fields["min_value"], *values])
        want["max_value"] = max([fields["max_value"], *values])
        assert {k: v for k, v in got[start].items() if k != LATE_TIMES} == want, start
    assert sum(row.points for row in rows_of(entity.entity_id)) == 2 + len(late)
    assert got[T0 + 5 * HOUR]["max_value"] == (2000 if late else 20)


def test_after_an_interrupted_delete_only_the_entities_it_reached_take_points_as_late(
    ha_db, monkeypatch
):
    """The delete goes measurement by measurement (a look-alike series of the other unit) and
    the run dies after the first statement: the power sensor's raw points are gone, the
    meter's are all there. A point then written for each: the power sensor's is folded in as
    late, the meter's day is aggregated again from its complete raw points."""
    power = ha_db.saved_entity("official", "sensor.a_power", [(0, 10), (3600, 20)], unit="W")
    meter = ha_db.saved_entity("official", "sensor.b_energy", [(0, 1.0), (7200, 1.5)], unit="kWh")
    look_alike = ha_db.write_entity("official", "sensor.a_power", [(30, 5.0)], unit="kWh")
    hourly_run_dies_at(monkeypatch, "hourly:mid_delete", D0, D0 + DAY)
    assert [count_samples(e, T0, T0 + DAY) for e in (power, meter)] == [0, 2]
    ha_db.write_entity("official", "sensor.a_power", [(5.5 * 3600, 2000)], unit="W")
    ha_db.write_entity("official", "sensor.b_energy", [(10 * 3600, 1.7)], unit="kWh")
    raw = read_samples(meter, T0, T0 + DAY)
    want = [a for a in aggregate_windows("energy", raw, hour_windows(T0, T0 + DAY)) if a]

    run = _ok(tiers.downsample_hourly(D0, D0 + DAY))
    assert run.details["late_points"] == 1
    hour = {row.start: row.fields for row in rows_of(power.entity_id)}[T0 + 5 * HOUR]
    assert (hour["sample_count"], hour["max_value"]) == (1, 2000)
    got = {row.start: row for row in rows_of(meter.entity_id)}
    assert sorted(got) == [a.window_start for a in want]
    for aggregate in want:
        assert differences(aggregate.to_fields(), got[aggregate.window_start].fields) == []
    assert sum(row.points for row in got.values()) == 3
    assert [count_samples(e, T0, T0 + DAY) for e in (power, meter, look_alike)] == [0, 0, 1]


def untiered_heater(ha_db):
    """The fridge tiered, the heater unticked while its two days are downsampled; returns the
    heater and its hours as the hourly tier computes them from its raw states."""
    other = ha_db.saved_entity("official", "sensor.fridge_power", [(0, 80)], unit="W")
    points = [(0, 100), (6 * 3600, 300), (T0 + DAY + 12 * HOUR, 50)]
    heater = ha_db.saved_entity("official", "sensor.heater_power", points, unit="W")
    Entity.objects.filter(pk=heater.pk).update(tiered=False)
    _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY))  # the fridge's days only
    assert rows_of(other.entity_id) and rows_of(heater.entity_id) == []
    raw = list(read_samples(heater, T0, T0 + 2 * DAY))
    hours = [a for a in aggregate_windows("power", raw, hour_windows(T0, T0 + 2 * DAY)) if a]
    assert len(hours) == 48
    return heater, hours


ENERGY = (100 * 6 + 300 * 30 + 50 * 12) / 1000  # kWh of the heater's two days


def test_entity_tiered_again_gets_its_untiered_days_aggregated_not_folded(ha_db):
    """An entity unticked (its raw history kept) while the other entities' days were
    downsampled, then ticked again: its raw states of those days were never aggregated, so they
    must become its hourly rows exactly as the hourly tier computes them (mean, energy), not
    late points that keep only counts and min/max before the states are deleted."""
    heater, hours = untiered_heater(ha_db)
    Entity.objects.filter(pk=heater.pk).update(tiered=True)
    run = _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY))

    got = {row.start: row for row in rows_of(heater.entity_id)}
    assert sorted(got) == [a.window_start for a in hours]
    for aggregate in hours:
        assert differences(aggregate.to_fields(), got[aggregate.window_start].fields) == []
    assert sum(row.energy for row in got.values()) == pytest.approx(ENERGY)
    assert count_samples(heater, T0, T0 + 2 * DAY) == 0
    assert run.details["late_points"] == 0 and run.records_deleted == 3
    _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY))  # a rerun changes nothing
    assert {row.start: row.fields for row in rows_of(heater.entity_id)} == {
        start: row.fields for start, row in got.items()
    }


def test_entity_tiered_again_after_its_days_went_daily_gets_daily_rows(ha_db):
    heater, hours = untiered_heater(ha_db)
    _ok(tiers.downsample_daily(D0, D0 + 2 * DAY))  # the fridge's days are daily now
    Entity.objects.filter(pk=heater.pk).update(tiered=True)
    _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY))

    days = read_rows(DAILY_RP, T0, T0 + 2 * DAY, heater.entity_id)[heater.entity_id]
    assert [row.start for row in days] == [T0, T0 + DAY] and rows_of(heater.entity_id) == []
    for row in days:
        day_hours = [a for a in hours if row.start <= a.window_start < row.start + DAY]
        want = compose("power", day_hours, row.start, row.start + DAY).to_fields()
        assert differences(want, row.fields) == [], row.start
    assert [row.points for row in days] == [2, 1]
    assert sum(row.energy for row in days) == pytest.approx(ENERGY)
    assert count_samples(heater, T0, T0 + 2 * DAY) == 0


def test_entity_tiered_again_and_a_crash_before_the_delete_counts_each_state_once(
    ha_db, monkeypatch
):
    heater, hours = untiered_heater(ha_db)
    Entity.objects.filter(pk=heater.pk).update(tiered=True)
    hourly_run_dies_at(monkeypatch, "hourly:late_after_write", D0, D0 + 2 * DAY)
    assert count_samples(heater, T0, T0 + DAY) == 2  # the first day's rows written, not deleted
    run = _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY))
    got = rows_of(heater.entity_id)
    assert sum(row.points for row in got) == 3 and len(got) == 48
    assert sum(row.energy for row in got) == pytest.approx(ENERGY)
    assert run.details["late_points"] == 0
    assert count_samples(heater, T0, T0 + 2 * DAY) == 0


@pytest.mark.parametrize("daily_first", [False, True], ids=["hourly", "daily"])
def test_entity_tiered_again_gets_rows_for_the_days_its_value_holds(ha_db, daily_first):
    """A heater unticked for three days changed only on the first: 300 W held through the other
    two. Ticked again, only its first day was aggregated; the next two got no row at all, so
    their 14.4 kWh (and mean, coverage) were lost once the raw states were deleted."""
    ha_db.saved_entity("official", "sensor.fridge_power", [(0, 80)], unit="W")
    heater = ha_db.saved_entity(
        "official", "sensor.heater_power", [(0, 100), (6 * 3600, 300)], unit="W"
    )
    raw = list(read_samples(heater, T0, T0 + 3 * DAY))
    hours = aggregate_windows("power", raw, hour_windows(T0, T0 + 3 * DAY))
    Entity.objects.filter(pk=heater.pk).update(tiered=False)
    _ok(tiers.downsample_hourly(D0, D0 + 3 * DAY))
    if daily_first:
        _ok(tiers.downsample_daily(D0, D0 + 3 * DAY))
    Entity.objects.filter(pk=heater.pk).update(tiered=True)
    _ok(tiers.downsample_hourly(D0, D0 + 3 * DAY))

    rp = DAILY_RP if daily_first else HOURLY_RP
    width = DAY if daily_first else HOUR
    got = {r.start: r for r in read_rows(rp, T0, T0 + 3 * DAY, heater.entity_id)[heater.entity_id]}
    windows = [T0 + n * width for n in range(int(3 * DAY / width))]
    assert sorted(got) == windows
    for start in windows:
        parts = [a for a in hours if start <= a.window_start < start + width]
        want = compose("power", parts, start, start + width).to_fields()
        assert differences(want, got[start].fields) == [], start
    assert sum(row.energy for row in got.values()) == pytest.approx((100 * 6 + 300 * 66) / 1000)
    assert sum(row.points for row in got.values()) == 2
    assert count_samples(heater, T0, T0 + 3 * DAY) == 0
    rerun = _ok(tiers.downsample_hourly(D0, D0 + 3 * DAY))  # changes nothing
    assert (rerun.records_processed, rerun.records_deleted) == (0, 0)
    assert len(read_rows(rp, T0, T0 + 3 * DAY, heater.entity_id)[heater.entity_id]) == len(got)


def test_late_point_after_the_entity_changed_kind_is_folded_into_its_row(ha_db):
    """A washer program reported 3 and 4 (discovery: numeric), its day was downsampled, then it
    reported "eco" (discovery: text) and a late 5 arrived for the first day. The fold wrote a
    second row for its hour under the kind tag "text": the hourly run failed on it at every
    run, and the daily run failed for every entity ("cannot compose a text aggregate into a
    numeric window")."""
    ha_db.write_entity("official", "sensor.washer_program", [(0, 3), (3600, 4)])
    discover()
    _ok(tiers.downsample_hourly(D0, D0 + DAY))
    ha_db.write_entity("official", "sensor.washer_program", [(T0 + DAY + HOUR, "eco")])
    discover()
    entity = Entity.objects.get(entity_id="sensor.washer_program")
    assert entity.kind == "text"
    ha_db.write_entity("official", "sensor.washer_program", [(T0 + 5 * HOUR, 5)])  # late

    run = _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY))
    assert run.details["late_points"] == 1 and count_samples(entity, T0, T0 + 2 * DAY) == 0
    day = read_rows(HOURLY_RP, T0, T0 + DAY, entity.entity_id)[entity.entity_id]
    assert len(day) == 24 and {row.kind for row in day} == {"numeric"}
    late = [row for row in day if row.start == T0 + 5 * HOUR][0]
    assert (late.fields["sample_count"], late.fields["max_value"]) == (1, 5)
    _ok(tiers.downsample_daily(D0, D0 + 2 * DAY))
    [first, second] = read_rows(DAILY_RP, T0, T0 + 2 * DAY, entity.entity_id)[entity.entity_id]
    assert (first.kind, first.points, second.kind, second.points) == ("numeric", 3, "text", 1)


def test_entity_tiered_again_without_states_meanwhile_gets_rows_for_those_days(ha_db):
    """The heater held 100 W all along; it was unticked while three days were downsampled and
    wrote no state in them. Ticked again, the next day was carried in from its last row, but
    the three days in between never got a row: 7.2 kWh were missing from the tiers."""
    ha_db.saved_entity("official", "sensor.fridge_power", [(0, 80)], unit="W")
    heater = ha_db.saved_entity("official", "sensor.heater_power", [(0, 100)], unit="W")
    _ok(tiers.downsample_hourly(D0, D0 + DAY))
    Entity.objects.filter(pk=heater.pk).update(tiered=False)
    _ok(tiers.downsample_hourly(D0 + DAY, D0 + 4 * DAY))
    Entity.objects.filter(pk=heater.pk).update(tiered=True)
    _ok(tiers.downsample_hourly(D0 + 4 * DAY, D0 + 5 * DAY))

    got = read_rows(HOURLY_RP, T0, T0 + 5 * DAY, heater.entity_id)[heater.entity_id]
    assert [row.start for row in got] == [T0 + n * HOUR for n in range(5 * 24)]
    assert all(row.fields["avg_value"] == 100 for row in got)
    assert sum(row.energy for row in got) == pytest.approx(100 * 120 / 1000)
    assert sum(row.points for row in got) == 1
    _ok(tiers.downsample_daily(D0, D0 + 5 * DAY))
    days = read_rows(DAILY_RP, T0, T0 + 5 * DAY, heater.entity_id)[heater.entity_id]
    assert [row.energy for row in days] == pytest.approx([2.4] * 5)


def test_a_day_of_an_entity_tiered_only_later_is_aggregated_and_logged_in_words(ha_db, caplog):
    """The fan was not tiered when its day was downsampled (saved only later): its one raw
    point there is the whole record, aggregated into rows; the log counts it in the singular
    (it said "1 raw point(s)")."""
    ha_db.saved_entity("official", "sensor.kettle_power", [(0, 10)], unit="W")
    fan = ha_db.write_entity("official", "sensor.fan_power", [(1800, 60)], unit="W")
    _ok(tiers.downsample_hourly(D0, D0 + DAY))
    assert count_samples(fan, T0, T0 + DAY) == 1  # not tiered: left as it was
    fan.save()
    caplog.set_level("INFO", logger="retention.tiers.late")
    _ok(tiers.downsample_hourly(D0, D0 + DAY))
    assert count_samples(fan, T0, T0 + DAY) == 0
    assert (
        f"sensor.fan_power: 1 raw point of {D0} (not tiered when the day was downsampled) "
        f"aggregated into {HOURLY_RP} rows and deleted"
    ) in caplog.messages
