"""The beat schedule: one table, installed into django-celery-beat's tables on start.

`manage.py install_schedules` (enrich/schedules.py) creates a periodic task for each row
whose name is not in the database yet and updates rows nobody edited when this table changes;
rows edited in the Django admin are kept, so admin edits survive restarts. A renamed entry
names its old names (`formerly`): its row is renamed, never left to run beside a new one.
`expires` is a little under the interval: a run that could not start in time is dropped
instead of piling up behind the next one.
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
    # Names earlier releases installed this entry under: install_schedules renames that row
    # (keeping its admin edits and last run) rather than install a second one beside it.
    formerly: tuple[str, ...] = ()

    @property
    def queue(self) -> str:
        """The task's queue, from the routes (config/queues.py): declared once."""
        return queue_of(self.task)


# fmt: off
SCHEDULE: tuple[Entry, ...] = (
    # PRD FR9 cadences; each dispatch fans out one collect task per (provider, target).
    # Carbon on the quarter hours (UTC), where the half-hour (UK) and hourly (Electricity Maps)
    # slots start: a new slot's value is fetched in its first minute, not up to 15 min late.
    Entry("Carbon intensity",                 "collectors.dispatch_carbon_intensity",    crontab="*/15 * * * *", expires=840),
    Entry("Electricity prices",               "collectors.dispatch_electricity_pricing", every_seconds=3600,    expires=3300),
    # The price point of the running slot, from the stored slots (no API call): at the start
    # of every minute, so 15-, 30- and 60-minute slot edges show in their first seconds.
    Entry("Current electricity price",        "collectors.write_current_prices",         crontab="* * * * *",   expires=50),
    # Carbon and occupancy as the API serves them between the quarter-hour fetches (the stored
    # forecast slot covering now, the prediction of the latest event edge), from what the
    # fetches stored (no API call): at the start of every minute, like the price.
    Entry("Current carbon and occupancy",     "collectors.write_current_forecasts",      crontab="* * * * *",   expires=50),
    # AirNow publishes each hour's observations 10-30 min past the hour: asked at :35, the new
    # hour is there. Its current service gives the latest hour only, so an hour published
    # later (the 10:35 answer still of 09:00, or its ozone still of 09:00) is asked for at :55:
    # that run calls only for a target whose answer is not of the hour begun or has a pollutant
    # lagging it or with no value yet (collectors.freshness), the others cached. AirNow's budget reserve counts
    # both runs (collectors.air_quality.now.scheduled_calls).
    Entry("Air quality",                      "collectors.dispatch_air_quality",         crontab="35,55 * * * *", expires=1140),
    # Occupancy on the quarter hours too, where most calendar events start and end; "home now"
    # follows events between fetches too (predicted ahead, picked when read).
    Entry("Occupancy prediction",             "collectors.dispatch_occupancy",           crontab="*/15 * * * *", expires=840),
    Entry("Smart meter",                      "collectors.dispatch_smart_meter",         every_seconds=300,     expires=270),
    # The run records older than COLLECTOR_RUN_DAYS (collectors.run_records keeps what the
    # collections work from): at 03:45 UTC, after the night's retention runs.
    Entry("Delete old collector runs",        "collectors.delete_old_runs",              crontab="45 3 * * *",  expires=3600),
    Entry("Refresh materialized views",       "retention.refresh_views",                 crontab="0 */4 * * *", expires=3 * 3600),
    # The tier runs' storage once InfluxDB compacted (RETENTION_SETTLE_HOURS after them).
    Entry("Settle tier runs' storage",        "retention.settle_storage",                crontab="0 8 * * *",   expires=3600),
    # The day's storage figures once InfluxDB compacted what the night's tier runs deleted
    # (RETENTION_SETTLE_HOURS after them): earlier, the raw tier still holds those points.
    Entry("Record storage metrics",           "retention.record_metrics",                crontab="15 8 * * *",  expires=3600),
    # Routed to the default queue (config/queues.py): a long retention run must not delay it.
    Entry("Check retention alerts",           "retention.check_alerts",                  every_seconds=300,     expires=240),
    # Weekly, Sundays 03:00: daily aggregates older than RETENTION_DAILY_DAYS -> Parquet, in S3
    # or the local archive directory (ARCHIVE_LOCAL_DIR): the name says neither.
    Entry("Archive daily aggregates",         "retention.archive",                       crontab="0 3 * * 0",   expires=6 * 3600,
          formerly=("Archive to S3",)),
    # Tiered retention: raw -> hourly at 02:00 UTC, hourly -> daily at 02:30 (retention.tiers.runner).
    Entry("Discover Home Assistant entities", "retention.discover_entities",             crontab="30 1 * * *",  expires=3600),
    # The times Home Assistant's recorder held an entity unknown/unavailable (no InfluxDB point
    # of the official integration says so): gaps for the tiers and views (needs HA_URL).
    Entry("Home Assistant unavailable times", "retention.record_unavailable",            every_seconds=900,     expires=840),
    Entry("Downsample raw to hourly",         "retention.downsample_hourly",             crontab="0 2 * * *",   expires=3600),
    Entry("Downsample hourly to daily",       "retention.downsample_daily",              crontab="30 2 * * *",  expires=3600),
    # Home Assistant over MQTT (a no-op without MQTT_URL): every minute, so the price now,
    # peak and cheapest window follow price-slot boundaries; also requested after writes.
    Entry("Home Assistant MQTT states",       "mqtt.publish_states",                     crontab="* * * * *",   expires=50),
    Entry("Service health check",             "enrich.check_services",                   every_seconds=300,     expires=240),
)
# fmt: on
