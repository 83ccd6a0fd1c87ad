"""Enrich's database and InfluxDB back from backups of different times (docs/deployment.md,
Backups under `make run`). The database older: the chunks of the days the raw -> hourly runs
did since its backup are gone, while InfluxDB keeps those runs' hourly rows and no raw point of
them; the next run must keep those rows, not aggregate the days again from the raw points left
(none, or late ones only) and overwrite the rows with them. InfluxDB older: rows the database
records done come back in the tier before; the next run must take them on, each point once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enrich.influx import InfluxUnavailable, get_timeseries
from enrich.redis.client import get_redis
from retention import faults, liveness
from retention.entities.ha_source import count_samples
from retention.models import RetentionRun, TierChunk
from retention.stats.measure import raw_points_removed
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows, write_rows
from tests.support.proxy import closes_at, influxdb_proxy_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
S = datetime(2024, 3, 4, tzinfo=UTC)
D0 = S.date()
NOW = S + 14 * DAY  # the nightly run takes every day of the six
POINTS = [(S + n * 3 * HOUR, 100 + n) for n in range(8 * 6)]  # 8 states a day, 6 days


def _ok(run: RetentionRun) -> RetentionRun:
    assert run.status == "ok", (run.status, run.errors)
    return run


def _rows(entity_id: str) -> dict:
    rows = read_rows(HOURLY_RP, S, S + 6 * DAY, entity_id).get(entity_id, [])
    return {row.start: row for row in rows}


def _backup() -> dict:
    return {model: list(model.objects.all()) for model in (TierChunk, RetentionRun)}


def _put_back(backup: dict) -> None:
    """enrich's database as the backup holds it (InfluxDB stays as it is)."""
    for model, rows in backup.items():
        model.objects.all().delete()
        model.objects.bulk_create(rows)


def _days_done_after_the_backup(ha_db):
    """The entity's first two days done before enrich's database was backed up, the next two
    after, and the database back from the backup (InfluxDB as it is): the entity."""
    entity = ha_db.saved_entity("official", "sensor.boiler_power", POINTS, unit="W")
    _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY, now=NOW))
    backup = _backup()
    _ok(tiers.downsample_hourly(D0 + 2 * DAY, D0 + 4 * DAY, now=NOW))
    _put_back(backup)
    return entity


def test_days_done_after_the_backup_keep_their_hourly_rows(ha_db):
    entity = ha_db.saved_entity("official", "sensor.boiler_power", POINTS, unit="W")
    _ok(tiers.downsample_hourly(D0, D0 + 2 * DAY, now=NOW))
    backup = _backup()  # enrich's database, backed up here
    _ok(tiers.downsample_hourly(D0 + 2 * DAY, D0 + 4 * DAY, now=NOW))
    done = _rows(entity.entity_id)
    assert sum(row.points for row in done.values()) == 32
    _put_back(backup)  # the crash: enrich's database from the backup, InfluxDB from later
    # A state arrives late for a day done after the backup: a late point of that day.
    late = S + 2 * DAY + 7.5 * HOUR
    ha_db.write_entity("official", "sensor.boiler_power", [(late, 5)], unit="W")

    run = _ok(tiers.downsample_hourly(now=NOW))  # the nightly run

    rows = _rows(entity.entity_id)
    assert sum(row.points for row in rows.values()) == 6 * 8 + 1  # every state, once
    assert count_samples(entity, S, S + 6 * DAY) == 0
    for start, row in done.items():  # the days done keep what their states gave
        fields = dict(row.fields)
        if start == late.replace(minute=0):
            fields["sample_count"] += 1
            fields["min_value"] = 5
        got = {k: v for k, v in rows[start].fields.items() if k != "late_times"}
        assert got == fields, start
    assert run.details["late_points"] == 1
    assert run.details["waiting"] == [
        "sensor.boiler_power: 2024-03-06..2024-03-07 (2 days) kept as InfluxDB holds them: their "
        "hourly (or daily) rows account for 16 raw points no longer in InfluxDB, yet enrich's "
        "database has no record of a run that did them (it came back from a backup older than "
        "InfluxDB's); aggregated again from the raw points left, they would lose those points"
    ]
    # The storage statistics count the points the forgotten run deleted, as its record did.
    assert run.details["raw_points_forgotten"] == 16
    assert raw_points_removed() == (6 * 8 + 1, 2)
    days = TierChunk.objects.filter(tier="hourly").order_by("day")
    assert [(c.day, c.state) for c in days] == [(D0 + n * DAY, "deleted") for n in range(6)]


def test_a_dry_run_says_the_days_done_after_the_backup_are_kept(ha_db):
    """The dry run listed the days done after the backup as to be aggregated (their late
    point as its raw points), while the run keeps their rows as InfluxDB holds them."""
    _days_done_after_the_backup(ha_db)
    late = S + 2 * DAY + 7.5 * HOUR
    ha_db.write_entity("official", "sensor.boiler_power", [(late, 5)], unit="W")

    dry = tiers.downsample_hourly(now=NOW, dry_run=True)

    assert dry.status == "dry_run", dry.errors
    assert dry.details["days"] == [{"day": str(D0 + n * DAY), "raw_points": 8} for n in (4, 5)]
    run = _ok(tiers.downsample_hourly(now=NOW))
    assert dry.details["waiting"] == run.details["waiting"]
    assert run.details["days"] == [str(D0 + n * DAY) for n in range(2, 6)]


def test_a_run_stopped_in_a_forgotten_day_counts_its_points_once(
    ha_db, influxdb_proxy, monkeypatch
):
    """InfluxDB out of reach once the first forgotten day is written: the failed run counted
    its raw_points_forgotten, and the nightly rerun started after the day (it holds no raw
    point), which stayed "written": the daily tier waits for it for good. Taken again, the
    day's points were counted once more: raw_points_removed said 8 points more than were."""
    entity = _days_done_after_the_backup(ha_db)
    real_point = faults.point
    closes_at(influxdb_proxy, monkeypatch, "hourly:after_write")
    with pytest.raises(InfluxUnavailable):
        tiers.downsample_hourly(now=NOW)
    failed = RetentionRun.objects.order_by("pk").last()
    assert failed.status == "failed"
    assert TierChunk.objects.get(tier="hourly", day=D0 + 2 * DAY).state == "written"
    monkeypatch.setattr(faults, "point", real_point)
    influxdb_proxy.open()

    _ok(tiers.downsample_hourly(now=NOW))

    assert count_samples(entity, S, S + 6 * DAY) == 0
    rows = _rows(entity.entity_id)
    assert sum(row.points for row in rows.values()) == 6 * 8  # every state, once
    assert raw_points_removed()[0] == 6 * 8  # each deleted once, counted once
    days = TierChunk.objects.filter(tier="hourly").order_by("day")
    assert [(c.day, c.state) for c in days] == [(D0 + n * DAY, "deleted") for n in range(6)]


def test_hourly_rows_influxdb_brought_back_are_composed_once(ha_db):
    """InfluxDB back from a backup taken between a day's raw -> hourly and hourly -> daily
    runs, enrich's database from later: the day's hourly rows are there again and its daily
    row is gone, while its daily chunk says deleted. The nightly daily run skipped the day, so
    its hourly rows stayed in enrich_hourly, never composed or archived, and the series read
    the day from its (missing) daily row."""
    entity = ha_db.saved_entity("official", "sensor.boiler_power", POINTS[:32], unit="W")
    now = S + 120 * DAY
    _ok(tiers.downsample_hourly(D0, D0 + 4 * DAY, now=now))
    backup = read_rows(HOURLY_RP, S, S + 4 * DAY)  # InfluxDB, backed up here
    _ok(tiers.downsample_daily(D0, D0 + 2 * DAY, now=now))
    composed = read_rows(DAILY_RP, S, S + 2 * DAY, entity.entity_id)[entity.entity_id]
    # The crash: InfluxDB from its backup (hourly rows of the four days, no daily row).
    get_timeseries().query(ha_db.name, 'DELETE FROM "entity_aggregates"')
    write_rows(HOURLY_RP, [row for rows in backup.values() for row in rows])

    run = _ok(tiers.downsample_daily(now=now))  # the nightly run

    assert run.details["days"] == [str(D0 + n * DAY) for n in range(4)]
    assert read_rows(HOURLY_RP, S, S + 4 * DAY) == {}  # every hourly row composed
    daily = read_rows(DAILY_RP, S, S + 4 * DAY, entity.entity_id)[entity.entity_id]
    assert [row.points for row in daily] == [8, 8, 8, 8]
    assert [row.fields for row in daily[:2]] == [row.fields for row in composed]


def test_a_backup_taken_while_a_run_ran_counts_each_deleted_point_once(ha_db, monkeypatch):
    """Enrich's database backed up while a raw -> hourly run ran (three days verified, their
    deletes held for the week, the run recorded running) and put back once the run finished:
    the days InfluxDB holds done keep their rows, nothing stays running or unfinished, but the
    points of the days the backup holds verified were counted by no run: raw_points_removed
    said 24 of the 48 points the run deleted."""
    entity = ha_db.saved_entity("official", "sensor.boiler_power", POINTS, unit="W")
    real_point = faults.point
    backup = {}

    def backed_up_here(name: str) -> None:
        if name == "hourly:after_verify" and TierChunk.objects.count() == 3 and not backup:
            backup.update(_backup())
        real_point(name)

    monkeypatch.setattr(faults, "point", backed_up_here)
    _ok(tiers.downsample_hourly(now=NOW))
    monkeypatch.setattr(faults, "point", real_point)
    done = _rows(entity.entity_id)
    _put_back(backup)
    assert [(c.state, c.raw_deleted) for c in TierChunk.objects.all()] == [("verified", [])] * 3
    (dead,) = RetentionRun.objects.all()
    get_redis().delete(liveness.run_key(dead.pk))  # its process long gone
    assert liveness.close_dead() == [dead]

    run = _ok(tiers.downsample_hourly(now=NOW))

    assert _rows(entity.entity_id) == done
    assert count_samples(entity, S, S + 6 * DAY) == 0
    assert raw_points_removed()[0] == 6 * 8  # each deleted once, counted once
    assert run.details["raw_points_forgotten"] == 6 * 8
    days = TierChunk.objects.filter(tier="hourly").order_by("day")
    assert [(c.day, c.state) for c in days] == [(D0 + n * DAY, "deleted") for n in range(6)]
    assert not RetentionRun.objects.filter(status="running").exists()
