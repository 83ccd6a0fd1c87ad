"""Storage statistics and the cost model: what the tiers and the archive hold and save.

Every figure is measured, never assumed:
- sizes on disk come from InfluxDB's own accounting (retention.stats.sizes:
  `TimeSeries.sizes()`, 1.x `SHOW STATS` shard `diskBytes`, data files plus WAL; 2.x
  `/metrics`);
- raw bytes per point = bytes of the raw tier / points in the raw tier, counted by InfluxDB
  (`count_raw_points`);
- raw points removed = Σ `records_deleted` of the `downsample_hourly` runs + Σ
  `details["raw_points_deleted"]` of the `downsample_daily` runs (the raw states of sparse
  entities, kept raw by the hourly tier and composed into daily rows by the daily one)
  + Σ `details["raw_points_forgotten"]` of the `downsample_hourly` runs (deleted by runs the
  database came back without, from a backup, or by a statement no run's record counts:
  retention.tiers.forgotten). The
  rest the daily downsample and the archive delete are aggregate rows whose raw points were
  already counted when they were downsampled; their effect shows in the measured tier sizes,
  and multiplying them by raw bytes per point would count the same data twice.

Formulas (bytes exact; GB = 2^30 bytes, the unit AWS bills "GB-month" in):
    raw_equivalent  = raw_bytes + raw_points_removed × raw_bytes_per_point
    current_tiers   = raw_bytes + hourly_bytes + daily_bytes
    storage_saved   = raw_equivalent − current_tiers
    reduction_%     = storage_saved / raw_equivalent × 100
    annual_savings  = storage_saved_GB × STORAGE_PRICE_DB_GB_MONTH × 12
                      − archive_GB × STORAGE_PRICE_ARCHIVE_GB_MONTH × 12
A figure that cannot be measured is `{"value": null, "reason": ...}`, never 0 or a guess.
Once a tier run created a dropped tier policy again, empty (its rows lost with it), the savings
count those rows as saved: they carry a `note` naming the run (`lost_rows_note`).

The last runs are shown as `retention.stats.history` shows runs, the open alerts as
`retention.stats.alerts` shows them; `retention.stats.metrics` writes these figures daily.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db.models import BigIntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from enrich.api.influx_down import unreadable
from enrich.influx import TimeseriesError
from retention.models import ArchiveObject, RetentionRun
from retention.stats.alerts import alert_summary, open_alerts
from retention.stats.archived import ArchiveSize, measure_archive
from retention.stats.conditions import CREATED_AGAIN
from retention.stats.history import iso, last_run
from retention.stats.points import PointCount, count_raw_points
from retention.stats.sizes import TierSize, measure_tiers, tier_sizes
from retention.tiers.chunks import EARLIER, SO_FAR, Outcome

GB = 2**30  # AWS prices "GB-month" with GB = 2^30 bytes
SIZE_SOURCE = "InfluxDB's own size accounting (1.x SHOW STATS shard diskBytes, 2.x /metrics)"

LAST_RUNS = {
    "last_downsample_hot_to_warm": RetentionRun.Operation.DOWNSAMPLE_HOURLY,
    "last_downsample_warm_to_cold": RetentionRun.Operation.DOWNSAMPLE_DAILY,
    "last_archive_to_s3": RetentionRun.Operation.ARCHIVE,
}


# --- Measuring ---------------------------------------------------------------------------
# The runs whose deleted raw points `raw_points_removed` counts.
REAL_RUN, Op = ~Q(status=RetentionRun.Status.DRY_RUN), RetentionRun.Operation
HOURLY_RAW_DELETES = Q(operation=Op.DOWNSAMPLE_HOURLY, records_deleted__gt=0)
DAILY_RAW_DELETES = Q(operation=Op.DOWNSAMPLE_DAILY, details__raw_points_deleted__gt=0)
# Deleted by raw -> hourly runs the database forgot, counted by the run that found their rows.
FORGOTTEN_DELETES = Q(operation=Op.DOWNSAMPLE_HOURLY, details__raw_points_forgotten__gt=0)


def raw_points_removed() -> tuple[int, int]:
    """(raw points deleted, number of runs that deleted some; dry runs excluded): Σ
    records_deleted of raw -> hourly downsampling plus Σ `details["raw_points_deleted"]` of
    hourly -> daily downsampling (the raw states of sparse entities, retention.tiers.density),
    a running run's as it recorded them so far."""
    hourly = RetentionRun.objects.filter(REAL_RUN, HOURLY_RAW_DELETES)
    daily = RetentionRun.objects.filter(REAL_RUN, DAILY_RAW_DELETES).annotate(
        raw=Cast(KT("details__raw_points_deleted"), BigIntegerField())
    )
    forgotten = RetentionRun.objects.filter(REAL_RUN, FORGOTTEN_DELETES).annotate(
        raw=Cast(KT("details__raw_points_forgotten"), BigIntegerField())
    )
    points = hourly.aggregate(n=Sum("records_deleted"))["n"] or 0
    points += daily.aggregate(n=Sum("raw"))["n"] or 0
    points += forgotten.aggregate(n=Sum("raw"))["n"] or 0
    running = [n for n in map(_deleted_so_far, RetentionRun.objects.filter(RUNNING)) if n]
    runs = RetentionRun.objects.filter(REAL_RUN, HOURLY_RAW_DELETES | DAILY_RAW_DELETES
                                       | FORGOTTEN_DELETES).count()  # fmt: skip
    return int(points) + sum(running), runs + len(running)


RUNNING = Q(status=RetentionRun.Status.RUNNING, operation__in=(Op.DOWNSAMPLE_HOURLY,
            Op.DOWNSAMPLE_DAILY))  # fmt: skip


def _deleted_so_far(run: RetentionRun) -> int:
    """The raw points a running tier run deleted so far, as it records them after each day
    (retention.tiers.chunks.save_so_far; a retry's earlier attempts too): the raw tier has
    shrunk by them already, so the raw equivalent counts them."""
    details = run.details or {}
    done = Outcome.saved_as(details.get(SO_FAR)) or Outcome()
    done = done.after(details.get(EARLIER))
    return done.deleted if run.operation == Op.DOWNSAMPLE_HOURLY else done.raw_deleted


def archive_bytes() -> tuple[int, int]:
    """(Σ file_size, objects) of the archive objects not expired."""
    objects = ArchiveObject.objects.filter(expired__isnull=True)
    return int(objects.aggregate(total=Sum("file_size"))["total"] or 0), objects.count()


# --- Figures -----------------------------------------------------------------------------
def _gb(nbytes: int | float) -> float:
    return round(nbytes / GB, 9)  # 1e-9 GB is about one byte


def _unknown(unit: str, reason: str) -> dict[str, Any]:
    return {"value": None, "unit": unit, "reason": reason}


def _size(nbytes: int, **extra: Any) -> dict[str, Any]:
    return {"value": _gb(nbytes), "unit": "GB", "bytes": nbytes, **extra}


def storage_stats(now: datetime | None = None) -> dict[str, Any]:
    """Every figure of GET /retention/stats (and of the daily `retention_metrics` point)."""
    now = now or datetime.now(UTC)
    price_db = settings.STORAGE_PRICE_DB_GB_MONTH
    price_archive = settings.STORAGE_PRICE_ARCHIVE_GB_MONTH
    currency = settings.STORAGE_PRICE_CURRENCY
    stats: dict[str, Any] = {
        "measured_at": iso(now),
        "units": {
            "GB": "2^30 bytes (the GB of AWS's GB-month prices)",
            "bytes/point": "bytes on disk per InfluxDB point (one series, one timestamp)",
        },
    }

    archive = measure_archive()
    stats["archive_size_gb"] = _archive_figure(archive)
    removed, removing_runs = raw_points_removed()
    stats["raw_points_removed"] = {
        "value": removed,
        "unit": "points",
        "runs": removing_runs,
        "source": "records_deleted of downsample_hourly runs + raw_points_deleted of "
        "downsample_daily runs (of a running run: so far) + raw_points_forgotten of "
        "downsample_hourly runs",
    }

    tiers: dict[str, TierSize] | None = None
    try:
        tiers = measure_tiers()
    except TimeseriesError as exc:
        reason = unreadable("InfluxDB's sizes", exc)  # the log has its address, not the API
        stats["current_db_size_gb"] = _unknown("GB", reason)
    if tiers is not None:
        stats["current_db_size_gb"] = _total(tiers)

    per_point = _bytes_per_point(tiers)
    stats["raw_bytes_per_point"] = per_point
    saved = _storage_saved(tiers, per_point, removed)
    stats.update(saved)
    lost = lost_rows_note()

    if stats["storage_saved_gb"]["value"] is None:
        stats["annual_cost_savings"] = _unknown(
            f"{currency}/year", f"storage saved is unknown: {stats['storage_saved_gb']['reason']}"
        )
    elif archive.bytes is None:
        stats["annual_cost_savings"] = _unknown(
            f"{currency}/year", f"the archive's size is unknown: {archive.reason}"
        )
    else:
        archived = archive.bytes
        saved_bytes = Fraction(stats["storage_saved_gb"]["bytes"])
        savings = (saved_bytes / GB) * Fraction(str(price_db)) * 12 - (
            Fraction(archived, GB) * Fraction(str(price_archive)) * 12
        )
        stats["annual_cost_savings"] = {
            "value": round(float(savings), 4),
            "unit": f"{currency}/year",
            "formula": "storage_saved_gb × db price × 12 − archive_size_gb × archive price × 12",
            "db_price_per_gb_month": price_db,
            "archive_price_per_gb_month": price_archive,
        }
    for figure in ("storage_saved_gb", "reduction_percentage", "annual_cost_savings"):
        if lost and stats[figure]["value"] is not None:  # computed from the lost rows too
            stats[figure]["note"] = lost

    for name, operation in LAST_RUNS.items():
        stats[name] = last_run(operation)
    stats["open_alerts"] = [alert_summary(a) for a in open_alerts()]
    return stats


def lost_rows_note() -> str:
    """What the savings count as saved since a real tier run created a dropped tier policy
    again (its `details.policies_created_again`, retention.stats.conditions): the rows the
    policy lost with it ("" when no run did)."""
    runs = RetentionRun.objects.filter(REAL_RUN, details__has_key=CREATED_AGAIN)
    said = [
        f"the {run.get_operation_display()} run {run.pk} (started {run.started:%Y-%m-%d %H:%M} "
        f"UTC) created {' and '.join(map(repr, run.details[CREATED_AGAIN]))} again"
        for run in runs.order_by("started", "pk")
    ]
    if not said:
        return ""
    return (
        f"Since {'; since '.join(said)}, after it was dropped (DROP RETENTION POLICY) with its "
        "rows, the savings include those lost rows, counted as saved: enrich cannot tell how "
        "many bytes they held (the run's details.policies_created_again)"
    )


def _archive_figure(archive: ArchiveSize) -> dict[str, Any]:
    recorded = {"recorded_bytes": archive.recorded_bytes,
                "recorded_objects": archive.recorded_objects}  # fmt: skip
    if archive.bytes is None:
        return {**_unknown("GB", archive.reason), **recorded}
    lacking = {"missing": list(archive.missing), "changed": list(archive.changed)}
    note = {"note": archive.note()} if archive.note() else {}
    return _size(archive.bytes, objects=archive.objects, **recorded, **lacking, **note)


def _tier_figure(tier: TierSize) -> dict[str, Any]:
    where = {"database": tier.database, "retention_policies": list(tier.retention_policies)}
    if tier.bytes is None:
        return {**_unknown("GB", tier.reason), **where}
    return _size(tier.bytes, **where, **({"note": tier.note} if tier.note else {}))


def _unmeasured(tiers: dict[str, TierSize], names: tuple[str, ...]) -> str:
    """The reasons of the tiers among `names` that were not measured ("" when all were)."""
    return "; ".join(tiers[n].reason for n in names if tiers[n].bytes is None)


def _total(tiers: dict[str, TierSize]) -> dict[str, Any]:
    figures = {t.name: _tier_figure(t) for t in tiers.values()}
    missing = _unmeasured(tiers, tuple(tiers))
    if missing:
        return {**_unknown("GB", missing), "source": SIZE_SOURCE, "tiers": figures}
    total = sum(t.bytes or 0 for t in tiers.values())
    return _size(total, source=SIZE_SOURCE, tiers=figures)


def _bytes_per_point(tiers: dict[str, TierSize] | None) -> dict[str, Any]:
    unit = "bytes/point"
    if tiers is None:
        return _unknown(unit, "the raw tier's size is unknown (InfluxDB's sizes not readable)")
    raw = tiers["raw"]
    if raw.bytes is None:
        return _unknown(unit, raw.reason)
    if not raw.retention_policies:
        return _unknown(
            unit,
            f"Home Assistant's database {raw.database!r} holds no data on disk yet "
            "(no shards), so there is nothing to measure bytes per point on",
        )
    try:
        counted = count_raw_points(raw.database, raw.retention_policies)
    except TimeseriesError as exc:
        return _unknown(unit, unreadable("the raw points", exc))
    if counted.points == 0:
        return _unknown(
            unit,
            f"the raw tier ({raw.database!r}: {', '.join(raw.retention_policies)}) holds "
            f"{raw.bytes} bytes but no points (deleted data awaiting compaction), so bytes "
            "per point cannot be measured until Home Assistant writes again",
        )
    figure: dict[str, Any] = {
        "value": round(raw.bytes / counted.points, 6),
        "unit": unit,
        "bytes": raw.bytes,
        "points": counted.points,
        "exact": counted.exact,
        "method": "raw tier bytes / points counted by InfluxDB over the state fields",
    }
    if not counted.exact:
        figure["note"] = (
            "measurements without a value/state/state_value field were counted by their "
            "largest field count (a lower bound of their points): "
            + ", ".join(counted.lower_bound_measurements)
        )
    return figure


def _storage_saved(
    tiers: dict[str, TierSize] | None, per_point: dict[str, Any], removed: int
) -> dict[str, Any]:
    names = ("raw_equivalent_size_gb", "storage_saved_gb", "reduction_percentage")
    units = ("GB", "GB", "%")
    if tiers is None:
        reason = "the tier sizes are unknown (InfluxDB's sizes not readable)"
        return {n: _unknown(u, reason) for n, u in zip(names, units, strict=True)}
    missing = _unmeasured(tiers, ("raw", "hourly", "daily"))
    if missing:
        return {n: _unknown(u, missing) for n, u in zip(names, units, strict=True)}
    raw = tiers["raw"].bytes or 0
    current = sum(tiers[t].bytes or 0 for t in ("raw", "hourly", "daily"))
    if removed == 0:
        raw_equivalent = raw  # nothing deleted: all data is still where it was
    elif per_point["value"] is None:
        reason = (
            f"{removed} raw points were removed, but raw bytes per point is unknown: "
            f"{per_point['reason']}"
        )
        return {n: _unknown(u, reason) for n, u in zip(names, units, strict=True)}
    else:
        removed_bytes = Fraction(removed * per_point["bytes"], per_point["points"])
        raw_equivalent = raw + round(removed_bytes)
    saved = raw_equivalent - current
    result = {
        "raw_equivalent_size_gb": _size(
            raw_equivalent, formula="raw bytes + raw_points_removed × raw_bytes_per_point"
        ),
        "storage_saved_gb": _size(
            saved, formula="raw equivalent − (raw + hourly + daily tier bytes)"
        ),
    }
    if raw_equivalent == 0:
        result["reduction_percentage"] = _unknown(
            "%", "no raw data has been stored or removed yet: nothing to reduce"
        )
    else:
        result["reduction_percentage"] = {
            "value": round(saved / raw_equivalent * 100, 4),
            "unit": "%",
            "formula": "storage_saved / raw equivalent × 100",
        }
    return result


__all__ = [
    "GB",
    "PointCount",
    "TierSize",
    "archive_bytes",
    "count_raw_points",
    "measure_tiers",
    "raw_points_removed",
    "storage_stats",
    "tier_sizes",
]
