"""The settled storage figure of a tier run: measured again once InfluxDB compacted.

A tier run measures storage right after its deletes. InfluxDB keeps deleted points on disk
as tombstones and writes new rows to its WAL first, so that figure is often larger than before
the run (e.g. "freed -0.71 MB, -75.5 %"): disk space comes back when InfluxDB compacts a shard,
which 1.x does fully once the shard had no writes for 4 hours (compact-full-write-cold-duration).

So each run records the size of every shard at its start and end and whether it touched it
(its time range overlaps a day the run processed): `details["shards"]`. `settle_runs()`,
called by the daily storage-metrics task and by the `retention.settle_storage` task a few
hours after the tier runs, takes each run that finished ok at least RETENTION_SETTLE_HOURS ago
whose settled figure is not recorded yet and measures the shards again:

    settled after = the sizes of the shards there were at the run's end, each as it is now if
                    the run touched it, else as it was at the run's end

where a shard the run did not touch, one still holding data in its cache (being written to:
Home Assistant's current shard) or one touched by a later run (its settling belongs to that
run) counts as at the run's end, a shard of the run's own that is gone (dropped) counts 0
bytes, and shards made afterwards do not count. The run then holds `storage_settled_bytes`,
`storage_settled_freed_mb` and `storage_settled_at` next to the immediate figures; stats, the
API, the admin and the status page show the settled figure where there is one.
InfluxDB 2.x does not report shards: its runs keep the immediate figure only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from enrich.influx import Shard, get_timeseries
from retention.models import RetentionRun

OPERATIONS = (RetentionRun.Operation.DOWNSAMPLE_HOURLY, RetentionRun.Operation.DOWNSAMPLE_DAILY)


def _databases() -> set[str]:
    return {settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE}


def shard_sizes() -> dict[str, Shard]:
    """The shards of Home Assistant's and the tier database, by id."""
    databases = _databases()
    return {k: v for k, v in get_timeseries().shard_sizes().items() if v.database in databases}


def changed(before: dict[str, Shard], after: dict[str, Shard], days: list[str]) -> dict:
    """Shard id -> [bytes at the run's start, bytes at its end, whether the run touched it]
    for every shard there was; touched = its time range overlaps a day the run processed
    (InfluxDB counts deletes only once it compacts, so sizes alone do not tell)."""
    spans = [(f"{day}T00:00:00", f"{_next(day)}T00:00:00") for day in days]
    record = {}
    for shard in sorted(set(before) | set(after)):
        info = after.get(shard) or before[shard]
        start, end = info.start[:19], info.end[:19]  # comparable text: YYYY-MM-DDTHH:MM:SS
        hit = any(start < day_end and day_start < end for day_start, day_end in spans)
        sizes = [
            getattr(before.get(shard), "disk_bytes", 0),
            getattr(after.get(shard), "disk_bytes", 0),
        ]
        record[shard] = [*sizes, hit]
    return record


def record(run: RetentionRun, before: dict[str, Shard], days: list[str]) -> None:
    """Put the run's shards (`changed`, measured now, at its end) into its details."""
    run.details = {**run.details, "shards": changed(before, shard_sizes(), days)}


def _next(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _changed_by(run: RetentionRun) -> set[str]:
    shards = (run.details or {}).get("shards") or {}
    return {shard for shard, entry in shards.items() if len(entry) > 2 and entry[2]}


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
        for shard, (_, at_end, *_) in run.details["shards"].items():
            now_there = current.get(shard)
            size = now_there.disk_bytes if now_there else 0
            cached = now_there.cache_bytes if now_there else 0
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
