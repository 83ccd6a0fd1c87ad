"""A view rebuild over archived days (their daily rows left InfluxDB for the archive): the
rows are kept as they were, and the run says which days and why; against the real InfluxDB,
the tiers and the archive in a local directory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from retention.archive.run import run_archive
from retention.models import ArchiveObject, DailyEnergyByDevice, Entity, HourlyRoomActivity
from retention.rollups.materialized import ACTIVITY, ENERGY, rebuild_view
from retention.tiers import runner as tiers
from tests.retention.conftest import T0, HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
DAY1, DAY2 = date(2024, 3, 4), date(2024, 3, 5)
LATER = datetime(2026, 1, 15, tzinfo=UTC)  # 2024 is a closed year of the archive


def test_a_rebuild_over_archived_days_names_them_and_keeps_their_rows(
    ha_db: HaDatabase, enrich_db: str, local_archive, capsys
):
    # 100 W all along: 2.4 kWh a day, computed from the raw states.
    ha_db.saved_entity("official", "sensor.tv_power", [(-60, 100)], unit="W", kind="power")
    rebuild_view(ENERGY, DAY1, DAY2, now=T0 + timedelta(days=3))
    for downsample in (tiers.downsample_hourly, tiers.downsample_daily):
        # From the day before: its raw state (100 W since 23:59) would be read on.
        assert (
            downsample(DAY1 - timedelta(days=1), DAY2 + timedelta(days=1), now=LATER).status == "ok"
        )
    assert run_archive(LATER).status == "ok"
    assert ArchiveObject.objects.get().source_deleted is not None

    run = rebuild_view(ENERGY, DAY1, DAY2, now=LATER)

    assert run.status == "ok" and run.records_processed == 0
    kept = (
        "2024-03-04 to 2024-03-05 (2 days): archived (the daily rows left InfluxDB for the "
        "archive, which a rebuild does not read); their rows are kept as they were"
    )
    # Before: "0 rows written ..., read raw states", nothing named as skipped.
    assert run.details["skipped"] == [kept] and run.errors == kept
    rows = DailyEnergyByDevice.objects.order_by("date")
    assert [(r.date, round(r.total_kwh, 6)) for r in rows] == [(DAY1, 2.4), (DAY2, 2.4)]
    call_command("rebuild_view", ENERGY, "--start", str(DAY1), "--end", str(DAY2))
    assert f"\n  {kept}" in capsys.readouterr().out


def test_a_room_rebuild_names_the_hours_it_keeps_archived_or_daily(
    ha_db: HaDatabase, enrich_db: str, local_archive
):
    # A motion sensor on for 10 minutes of every hour, 2024-12-30 to 2025-01-01 (UTC days).
    start = datetime(2024, 12, 30, tzinfo=UTC)
    points = [
        (start + timedelta(hours=h, minutes=minute), state)
        for h in range(72)
        for minute, state in ((10, "on"), (20, "off"))
    ]
    ha_db.saved_entity("official", "binary_sensor.hall_motion", points, kind="binary")
    Entity.objects.filter(entity_id="binary_sensor.hall_motion").update(
        area="Hall", device_class="motion"
    )
    first, last = date(2024, 12, 31), date(2025, 1, 1)
    assert (
        rebuild_view(ACTIVITY, first, last, now=start + timedelta(days=3)).records_processed == 48
    )
    for downsample in (tiers.downsample_hourly, tiers.downsample_daily):
        assert downsample(start.date(), date(2025, 1, 2), now=LATER).status == "ok"
    # 2024 is archived; 2025-01-01 is left in the daily tier, which keeps no hours.
    assert run_archive(LATER).status == "ok"

    run = rebuild_view(ACTIVITY, first, last, now=LATER)

    assert run.status == "ok" and run.records_processed == 0
    # Before: only the archived day was named; the daily tier's hours were kept unnamed.
    assert run.details["skipped"] == [
        "2024-12-31 (1 UTC day): archived (the daily rows left InfluxDB for the archive, which a "
        "rebuild does not read); their rows are kept as they were",
        "Hall 2025-01-01T00:00:00+00:00 to 2025-01-01T23:00:00+00:00 (24 hours): only daily "
        "tier rows remain (a daily row cannot tell hours apart); their rows are kept as they "
        "were",
    ]
    rows = HourlyRoomActivity.objects.order_by("hour")
    assert [(row.motion_count, round(row.occupancy_rate, 4)) for row in rows] == [(1, 0.1667)] * 48


def test_a_local_day_partly_archived_keeps_its_row(
    ha_db: HaDatabase, enrich_db: str, local_archive, settings
):
    settings.TIME_ZONE = "Europe/Berlin"  # 2025-01-01 starts at 23:00 UTC on 2024-12-31
    start = datetime(2024, 12, 30, tzinfo=UTC)
    points = [(start + timedelta(hours=h), 100) for h in range(72)]
    ha_db.saved_entity("official", "sensor.tv_power", points, unit="W", kind="power")
    first, last = date(2024, 12, 31), date(2025, 1, 1)
    rebuild_view(ENERGY, first, last, now=start + timedelta(days=3))
    assert tiers.downsample_hourly(start.date(), date(2025, 1, 2), now=LATER).status == "ok"
    # The archive took 2024; 2025-01-01 is still in the hourly tier (its daily run has not
    # come yet: RETENTION_DAILY_DAYS one day above RETENTION_HOURLY_DAYS, or a late night).
    assert tiers.downsample_daily(start.date(), date(2025, 1, 1), now=LATER).status == "ok"
    assert run_archive(LATER).status == "ok"

    run = rebuild_view(ENERGY, first, last, now=LATER)

    # Before: 2025-01-01 was read from its 23 hours in 2025 alone: 2.3 kWh written over 2.4.
    rows = DailyEnergyByDevice.objects.order_by("date")
    assert [(r.date, round(r.total_kwh, 6)) for r in rows] == [(first, 2.4), (last, 2.4)]
    assert run.records_processed == 0 and run.details["skipped"] == [
        "2024-12-31 (1 day): archived (the daily rows left InfluxDB for the archive, which a "
        "rebuild does not read); their rows are kept as they were",
        "sensor.tv_power 2025-01-01: part of this local day lies in a UTC day the archive took "
        "out of InfluxDB (its daily rows left for the archive, which a rebuild does not read): "
        "read from the rest alone it would lose that part's energy; the row is kept",
    ]


def test_archived_days_are_named_beside_the_rows_of_an_entity_not_tiered(
    ha_db: HaDatabase, enrich_db: str, local_archive
):
    ha_db.saved_entity("official", "sensor.tv_power", [(-60, 100)], unit="W", kind="power")
    fridge = ha_db.saved_entity("official", "sensor.fridge_power", [(-60, 50)], unit="W")
    fridge.tiered = False  # its raw states stay in InfluxDB
    fridge.save()
    rebuild_view(ENERGY, DAY1, DAY2, now=T0 + timedelta(days=3))
    for downsample in (tiers.downsample_hourly, tiers.downsample_daily):
        assert (
            downsample(DAY1 - timedelta(days=1), DAY2 + timedelta(days=1), now=LATER).status == "ok"
        )
    assert run_archive(LATER).status == "ok"

    run = rebuild_view(ENERGY, DAY1, DAY2, now=LATER)

    # Before: the fridge's rows hid the days: the TV's rows were kept without a word.
    assert run.records_processed == 2 and run.details["skipped"] == [
        "2024-03-04 to 2024-03-05 (2 days): archived (the daily rows left InfluxDB for the "
        "archive, which a rebuild does not read); their rows are kept as they were, but for "
        "the rows written for sensor.fridge_power from raw points of these days still in "
        "InfluxDB (not tiered then)"
    ]
    rows = DailyEnergyByDevice.objects.order_by("entity_id", "date")
    assert [(r.entity_id, r.date, round(r.total_kwh, 6)) for r in rows] == [
        ("sensor.fridge_power", DAY1, 1.2),
        ("sensor.fridge_power", DAY2, 1.2),
        ("sensor.tv_power", DAY1, 2.4),
        ("sensor.tv_power", DAY2, 2.4),
    ]


def test_the_command_names_the_archived_days_before_a_dozen_entities_lines(
    ha_db: HaDatabase, enrich_db: str, local_archive, settings, capsys
):
    settings.TIME_ZONE = "Europe/Berlin"  # 2025-01-01 starts at 23:00 UTC on 2024-12-31
    start = datetime(2024, 12, 30, tzinfo=UTC)
    plugs = [f"sensor.plug_{n:02}_power" for n in range(12)]
    for plug in plugs:
        ha_db.saved_entity("official", plug, [(start, 100)], unit="W", kind="power")
    first, last = date(2024, 12, 31), date(2025, 1, 1)
    rebuild_view(ENERGY, first, last, now=start + timedelta(days=3))
    assert tiers.downsample_hourly(start.date(), date(2025, 1, 2), now=LATER).status == "ok"
    assert tiers.downsample_daily(start.date(), date(2025, 1, 1), now=LATER).status == "ok"
    assert run_archive(LATER).status == "ok"

    call_command("rebuild_view", ENERGY, "--start", str(first), "--end", str(last))

    # Before: twelve lines "sensor.plug_NN_power 2025-01-01: part of this local day ..." came
    # first, and the command prints ten: the archived day was not named.
    out = capsys.readouterr().out
    assert "skipped (13):\n  2024-12-31 (1 day): archived (the daily rows left InfluxDB" in out
    assert "sensor.plug_00_power 2025-01-01: part of this local day" in out
