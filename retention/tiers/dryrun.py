"""Dry runs of the tiers: what a run would aggregate and delete and the space expected back,
from the measured bytes per point of the source tier; nothing is changed. A dry run takes no
lock, so a scheduled run starting meanwhile is not skipped for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

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


def _per_day(
    tier, label: str, count: Callable[[date], dict[str, int]], progress
) -> tuple[list[dict[str, Any]], int, set[str]]:
    """`count(day)` (points per entity id) for every day the run would work on: the days as
    the report lists them (the sum under `label`), the total, the entities that have any."""
    days = tier.work_days()
    per_day = []
    total = 0
    entities: set[str] = set()
    for n, day in enumerate(days):
        counts = count(day)
        points = sum(counts.values())
        entities.update(k for k, v in counts.items() if v)
        per_day.append({"day": day.isoformat(), label: points})
        total += points
        if progress:
            progress(n + 1, len(days), day.isoformat())
    return per_day, total, entities


def _space(database: str, rp: str, deleted: int) -> dict[str, Any]:
    """The source's size, its points, and the space deleting `deleted` of them gives back."""
    size = get_timeseries().sizes().get((database, rp), 0)
    points = _points_in(database, rp)
    per_point = size / points if points else None
    return {
        "source_bytes": size,
        "source_points": points,
        "bytes_per_point": per_point,
        "expected_freed_bytes": round(per_point * deleted) if per_point else None,
    }


def dry_run_hourly(tier, progress=None) -> dict:
    """What a run would aggregate and delete, changing nothing."""

    def raw_points(day: date) -> dict[str, int]:
        start = utc_midnight(day)
        end = start + timedelta(days=1)
        return {
            e.entity_id: ha_source.count_samples(e, start, end, database=tier.database)
            for e in tier.entities
        }

    per_day, total, entities = _per_day(tier, "raw_points", raw_points, progress)
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
        "hourly_rows_at_most": 24 * len(per_day) * len(tier.entities),
        **_space(tier.database, tier.raw_rp, total),
        "note": "bytes per point measured: the raw retention policy's size by InfluxDB's "
        "accounting divided by its points; InfluxDB returns the space at its next compaction",
    }


def dry_run_daily(tier, progress=None) -> dict:
    def hourly_rows(day: date) -> dict[str, int]:
        rows = read_rows(HOURLY_RP, utc_midnight(day), utc_midnight(day) + timedelta(days=1))
        return {entity_id: len(entity_rows) for entity_id, entity_rows in rows.items()}

    per_day, total, entities = _per_day(tier, "hourly_rows", hourly_rows, progress)
    database = settings.TIER_DATABASE
    return {
        "tier": "daily",
        "source": f"{database}/{HOURLY_RP}",
        "target": f"{database}/{DAILY_RP}",
        "horizon": tier.horizon.isoformat(),
        "days": per_day,
        "entities": sorted(entities),
        "hourly_rows": total,
        "would_delete_points": total,
        "daily_rows_at_most": len(entities) * len(per_day),
        **_space(database, HOURLY_RP, total),
        "note": "bytes per point measured: the hourly tier's size by InfluxDB's accounting "
        "divided by its rows; InfluxDB returns the space at its next compaction",
    }
