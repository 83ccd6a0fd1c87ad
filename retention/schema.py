"""The names enrich gives what it stores in InfluxDB, once: the tiers' measurement and
retention policies, the storage metrics and the archive's metadata (DESIGN.md's table)."""

# One row per entity and hour (`enrich_hourly`) or day (`enrich_daily`), in the HA database.
TIER_MEASUREMENT = "entity_aggregates"
HOURLY_RP = "enrich_hourly"
DAILY_RP = "enrich_daily"

# Daily storage measurements (retention.stats.metrics) and archive bookkeeping (retention.archive.run).
METRICS_MEASUREMENT = "retention_metrics"
ARCHIVE_METADATA_MEASUREMENT = "archive_metadata"
