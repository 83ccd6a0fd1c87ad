"""What retention's tiers leave of an entity's days, written directly for the view tests: the
hourly tier's rows (raw deleted) or the daily tier's."""

from datetime import UTC, date, datetime, timedelta

from enrich.influx import RetentionTier, get_timeseries
from enrich.readings import Reading
from retention import models
from retention.entities.ha_source import read_samples
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import hour_windows
from tests.retention.conftest import HaDatabase


def write_hourly_tier(ha_db: HaDatabase, entity: models.Entity, day_start: datetime) -> None:
    """What retention's hot -> warm step writes: one row per UTC hour of the day; then the
    day's raw points are deleted (before writing: a 1.x DELETE spans every policy)."""
    ts = get_timeseries()
    ts.create_database(ha_db.name, tiers=[RetentionTier("enrich_hourly", "INF")])
    windows = hour_windows(day_start, day_start + timedelta(days=1))
    samples = list(read_samples(entity, windows[0][0], windows[-1][1]))
    rows = aggregate_windows(entity.kind, samples, windows)
    ts.delete(ha_db.name, day_start, day_start + timedelta(days=1), measurement=entity.measurement)
    readings = [
        Reading("entity_aggregates", agg.to_fields(), agg.window_start,
                {"entity_id": entity.entity_id, "kind": entity.kind})
        for agg in rows
        if agg is not None
    ]  # fmt: skip
    ts.write(ha_db.name, readings, retention_policy="enrich_hourly")


def write_daily_tier(ha_db: HaDatabase, entity: models.Entity, days: list[date]) -> None:
    """What retention's warm -> cold step leaves: one row per UTC day, no raw points."""
    ts = get_timeseries()
    ts.create_database(ha_db.name, tiers=[RetentionTier("enrich_daily", "INF")])
    readings = []
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = start + timedelta(days=1)
        samples = list(read_samples(entity, start, end))
        [row] = aggregate_windows(entity.kind, samples, [(start, end)])
        ts.delete(ha_db.name, start, end, measurement=entity.measurement)
        readings.append(Reading("entity_aggregates", row.to_fields(), start,
                                {"entity_id": entity.entity_id, "kind": entity.kind}))  # fmt: skip
    ts.write(ha_db.name, readings, retention_policy="enrich_daily")
