"""Who a tier run finds holding its lock, as the run says it. The daily tier's lock is taken by
its own runs, by an hourly run folding late points and by the archive deleting a file's rows:
a daily run skipped while the archive held it said "another downsample_daily run holds the
lock: archive run 7 ...", and an hourly run whose late points waited for the archive said "the
daily tier is running". Each is named for what it is, in the admin's words ("hourly -> daily")."""

from datetime import timedelta

import pytest

from enrich.redis.lock import RunLock
from retention.archive.lock import daily_writes_paused
from retention.models import RetentionRun
from retention.tiers import runner as tiers
from tests.retention.conftest import T0

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
D0 = T0.date()
Op = RetentionRun.Operation
ARCHIVE = "archive run 7 deleting archives/2024/data_2024-03-04.parquet's rows"


def test_a_daily_run_skipped_while_the_archive_deletes_names_the_archive(ha_db):
    ha_db.saved_entity("official", "sensor.heat_pump_power", [(0, 500)], unit="W")
    assert tiers.downsample_hourly(D0, D0 + DAY).status == "ok"

    with daily_writes_paused(ARCHIVE) as busy:
        assert busy is None  # the archive holds the daily tier's lock
        run = tiers.downsample_daily(D0, D0 + DAY)

    assert run.status == "skipped"
    reason = run.details["reason"]
    assert reason.startswith(f"the lock of the hourly -> daily runs is held by {ARCHIVE} since ")
    assert "downsample_daily" not in reason
    assert tiers.summary(run).startswith(  # the line the command prints and the log says
        f"hourly -> daily run {run.pk}: skipped (another run holds the lock); {reason}; "
    )
    assert tiers.downsample_daily(D0, D0 + DAY).status == "ok"  # free again


def test_a_tier_run_holds_its_lock_under_its_operation_and_id(ha_db):
    # The lock's value is what a run finding it taken reads: it said "run 12", of no kind.
    ha_db.saved_entity("official", "sensor.heat_pump_power", [(0, 500)], unit="W")
    seen = []

    def note_holders(*_):
        seen.append(RunLock(Op.DOWNSAMPLE_HOURLY).holder())

    hourly = tiers.downsample_hourly(D0, D0 + DAY, progress=note_holders)
    assert hourly.status == "ok" and seen
    assert seen[0].startswith(f"raw -> hourly run {hourly.pk} since ")


def test_late_points_waiting_for_a_daily_run_name_it(ha_db):
    ha_db.saved_entity("official", "sensor.heat_pump_power", [(0, 500), (86400, 400)], unit="W")
    assert tiers.downsample_hourly(D0, D0 + 2 * DAY).status == "ok"
    ha_db.write_entity("official", "sensor.heat_pump_power", [(3600, 3)], unit="W")  # late
    beside = []

    def hourly_meanwhile(*_):
        beside.append(tiers.downsample_hourly(D0, D0 + DAY))

    daily = tiers.downsample_daily(D0 + DAY, D0 + 2 * DAY, progress=hourly_meanwhile)
    assert daily.status == "ok"
    [hourly] = beside
    assert hourly.status == "ok" and hourly.details["late_points"] == 0
    [note] = hourly.details["waiting"]
    assert note.startswith(
        "late points not folded in: the lock of the hourly -> daily runs is held by "
        f"hourly -> daily run {daily.pk} since "
    )
    assert note.endswith("; the next run does it")
