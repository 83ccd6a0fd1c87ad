"""The beat schedule: one table, installed into django-celery-beat's tables on start.

`manage.py install_schedules` (enrich/schedules.py) creates a periodic task for each row
whose name is not in the database yet and updates rows nobody edited when this table changes;
rows edited in the Django admin are kept, so admin edits survive restarts. `expires` is a little under the interval: a run that could not start in time is
dropped instead of piling up behind the next one.
"""

from dataclasses import dataclass

from config.queues import queue_of


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    expires: int  # seconds
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"

    @property
    def queue(self) -> str:
        """The task's queue, from the routes (config/queues.py): declared once."""
        return queue_of(self.task)


SCHEDULE: tuple[Entry, ...] = (
    # PRD FR9 cadences; each dispatch fans out one collect task per (provider, target).
    Entry(
        name="Carbon intensity",
        task="collectors.dispatch_carbon_intensity",
        every_seconds=900,
        expires=840,
    ),
    Entry(
        name="Electricity prices",
        task="collectors.dispatch_electricity_pricing",
        every_seconds=3600,
        expires=3300,
    ),
    Entry(
        # The price point of the running slot, from the stored slots (no API call): every
        # minute, so 15-, 30- and 60-minute slot edges show within a minute.
        name="Current electricity price",
        task="collectors.write_current_prices",
        every_seconds=60,
        expires=50,
    ),
    Entry(
        name="Air quality",
        task="collectors.dispatch_air_quality",
        every_seconds=3600,
        expires=3300,
    ),
    Entry(
        name="Occupancy prediction",
        task="collectors.dispatch_occupancy",
        every_seconds=900,
        expires=840,
    ),
    Entry(
        name="Smart meter",
        task="collectors.dispatch_smart_meter",
        every_seconds=300,
        expires=270,
    ),
    Entry(
        name="Refresh materialized views",
        task="retention.refresh_views",
        crontab="0 */4 * * *",
        expires=3 * 3600,
    ),
    Entry(
        name="Record storage metrics",
        task="retention.record_metrics",
        crontab="15 4 * * *",
        expires=3600,
    ),
    Entry(
        # The tier runs' storage once InfluxDB compacted (RETENTION_SETTLE_HOURS after them).
        name="Settle tier runs' storage",
        task="retention.settle_storage",
        crontab="0 8 * * *",
        expires=3600,
    ),
    Entry(
        # Routed to the default queue (config/queues.py): a long retention run must not delay it.
        name="Check retention alerts",
        task="retention.check_alerts",
        every_seconds=300,
        expires=240,
    ),
    Entry(
        # Weekly, Sundays 03:00: daily aggregates older than RETENTION_DAILY_DAYS -> Parquet.
        name="Archive to S3",
        task="retention.archive",
        crontab="0 3 * * 0",
        expires=6 * 3600,
    ),
    # Tiered retention: raw -> hourly at 02:00 UTC, hourly -> daily at 02:30 (retention.tiers.runner).
    Entry(
        name="Discover Home Assistant entities",
        task="retention.discover_entities",
        crontab="30 1 * * *",
        expires=3600,
    ),
    Entry(
        name="Downsample raw to hourly",
        task="retention.downsample_hourly",
        crontab="0 2 * * *",
        expires=3600,
    ),
    Entry(
        name="Downsample hourly to daily",
        task="retention.downsample_daily",
        crontab="30 2 * * *",
        expires=3600,
    ),
    Entry(
        # Home Assistant over MQTT (a no-op without MQTT_URL): every minute, so the price now,
        # peak and cheapest window follow price-slot boundaries; also requested after writes.
        name="Home Assistant MQTT states",
        task="mqtt.publish_states",
        crontab="* * * * *",
        expires=50,
    ),
    Entry(
        name="Service health check",
        task="enrich.check_services",
        every_seconds=300,
        expires=240,
    ),
)
