"""Dry runs of the tiers: what a run would aggregate and delete and the space expected back,
from the measured bytes per point of the source tier; nothing is changed. A dry run takes no
lock, so a scheduled run starting meanwhile is not skipped for it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from enrich.influx import get_timeseries, quote_ident
from retention.entities import ha_source
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from retention.timeutil import utc_midnight


# --- Dry run ----------------------------------------------------------------------------------
def _points_in(database: str, rp: str) -> int:
    """Points in a retention policy: per measurement the largest field count (a point has at
    least one field; fields present in every point give the exact number)."""
    ts = get_timeseries()
    total = 0
    target = f"{quote_ident(database)}.{quote_ident(rp)}./.*/"
    with ts.query(database, f"SELECT COUNT(*) FROM {target}") as rows:
        for row in rows:
            counts = [int(v) for v in row.values.values() if isinstance(v, int | float)]
            total += max(counts, default=0)
    return total


def _bytes_per_point(database: str, rp: str) -> tuple[float | None, int, int]:
    size = get_timeseries().sizes().get((database, rp), 0)
    points = _points_in(database, rp)
    return (size / points if points else None), size, points


def dry_run_hourly(tier, progress=None) -> dict:
    """What a run would aggregate and delete, changing nothing."""
    days = tier.work_days()
    per_day = []
    total = 0
    entities: set[str] = set()
    for n, day in enumerate(days):
        start = utc_midnight(day)
        counts = {
            e.entity_id: ha_source.count_samples(
                e, start, start + timedelta(days=1), database=tier.database
            )
            for e in tier.entities
        }
        points = sum(counts.values())
        entities.update(k for k, v in counts.items() if v)
        per_day.append({"day": day.isoformat(), "raw_points": points})
        total += points
        if progress:
            progress(n + 1, len(days), day.isoformat())
    per_point, size, stored = _bytes_per_point(tier.database, tier.raw_rp)
    return {
        "tier": "hourly",
        "source": f"{tier.database}/{tier.raw_rp}",
        "target": f"{settings.TIER_DATABASE}/{HOURLY_RP}",
        "horizon": tier.horizon.isoformat(),
        "days": per_day,
        "entities": sorted(entities),
        "tiered_entities": len(tier.entities),
        "raw_points": total,
        "would_delete_points": total,
        "hourly_rows_at_most": 24 * len(days) * len(tier.entities),
        "source_bytes": size,
        "source_points": stored,
        "bytes_per_point": per_point,
        "expected_freed_bytes": round(per_point * total) if per_point else None,
        "note": "bytes per point measured: the raw retention policy's size by InfluxDB's "
        "accounting divided by its points; InfluxDB returns the space at its next compaction",
    }


def dry_run_daily(tier, progress=None) -> dict:
    days = tier.work_days()
    per_day = []
    total = 0
    entities: set[str] = set()
    for n, day in enumerate(days):
        rows = read_rows(HOURLY_RP, utc_midnight(day), utc_midnight(day) + timedelta(days=1))
        count = sum(len(r) for r in rows.values())
        entities.update(rows)
        per_day.append({"day": day.isoformat(), "hourly_rows": count})
        total += count
        if progress:
            progress(n + 1, len(days), day.isoformat())
    database = settings.TIER_DATABASE
    per_point, size, stored = _bytes_per_point(database, HOURLY_RP)
    return {
        "tier": "daily",
        "source": f"{database}/{HOURLY_RP}",
        "target": f"{database}/{DAILY_RP}",
        "horizon": tier.horizon.isoformat(),
        "days": per_day,
        "entities": sorted(entities),
        "hourly_rows": total,
        "would_delete_points": total,
        "daily_rows_at_most": len(entities) * len(days),
        "source_bytes": size,
        "source_points": stored,
        "bytes_per_point": per_point,
        "expected_freed_bytes": round(per_point * total) if per_point else None,
        "note": "bytes per point measured: the hourly tier's size by InfluxDB's accounting "
        "divided by its rows; InfluxDB returns the space at its next compaction",
    }
