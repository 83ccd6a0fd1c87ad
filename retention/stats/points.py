"""Points of the raw tier, counted by InfluxDB: the denominator of `raw_bytes_per_point` in
retention.stats.measure (docs/storage.md, "Storage statistics and alerts")."""

from __future__ import annotations

from dataclasses import dataclass, field

from enrich.influx import get_timeseries, quote_ident

# The fields every Home Assistant point carries at least one of (as retention.entities.ha_source):
# official layout `value` and/or `state`; HA Ingestor `state_value` (or the older `state`).
STATE_FIELDS = ("value", "state", "state_value")


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
    """
    ts = get_timeseries()
    result = PointCount()
    for rp in retention_policies:
        source = f"{quote_ident(database)}.{quote_ident(rp)}./.*/"
        counts = ", ".join(f'COUNT({quote_ident(f)}) AS "n_{f}"' for f in STATE_FIELDS)
        counted = set()
        for row in ts.query(database, f"SELECT {counts} FROM {source}"):
            counted.add(row.measurement)
            result.points += sum(int(row.values.get(f"n_{f}") or 0) for f in STATE_FIELDS)
        # `/./`, not `/.*/`: where no measurement has a `state` field InfluxDB takes "state"
        # for a tag, empty on every point, and `/.*/` would match (and subtract) them all.
        overlap = (
            f'SELECT COUNT("value") AS "value_and_state", COUNT("state_value") AS '
            f'"state_value_and_state" FROM {source} WHERE "state" =~ /./'
        )
        for row in ts.query(database, overlap):
            result.points -= int(row.values.get("value_and_state") or 0)
            result.points -= int(row.values.get("state_value_and_state") or 0)
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


__all__ = ["STATE_FIELDS", "PointCount", "count_raw_points"]
