"""The settled storage figure of a tier run: measured again once InfluxDB compacted.

A tier run measures storage right after its deletes. InfluxDB keeps deleted points on disk
as tombstones and writes new rows to its WAL first, so that figure is often larger than before
the run (e.g. "freed -0.71 MB, -75.5 %"): disk space comes back when InfluxDB compacts a shard,
which 1.x does fully once the shard had no writes for 4 hours (compact-full-write-cold-duration).

So each run records the size of every shard it changed, at its start and end
(`details["shards"]`, from `shard_sizes()` before and after). `settle_runs()`, called by the
daily storage-metrics task and by the `retention.settle_storage` task a few hours after the tier
runs, takes each finished run at least RETENTION_SETTLE_HOURS old whose settled figure is not
recorded yet and measures the shards again:

    settled after = the sizes of the shards there were at the run's end, each as it is now if
                    the run changed it, else as it was at the run's end

where a shard still holding data in its cache (being written to: Home Assistant's current
shard) or changed by a later run (its settling belongs to that run) counts as at the run's
end, a shard that is gone (dropped) counts 0 bytes, and shards made afterwards do not count. The run then holds `storage_settled_bytes`,
`storage_settled_freed_mb` and `storage_settled_at` next to the immediate figures; stats, the
API, the admin and the status page show the settled figure where there is one.
InfluxDB 2.x does not report shards: its runs keep the immediate figure only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings

from enrich.timeseries import get_timeseries
from retention.models import RetentionRun

OPERATIONS = (RetentionRun.Operation.DOWNSAMPLE_HOURLY, RetentionRun.Operation.DOWNSAMPLE_DAILY)


def _databases() -> set[str]:
    return {settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE}


def shard_sizes() -> dict[str, int]:
    """Shard id -> bytes on disk, for the shards of Home Assistant's and the tier database."""
    databases = _databases()
    return {
        shard: size
        for shard, (database, _, size, _) in get_timeseries().shard_sizes().items()
        if database in databases
    }


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, list[int]]:
    """Shard id -> [bytes at the run's start, bytes at its end] of every shard there was
    (a shard the run changed has two different sizes)."""
    return {
        shard: [before.get(shard, 0), after.get(shard, 0)]
        for shard in sorted(set(before) | set(after))
    }


def _changed_by(run: RetentionRun) -> set[str]:
    shards = (run.details or {}).get("shards") or {}
    return {shard for shard, (start, end) in shards.items() if start != end}


def settle_runs(now: datetime | None = None) -> list[RetentionRun]:
    """Record the settled storage figure of every run old enough (see the module docstring);
    returns the runs settled now."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(hours=settings.RETENTION_SETTLE_HOURS)
    runs = RetentionRun.objects.filter(
        operation__in=OPERATIONS,
        status=RetentionRun.Status.OK,
        storage_after_bytes__isnull=False,
        storage_settled_bytes__isnull=True,
        finished__lte=cutoff,
    ).order_by("finished", "pk")
    runs = [run for run in runs if (run.details or {}).get("shards")]
    if not runs:
        return []
    current = get_timeseries().shard_sizes()
    settled = []
    for run in runs:
        later = RetentionRun.objects.filter(operation__in=OPERATIONS, started__gt=run.started)
        taken = set().union(*(_changed_by(other) for other in later))
        mine = _changed_by(run) - taken
        total = 0
        for shard, (_, at_end) in run.details["shards"].items():
            _, _, size, cached = current.get(shard, ("", "", 0, 0))
            # Shards still written to (cached data) or changed by a later run keep their
            # size at the run's end; the run's own shards count as they are now.
            total += size if shard in mine and not cached else at_end
        run.storage_settled_bytes = total
        before = run.storage_before_bytes
        if before is not None:
            run.storage_settled_freed_mb = round((before - run.storage_settled_bytes) / 1e6, 3)
        run.storage_settled_at = now
        run.save(
            update_fields=[
                "storage_settled_bytes",
                "storage_settled_freed_mb",
                "storage_settled_at",
            ]
        )
        settled.append(run)
    return settled


def freed_mb(run: RetentionRun) -> float | None:
    """What the run freed: the settled figure when measured, else the immediate one."""
    if run.storage_settled_freed_mb is not None:
        return run.storage_settled_freed_mb
    return run.storage_freed_mb
