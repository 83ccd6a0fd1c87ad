"""Dry runs of the tiers: what a run would aggregate and delete and the space expected back,
from the measured bytes per point of each source; nothing is changed. A dry run takes no
lock, so a scheduled run starting meanwhile is not skipped for it.

Sparse entities (`retention.tiers.density`) are counted where their runs delete them: the
hourly dry run leaves out the entity-days whose raw states the hourly tier would keep (it
computes their hours as the run does), and the daily dry run counts the kept raw states it
would compose and delete, at the raw tier's bytes per point.

Before the first run (a fresh install) the tiers' retention policies do not exist yet: the
report names those the run would create first (`creates_retention_policies`) and reads
nothing from them (there is nothing in them to read); a dry run creates nothing.

The report lists only the days with something to aggregate or delete; the other days of the
range (on a fresh install most days since Home Assistant's first state) are counted
(`days_with_nothing` of `days_in_range`) and said in one line (`quiet_days`). With no tiered
entity (discovery never ran) it says so and what to run (`nothing_tiered`, the run's note
too; the daily one only when it has no hourly row to compose either, as its run composes
those of entities tiered earlier); the entities the run would leave out (an id not of the
form domain.object_id) are named in `waiting`, as the run notes them, and the summary of a
run or dry run says them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings

from enrich.influx import get_timeseries, quote_ident
from enrich.wording import counted
from retention.entities import ha_source
from retention.models import Entity
from retention.stats.points import count_raw_points
from retention.tiers import density
from retention.tiers.hourly import HourlyTier
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from retention.tiers.safety import missing_tiers, raw_retention_policy
from retention.timeutil import DAY, utc_midnight


# --- Dry run ----------------------------------------------------------------------------------
def _points_in(database: str, rp: str) -> int:
    """Points in a retention policy: per measurement the largest field count (a point has at
    least one field; fields present in every point give the exact number: an aggregate row's
    `sample_count`)."""
    ts = get_timeseries()
    total = 0
    target = f"{quote_ident(database)}.{quote_ident(rp)}./.*/"
    with ts.query(database, f"SELECT COUNT(*) FROM {target}") as rows:
        for row in rows:
            counts = [int(v) for v in row.values.values() if isinstance(v, int | float)]
            total += max(counts, default=0)
    return total


def _per_day(
    days: list[date],
    labels: tuple[str, str],
    count: Callable[[date], tuple[dict[str, int], int]],
    progress,
) -> tuple[list[dict[str, Any]], int, int, set[str]]:
    """`count(day)` (points per entity id, and the kept raw states) for every day the run
    would work on: the days as the report lists them (the sums under `labels`, the second
    where there are any), both totals, the entities that have any points."""
    per_day = []
    total = kept_total = 0
    entities: set[str] = set()
    for n, day in enumerate(days):
        counts, kept = count(day)
        points = sum(counts.values())
        entities.update(k for k, v in counts.items() if v)
        per_day.append(
            {"day": day.isoformat(), labels[0]: points, **({labels[1]: kept} if kept else {})}
        )
        total += points
        kept_total += kept
        if progress:
            progress(n + 1, len(days), day.isoformat())
    return per_day, total, kept_total, entities


def _days(per_day: list[dict[str, Any]], labels: tuple[str, str]) -> dict[str, Any]:
    """The days the report lists (those with something to aggregate or delete) and how many
    of the range's days have nothing."""
    listed = [day for day in per_day if day[labels[0]] or day.get(labels[1])]
    return {
        "days": listed,
        "days_in_range": len(per_day),
        "days_with_nothing": len(per_day) - len(listed),
        "first_day": per_day[0]["day"] if per_day else None,
        "last_day": per_day[-1]["day"] if per_day else None,
    }


def quiet_days(details: dict[str, Any]) -> str:
    """One line for the days of the range the report leaves out ("" when it lists them all)."""
    quiet = details.get("days_with_nothing") or 0
    if not quiet:
        return ""
    if details.get("tier") == "hourly":
        what = "raw point of a tiered entity (not listed): nothing to delete there; the run "
        what += (
            "gives a value that holds through them their hours (an entity whose states per day "
            "are measured keeps its raw states there, none: the daily tier gives it the days)"
        )
    else:
        what = "hourly row (not listed): nothing to compose or delete there"
    return (
        f"{quiet:,} of the {counted(details['days_in_range'], 'day')} from "
        f"{details['first_day']} to {details['last_day']} {'holds' if quiet == 1 else 'hold'} "
        f"no {what}"
    )


def nothing_tiered(dry_run: bool) -> str:
    """What to do when no entity is tiered (nothing is downsampled then), "" once one is: the
    dry run's `nothing_tiered` and the run's note both say it, worded for each."""
    if Entity.objects.filter(tiered=True).exists():
        return ""
    again = "dry-run again" if dry_run else "run again"
    registered = Entity.objects.count()
    if not registered:
        return (
            "nothing is tiered yet: the entity registry is empty (discovery has not run). Run "
            '`manage.py discover_entities`, or wait for the daily "Discover Home Assistant '
            f'entities" (admin -> Periodic tasks), then {again}'
        )
    return (
        f"nothing is tiered: none of the {registered} registered entities is tiered; tick "
        f"'tiered' on those to downsample (admin -> Retention -> Entities), then {again}"
    )


def _nothing_tiered(to_compose: int = 0) -> dict[str, str]:
    """The dry run's `nothing_tiered` (left out once an entity is tiered, or while the daily
    tier has `to_compose` hourly rows: the daily run composes those of entities tiered
    earlier all the same, and notes nothing)."""
    text = "" if to_compose else nothing_tiered(dry_run=True)
    return {"nothing_tiered": text} if text else {}


def _raw_points_in(database: str, rp: str) -> int:
    """Points of Home Assistant's raw data, counted as GET /retention/stats counts them: a
    number is written as `value` alone and a text state as `state` alone, so no field need be
    in every point (`_points_in` took half of such a sensor's points)."""
    return count_raw_points(database, (rp,)).points


def _space(
    database: str, rp: str, deleted: int, exists: bool = True, count=_points_in
) -> dict[str, Any]:
    """The source's size, its points (`count`), and the space deleting `deleted` of them gives
    back (none of each where the retention policy does not exist yet)."""
    size = get_timeseries().sizes().get((database, rp), 0) if exists else 0
    points = count(database, rp) if exists else 0
    per_point = size / points if points else None
    return {
        "source_bytes": size,
        "source_points": points,
        "bytes_per_point": per_point,
        "expected_freed_bytes": round(per_point * deleted) if per_point else None,
    }


def dry_run_hourly(tier, progress=None) -> dict:
    """What a run would aggregate and delete, changing nothing. The entity-days the run would
    keep as InfluxDB holds them (`retention.tiers.forgotten`: the tiers exist) are named in
    `waiting` as the run names them, their raw points (late ones) not among those aggregated."""
    kept_entities: set[str] = set()
    days = tier.work_days()
    look = HOURLY_RP not in missing_tiers()  # else no row of a forgotten run to find

    def raw_points(day: date) -> tuple[dict[str, int], int]:
        start = utc_midnight(day)
        taken = tier.forgotten.leave(day, tier.entities, days) if look else tier.entities
        counts = {
            e.entity_id: ha_source.count_samples(e, start, start + DAY, database=tier.database)
            for e in taken
        }
        kept = 0
        for entity in taken:
            if _keeps_states(tier, entity, day, counts[entity.entity_id]):
                kept += counts.pop(entity.entity_id)
                kept_entities.add(entity.entity_id)
        return counts, kept

    labels = ("raw_points", "kept_raw_points")
    per_day, total, kept, entities = _per_day(days, labels, raw_points, progress)
    return {
        **_creates(missing_tiers()),
        **_nothing_tiered(),
        # entities the run leaves out and days it keeps as they are, as it notes them
        "waiting": list(tier.outcome.waiting) + tier.forgotten.notes(),
        "tier": "hourly",
        "source": f"{tier.database}/{tier.raw_rp}",
        "target": f"{settings.TIER_DATABASE}/{HOURLY_RP}",
        "horizon": tier.horizon.isoformat(),
        **_days(per_day, labels),
        "entities": sorted(entities),
        "tiered_entities": len(tier.entities),
        "raw_points": total,
        "would_delete_points": total,
        "kept_raw_points": kept,
        "kept_entities": sorted(kept_entities),
        "hourly_rows_at_most": 24 * len(per_day) * len(tier.entities),
        **_space(tier.database, tier.raw_rp, total, count=_raw_points_in),
        "note": "bytes per point measured: the raw retention policy's size by InfluxDB's "
        "accounting divided by its points; InfluxDB returns the space at its next compaction. "
        "kept_raw_points: the raw states of sparse entities that the hourly tier keeps instead "
        "of writing more hourly rows; the daily tier deletes them",
    }


def _keeps_states(tier, entity, day: date, raw_points: int) -> bool:
    """Whether the run would keep the entity's raw states of the day (density.keeps_states):
    only a measured entity with no more states than a day has hours, so only then are its
    hours computed."""
    if entity.states_per_day is None or not 0 < raw_points <= 24:
        return False
    item = tier.compute(entity, day)
    return bool(item.rows) and density.keeps_states(item)


def _creates(missing: list[str]) -> dict[str, Any]:
    """The tiers' retention policies the run would create first (none once they exist)."""
    database = settings.TIER_DATABASE
    return {"creates_retention_policies": [f"{database}/{rp}" for rp in missing]}


def dry_run_daily(tier, progress=None) -> dict:
    deleted = {"hourly": 0}
    missing = missing_tiers()
    hourly_tier = HOURLY_RP not in missing  # else the first run creates it: no row to read

    def hourly_rows(day: date) -> tuple[dict[str, int], int]:
        start = utc_midnight(day)
        rows = read_rows(HOURLY_RP, start, start + DAY) if hourly_tier else {}
        deleted["hourly"] += sum(len(entity_rows) for entity_rows in rows.values())
        composer = HourlyTier(None, None, start)
        try:
            kept = density.add_kept_days(day, rows, composer)
        finally:
            composer.close()
        raw = sum(row.points for entity_id in kept for row in rows[entity_id])
        return {entity_id: len(entity_rows) for entity_id, entity_rows in rows.items()}, raw

    labels = ("hourly_rows", "kept_raw_points")
    days = tier.work_days(hourly_tier)
    per_day, total, kept, entities = _per_day(days, labels, hourly_rows, progress)
    database = settings.TIER_DATABASE
    hourly = _space(database, HOURLY_RP, deleted["hourly"], hourly_tier)
    raw_database = settings.HA_INFLUXDB_DATABASE
    raw_rp = raw_retention_policy()
    raw = (
        _space(raw_database, raw_rp, kept, count=_raw_points_in)
        if kept
        else {"expected_freed_bytes": None}
    )
    freed = [f for f in (hourly["expected_freed_bytes"], raw["expected_freed_bytes"]) if f]
    return {
        **_creates(missing),
        **_nothing_tiered(total),
        "waiting": list(tier.outcome.waiting),
        "tier": "daily",
        "source": f"{database}/{HOURLY_RP}",
        "target": f"{database}/{DAILY_RP}",
        "horizon": tier.horizon.isoformat(),
        **_days(per_day, labels),
        "entities": sorted(entities),
        "hourly_rows": total,
        "would_delete_points": deleted["hourly"] + kept,
        "kept_raw_points": kept,
        "daily_rows_at_most": len(entities) * len(per_day),
        **hourly,
        "kept_raw": {"source": f"{raw_database}/{raw_rp}", "points": kept, **raw},
        "expected_freed_bytes": sum(freed) if freed else None,
        "note": "bytes per point measured: the hourly tier's size by InfluxDB's accounting "
        "divided by its rows (kept_raw: the raw tier's, for the raw states of sparse entities "
        "the hourly tier kept, composed here and deleted); hourly_rows counts the hours "
        "composed, the kept entities' made from their raw states; InfluxDB returns the space "
        "at its next compaction",
    }
