"""What the tier tests expect of a run's summary line (retention.tiers.runner.summary)."""

from django.conf import settings

from retention.models import RetentionRun


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
