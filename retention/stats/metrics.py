"""The daily `retention_metrics` point: today's figures of `storage_stats`, written to
INFLUXDB_DATABASE at the UTC day start so the storage trend can be drawn (GET /retention/metrics)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from enrich.influx import get_timeseries, quote_ident
from enrich.readings import Reading
from retention.schema import METRICS_MEASUREMENT
from retention.stats.measure import storage_stats
from retention.timeutil import floor_day

logger = logging.getLogger(__name__)


def metrics_reading(stats: Mapping[str, Any], day: datetime) -> Reading:
    """The `retention_metrics` point of `stats` at `day` (UTC midnight). Unknown figures are
    left out (InfluxDB has no null) and listed with their reason in the `unmeasured` field."""
    fields: dict[str, Any] = {}
    unmeasured = []

    def put(name: str, figure: Mapping[str, Any], *extra: tuple[str, str]) -> None:
        if figure.get("value") is None:
            unmeasured.append(f"{name}: {figure.get('reason', 'unknown')}")
            return
        fields[name] = float(figure["value"])
        for field_name, key in extra:
            fields[field_name] = figure[key]

    put("current_db_size_gb", stats["current_db_size_gb"], ("current_db_size_bytes", "bytes"))
    for tier, size in stats["current_db_size_gb"].get("tiers", {}).items():
        if size.get("value") is None:  # its database does not exist: not a 0
            unmeasured.append(f"{tier}_size_bytes: {size.get('reason', 'unknown')}")
        else:
            fields[f"{tier}_size_bytes"] = size["bytes"]
    archive = stats["archive_size_gb"]
    put("archive_size_gb", archive, ("archive_size_bytes", "bytes"), ("archive_objects", "objects"))
    put("raw_bytes_per_point", stats["raw_bytes_per_point"])
    if stats["raw_bytes_per_point"].get("points") is not None:
        fields["raw_points"] = stats["raw_bytes_per_point"]["points"]
    fields["raw_points_removed"] = stats["raw_points_removed"]["value"]
    put("raw_equivalent_size_gb", stats["raw_equivalent_size_gb"])
    put("storage_saved_gb", stats["storage_saved_gb"], ("storage_saved_bytes", "bytes"))
    put("reduction_percentage", stats["reduction_percentage"])
    put("annual_cost_savings", stats["annual_cost_savings"])
    fields["currency"] = settings.STORAGE_PRICE_CURRENCY
    fields["open_alerts"] = len(stats["open_alerts"])
    if unmeasured:
        fields["unmeasured"] = "; ".join(unmeasured)
    return Reading(METRICS_MEASUREMENT, fields, day)


def record_metrics(now: datetime | None = None) -> Reading:
    """Write today's `retention_metrics` point (UTC day start) into INFLUXDB_DATABASE.

    A rerun the same day replaces the point: InfluxDB would merge the fields of two writes at
    the same time, so a figure that became unknown would keep the earlier run's value; the old
    point is deleted first."""
    now = now or datetime.now(UTC)
    reading = metrics_reading(storage_stats(now), floor_day(now))
    ts = get_timeseries()
    db = settings.INFLUXDB_DATABASE
    existing = (
        f"SELECT * FROM {quote_ident(METRICS_MEASUREMENT)} WHERE time >= $day AND time <= $day"
    )
    with ts.query(db, existing, params={"day": reading.time}) as rows:
        found = next(rows, None) is not None
    if found:
        ts.delete(db, reading.time, reading.time + timedelta(microseconds=1), METRICS_MEASUREMENT)
    ts.write(db, [reading])
    logger.info(
        "retention metrics for %s written to %s.%s (%d fields)",
        reading.time.date(),
        db,
        METRICS_MEASUREMENT,
        len(reading.fields),
    )
    return reading


__all__ = ["metrics_reading", "record_metrics"]
