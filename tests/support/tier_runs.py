"""What the tier tests expect of a run's summary line (retention.tiers.summary.summary), and
the three days of one entity the tier commands' stopped-run tests run over (`three_days`)."""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command

from retention.entities.ha_source import count_samples
from retention.models import RetentionRun
from retention.tiers.rows import HOURLY_RP, read_rows
from retention.tiers.safety import ensure_tiers
from tests.retention.conftest import T0

DAY = timedelta(days=1)
DAYS = 3
ENTITY = "sensor.heat_pump_power"
RANGE = ("--start", str(T0.date()), "--end", str(T0.date() + DAYS * DAY))
# Each tier's command, the label of its runs and the crash point right after it verified a day.
AFTER_VERIFY = [
    ("downsample_hourly", "raw -> hourly", "hourly:after_verify"),
    ("downsample_daily", "hourly -> daily", "daily:after_verify"),
]


def tier_rows(rp: str) -> int:
    """The rows of ENTITY in the tier `rp` over the DAYS."""
    return len(read_rows(rp, T0, T0 + DAYS * DAY, ENTITY).get(ENTITY, []))


def three_days(ha_db, command: str) -> tuple[object, Callable[[], int]]:
    """ENTITY's raw points over the DAYS (and their hourly rows, for `downsample_daily`): the
    entity, and how many points the run of `command` deletes once its day is verified."""
    entity = ha_db.saved_entity(
        "official", ENTITY, [(n * 10800, 100 + n) for n in range(DAYS * 8)], unit="W"
    )
    ensure_tiers()  # as the first run leaves them, so that they can be read before
    if command == "downsample_daily":
        call_command("downsample_hourly", *RANGE)  # the hourly rows the daily run reads
        return entity, lambda: tier_rows(HOURLY_RP)
    return entity, lambda: count_samples(entity, T0, T0 + DAYS * DAY)


def storage(run: RetentionRun) -> str:
    """The storage part of a real run's summary, from its record: what it freed, or, grown
    until InfluxDB compacts (tests/retention/tiers/test_summary_counts.py), by how much."""
    sizes = f"{run.storage_before_bytes / 1e6:.2f} MB -> {run.storage_after_bytes / 1e6:.2f} MB"
    grown = run.storage_after_bytes - run.storage_before_bytes
    if grown > 0:
        return (
            f"storage {sizes} ({grown / 1e6:.2f} MB more until InfluxDB compacts the shards; "
            "what the run freed is measured again once the run is "
            f"{settings.RETENTION_SETTLE_HOURS:g} h old, by the daily task \"Settle tier runs' "
            'storage")'
        )
    return (
        f"storage {sizes} (freed {run.storage_freed_mb:.2f} MB, "
        f"{run.details['reduction_percent']:.1f} %)"
    )
