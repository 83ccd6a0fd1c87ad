"""The beat schedule: one table, installed into django-celery-beat's tables on start.

`manage.py install_schedules` creates a periodic task for each row whose name is not in the
database yet; rows already there are left alone, so edits made in the Django admin survive
restarts. `expires` is a little under the interval: a run that could not start in time is
dropped instead of piling up behind the next one.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    queue: str
    expires: int  # seconds
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"


SCHEDULE: tuple[Entry, ...] = (
    # PRD FR9 cadences; each dispatch fans out one collect task per (provider, target).
    Entry(
        name="Carbon intensity",
        task="collectors.dispatch_carbon_intensity",
        queue="collectors",
        every_seconds=900,
        expires=840,
    ),
    Entry(
        name="Electricity prices",
        task="collectors.dispatch_electricity_pricing",
        queue="collectors",
        every_seconds=3600,
        expires=3300,
    ),
    Entry(
        # The price point of the running slot, from the stored slots (no API call): every
        # minute, so 15-, 30- and 60-minute slot edges show within a minute.
        name="Current electricity price",
        task="collectors.write_current_prices",
        queue="collectors",
        every_seconds=60,
        expires=50,
    ),
    Entry(
        name="Air quality",
        task="collectors.dispatch_air_quality",
        queue="collectors",
        every_seconds=3600,
        expires=3300,
    ),
    Entry(
        name="Occupancy prediction",
        task="collectors.dispatch_occupancy",
        queue="collectors",
        every_seconds=900,
        expires=840,
    ),
    Entry(
        name="Smart meter",
        task="collectors.dispatch_smart_meter",
        queue="collectors",
        every_seconds=300,
        expires=270,
    ),
    Entry(
        name="Refresh materialized views",
        task="retention.refresh_views",
        queue="retention",
        crontab="0 */4 * * *",
        expires=3 * 3600,
    ),
    Entry(
        name="Record storage metrics",
        task="retention.record_metrics",
        queue="retention",
        crontab="15 4 * * *",
        expires=3600,
    ),
    Entry(
        # The tier runs' storage once InfluxDB compacted (RETENTION_SETTLE_HOURS after them).
        name="Settle tier runs' storage",
        task="retention.settle_storage",
        queue="retention",
        crontab="0 8 * * *",
        expires=3600,
    ),
    Entry(
        # On the default queue: a long run busy on the retention queue must not delay it.
        name="Check retention alerts",
        task="retention.check_alerts",
        queue="default",
        every_seconds=300,
        expires=240,
    ),
    Entry(
        # Weekly, Sundays 03:00: daily aggregates older than RETENTION_DAILY_DAYS -> Parquet.
        name="Archive to S3",
        task="retention.archive",
        queue="retention",
        crontab="0 3 * * 0",
        expires=6 * 3600,
    ),
    # Tiered retention: raw -> hourly at 02:00 UTC, hourly -> daily at 02:30 (retention.tiers).
    Entry(
        name="Discover Home Assistant entities",
        task="retention.discover_entities",
        queue="retention",
        crontab="30 1 * * *",
        expires=3600,
    ),
    Entry(
        name="Downsample raw to hourly",
        task="retention.downsample_hourly",
        queue="retention",
        crontab="0 2 * * *",
        expires=3600,
    ),
    Entry(
        name="Downsample hourly to daily",
        task="retention.downsample_daily",
        queue="retention",
        crontab="30 2 * * *",
        expires=3600,
    ),
    Entry(
        # Home Assistant over MQTT (a no-op without MQTT_URL): every minute, so the price now,
        # peak and cheapest window follow price-slot boundaries; also requested after writes.
        name="Home Assistant MQTT states",
        task="mqtt.publish_states",
        queue="default",
        crontab="* * * * *",
        expires=50,
    ),
    Entry(
        name="Service health check",
        task="enrich.check_services",
        queue="default",
        every_seconds=300,
        expires=240,
    ),
)
