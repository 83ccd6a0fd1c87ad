"""What the tier tests expect of a run's summary line (retention.tiers.runner.summary)."""

from retention.models import RetentionRun


def storage(run: RetentionRun) -> str:
    """The storage part of a real run's summary, from its record."""
    return (
        f"storage {run.storage_before_bytes / 1e6:.2f} MB -> {run.storage_after_bytes / 1e6:.2f} "
        f"MB (freed {run.storage_freed_mb:.2f} MB, {run.details['reduction_percent']:.1f} %)"
    )
