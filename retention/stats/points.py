"""Points of the raw tier, counted by InfluxDB: the denominator of `raw_bytes_per_point` in
retention.stats.measure (docs/storage.md, "Storage statistics and alerts")."""

from __future__ import annotations

from dataclasses import dataclass, field

from enrich.influx import get_timeseries, quote_ident

# The fields every Home Assistant point carries at least one of (as retention.entities.ha_source):
# official layout `value` and/or `state`; HA Ingestor `state_value` (or the older `state`).
STATE_FIELDS = ("value", "state", "state_value")
# The casts that together count every value of a field once: `::float` takes integers too.
TYPED = ("float", "string", "boolean")


@dataclass
class PointCount:
    """Points of the raw tier. `exact` is False when some measurement has none of the state
    fields: its points are then counted as its largest per-field count (a lower bound)."""

    points: int = 0
    exact: bool = True
    lower_bound_measurements: list[str] = field(default_factory=list)


def count_raw_points(database: str, retention_policies: tuple[str, ...]) -> PointCount:
    """Points (one per series and timestamp) in the raw tier, counted by InfluxDB.

    `COUNT(*)` counts field values, not points. Every Home Assistant point carries `value`,
    `state` or `state_value`, so per retention policy:
        points = COUNT(value) + COUNT(state) + COUNT(state_value)
                 − COUNT(value WHERE state present) − COUNT(state_value WHERE state present)
    (the official integration writes on/off states with both `value` and `state`; no writer
    puts `value` and `state_value` in one point). Two queries over the state fields only,
    across all measurements; measurements without any state field get a third query.

    Each field is counted once per type (`TYPED`; `::float` takes integers too): a COUNT
    without a cast reads a field in one type, the highest among the shards and measurements
    it reads (float > integer > string > boolean), and counts no value of the others, such as
    a boolean `value` beside other measurements' numbers, or a string `value` in a newer shard
    of a measurement whose older shards hold numbers.
    """
    ts = get_timeseries()
    result = PointCount()
    for rp in retention_policies:
        source = f"{quote_ident(database)}.{quote_ident(rp)}./.*/"
        counted = set()
        for row in ts.query(database, f"SELECT {_typed_counts(STATE_FIELDS)} FROM {source}"):
            counted.add(row.measurement)
            result.points += _sum(row.values)
        # `/./`, not `/.*/`: where no measurement has a `state` field InfluxDB takes "state"
        # for a tag, empty on every point, and `/.*/` would match (and subtract) them all.
        overlap = (
            f'SELECT {_typed_counts(("value", "state_value"))} FROM {source} WHERE "state" =~ /./'
        )
        for row in ts.query(database, overlap):
            result.points -= _sum(row.values)
        others = [m for m in ts.measurements(database) if m not in counted]
        if others:
            sources = ", ".join(
                f"{quote_ident(database)}.{quote_ident(rp)}.{quote_ident(m)}" for m in others
            )
            for row in ts.query(database, f"SELECT COUNT(*) FROM {sources}"):
                result.points += max(int(v or 0) for v in row.values.values())
                result.exact = False
                result.lower_bound_measurements.append(row.measurement)
    return result


def _typed_counts(fields: tuple[str, ...]) -> str:
    """COUNT of each field in each of its types (`count_raw_points`), as columns n_0, n_1, ..."""
    terms = [f"{quote_ident(f)}::{kind}" for f in fields for kind in TYPED]
    return ", ".join(f'COUNT({term}) AS "n_{n}"' for n, term in enumerate(terms))


def _sum(values: dict) -> int:
    return sum(int(v or 0) for k, v in values.items() if k.startswith("n_"))


__all__ = ["STATE_FIELDS", "PointCount", "count_raw_points"]
