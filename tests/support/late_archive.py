"""One archived day for the tests of late points beside the archive (moto's S3): the boiler's
and heat pump's day D downsampled, archived and gone from InfluxDB (`archived_day`; any readings
discovered: `discovered_day`), a late point
of it (`late_point`), its archived row (`archived`), a moment the archive may rewrite its file
(`merge_allowed`), and the check that the archived row counts a late point once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retention.archive import format as fmt
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.entities.discovery import discover
from retention.tiers import runner as tiers
from retention.tiers.layout import DAILY_RP, expand
from tests.retention.conftest import HaDatabase

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
T = datetime(2022, 3, 1, tzinfo=UTC)
D = T.date()
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # 2022 is due for the archive
KEY = "archives/2022/data_2022-03-01.parquet"
BOILER, PUMP = "sensor.boiler_power", "sensor.heat_pump_power"


def ok(run):
    assert run.status == "ok", (run.status, run.errors)
    return run


def archived(entity_id: str) -> dict:
    """The entity's archived row of D with the fields a reader derives put back."""
    [row] = [r for r in fmt.table_rows(restore_from_archive(D, D)) if r["entity_id"] == entity_id]
    return expand(DAILY_RP, row, row["kind"])


def archived_day(tier) -> HaDatabase:
    """The boiler's and heat pump's day D downsampled, archived and gone from InfluxDB."""
    ha = HaDatabase(tier.database)
    ha.saved_entity("official", BOILER, [(T, 100), (T + 6 * HOUR, 300)], unit="W")
    ha.saved_entity("official", PUMP, [(T, 500), (T + 12 * HOUR, 700)], unit="W")
    ok(tiers.downsample_hourly(D, D + DAY))
    ok(tiers.downsample_daily(D, D + DAY))
    report = run_archive(NOW)
    assert (report.errors, report.records_deleted) == ([], 2)
    return ha


def discovered_day(tier, readings: list) -> HaDatabase:
    """`readings` of day D written and discovered, the day downsampled, archived and gone from
    InfluxDB."""
    ha = HaDatabase(tier.database)
    ha.write(readings)
    discover(ha.name, "official")
    ok(tiers.downsample_hourly(D, D + DAY))
    ok(tiers.downsample_daily(D, D + DAY))
    assert run_archive(NOW).errors == []
    return ha


def late_point(ha: HaDatabase, entity_id: str, value: float):
    """A buffered state of D arriving now (an ESP with a wrong clock, a replayed buffer)."""
    return ha.write_entity("official", entity_id, [(T + 15 * HOUR, value)], unit="W")


def merge_allowed() -> datetime:
    """A moment at which the archive may rewrite the file (90 days after its upload)."""
    return get_storage().head(KEY).last_modified + timedelta(days=91)


def assert_counted_once(before: dict, after: dict, low: float) -> None:
    """The archived row counts the late point once and keeps what the whole day gave."""
    assert after["sample_count"] == before["sample_count"] + 1
    assert after["min_value"] == low
    for name in ("avg_value", "coverage_seconds", "last_value", "total_energy", "max_value"):
        assert after[name] == before[name], name
