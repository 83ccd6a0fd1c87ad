"""Home Assistant's InfluxDB on a full disk (a Raspberry Pi's SD card): a private influxd whose
data, WAL and meta directories are on a 12 MB tmpfs filled to its last byte. InfluxDB answers
HTTP 500 "write …/meta.dbtmp: no space left on device" (or "error writing WAL entry: …"),
which a tier run reported as "InfluxDB rejected a write of 24 points … (HTTP 500): …" alone.
Each run fails saying InfluxDB's disk is full and what to free (after a failed WAL write, also
to restart InfluxDB, which 1.x needs before it writes that shard again), deletes nothing it has
not written and read back, and the next run once there is room does the days, every point
accounted for."""

import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrich.influx import InfluxQueryError, get_timeseries
from retention.models import RetentionRun
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support.full_disk import fill, free, influxd_on, tmpfs
from tests.support.tier_runs import DAY, DAYS, ENTITY, RANGE, three_days, tier_rows

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def disk(tmp_path, settings):
    """The disk of the InfluxDB the test's settings name (ha_db comes after it)."""
    with tmpfs(tmp_path / "disk", "12m") as disk, influxd_on(disk, settings) as server:
        yield disk, server


def full_disk_said(url: str) -> str:
    return f"InfluxDB at {url} cannot write to its disk: it is full. Free space on the disk"


def stopped(command: str) -> str:
    with pytest.raises(CommandError) as failed:
        call_command(command, *RANGE)
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed" and run.records_deleted == 0
    assert str(failed.value) in run.errors
    return str(failed.value)


def samples(rp: str) -> int:
    rows = read_rows(rp, T0, T0 + DAYS * DAY, ENTITY).get(ENTITY, [])
    return sum(row.points for row in rows)


def test_tier_runs_on_a_full_disk_say_so_delete_nothing_and_resume_once_freed(disk, ha_db):
    disk, server = disk
    url = server.url
    _, raw_points = three_days(ha_db, "downsample_hourly")
    assert raw_points() == 24
    fill(disk)
    said = stopped("downsample_hourly")
    assert "no space left on device" in said and full_disk_said(url) in said, said
    assert raw_points() == 24 and tier_rows(HOURLY_RP) == 0

    free(disk)
    call_command("downsample_hourly", *RANGE)
    assert raw_points() == 0 and tier_rows(HOURLY_RP) == DAYS * 24 and samples(HOURLY_RP) == 24

    fill(disk)
    said = stopped("downsample_daily")
    assert full_disk_said(url) in said, said
    assert tier_rows(HOURLY_RP) == DAYS * 24 and tier_rows(DAILY_RP) == 0

    free(disk)
    call_command("downsample_daily", *RANGE)
    assert tier_rows(HOURLY_RP) == 0 and tier_rows(DAILY_RP) == DAYS and samples(DAILY_RP) == 24


def test_a_write_into_a_shard_s_wal_says_to_restart_influxdb_which_resumes(disk, ha_db):
    """The hourly tier's shard exists (the first day's run made it): the rows of the next days
    go to its WAL, whose failed write InfluxDB 1.x keeps answering for that shard ("engine:
    error writing WAL entry: …: no space left on device") after space is freed, until it
    restarts. The run says so; restarted, the next run does the days, nothing lost."""
    disk, server = disk
    entities = [f"sensor.plug_{n:02d}_power" for n in range(20)]
    for entity in entities:  # 480 hourly rows a day: more than a page
        ha_db.saved_entity("official", entity, [(n * 10800, 100 + n) for n in range(DAYS * 8)],
                           unit="W")  # fmt: skip
    first_day = ("--start", str(T0.date()), "--end", str((T0 + DAY).date()))
    call_command("downsample_hourly", *first_day)
    fill(disk)
    said = stopped("downsample_hourly")
    assert "error writing WAL entry" in said and full_disk_said(server.url) in said, said
    assert "then restart InfluxDB: once a write to a shard's WAL failed, InfluxDB 1.x " in said
    free(disk)
    again = stopped("downsample_hourly")  # with 12 MB free
    assert "error writing WAL entry" in again and "restart InfluxDB" in again, again
    server.restart()
    call_command("downsample_hourly", *RANGE)
    rows = read_rows(HOURLY_RP, T0, T0 + DAYS * DAY)
    assert sorted(rows) == entities and all(len(rows[e]) == DAYS * 24 for e in entities)
    assert sum(row.points for e in entities for row in rows[e]) == len(entities) * DAYS * 8
    assert not ha_db_points(ha_db)


def ha_db_points(ha_db) -> int:
    rows = list(get_timeseries().query(ha_db.name, 'SELECT count("value") FROM "W"'))
    return rows[0].values["count"] if rows else 0


def test_a_delete_on_a_full_disk_says_the_disk_is_full(disk, ha_db):
    """InfluxDB writes a DELETE's tombstone next to each of the shard's files: refused with
    HTTP 200 and the error in the statement's result."""
    disk, _ = disk
    _, raw_points = three_days(ha_db, "downsample_hourly")
    shards = disk / "influxd" / "data" / ha_db.name / "autogen"
    deadline = time.monotonic() + 60
    while not list(shards.glob("*/*.tsm")):  # written out of the cache after 1 s (bench CONFIG)
        assert time.monotonic() < deadline, "influxd wrote no TSM file within 60 s"
        time.sleep(0.2)
    fill(disk)
    with pytest.raises(InfluxQueryError) as refused:
        get_timeseries().delete(ha_db.name, T0, T0 + DAYS * DAY, measurement="W")
    said = str(refused.value)
    assert (
        "tombstone" in said
        and "no space left on device. InfluxDB cannot write to its "
        "disk: it is full. Free space on the disk holding the file it names"
        in said
    ), said
    free(disk)
    assert raw_points() == 24
