"""A view rebuild over archived days (their daily rows left InfluxDB for the archive): the
rows are kept as they were, and the run says which days and why; against the real InfluxDB,
the tiers and the archive in a local directory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from retention.archive.run import run_archive
from retention.models import ArchiveObject, DailyEnergyByDevice
from retention.rollups.materialized import ENERGY, rebuild_view
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
