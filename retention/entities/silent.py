"""The alert while Home Assistant writes nothing to its InfluxDB database.

Home Assistant's InfluxDB integration stops writing when the InfluxDB add-on's password or
port changes after an update, when it gives up after its retry queue filled (HA logs
"Dropped N old events"), when Home Assistant is down, or when the integration is pointed at
another database. Nothing else in enrich tells: every entity's last state stays its newest
point, and the tiers and views carry it forward (Home Assistant writes on state change only,
so a held value is normally right), so a power sensor last at 100 W adds 2.4 kWh a day to
daily_energy_by_device while nothing is written.

`sync_alert(now)` (retention.stats.alerts' periodic check) keeps one alert open while
HA_INFLUXDB_DATABASE has received no point in the measurements discovery recorded (both
layouts) for longer than HA_SILENT_HOURS, and clears it once a point arrives. It is open too
while HA_INFLUXDB_DATABASE names a database InfluxDB does not have, or one holding no point of
Home Assistant's (`retention.entities.ha_database`: a typo, or Home Assistant's integration
writing elsewhere), at once, with nothing discovered too. The newest point
is measured by a query bounded by time (`time > now - HA_SILENT_HOURS`, one row per
measurement), which reads only the newest shard; only while the database is silent is the
time of its newest point looked for, in windows growing backwards. Nothing discovered (a fresh
install, its database holding Home Assistant's points) says nothing of a silence;
HA_SILENT_HOURS=0 says nothing at all. InfluxDB out of reach changes nothing: that is
an outage of InfluxDB (the runs retry and alert), not Home Assistant falling silent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings

from enrich.influx import TimeseriesError
from enrich.wording import lasting
from retention.day_ranges import EARLIEST_TIME
from retention.entities import ha_database
from retention.entities.ha_source import point_edge
from retention.entities.sources import raw_measurements
from retention.models import Alert, Entity
from retention.stats import conditions

logger = logging.getLogger(__name__)

DAYS_FROM = timedelta(days=2)  # a silence this long or longer is said in days


def measurements() -> list[str]:
    """Every measurement discovery recorded the registry's entities in (`raw_measurements`)."""
    found: dict[str, None] = {}
    for entity in Entity.objects.order_by("entity_id"):
        found.update(dict.fromkeys(raw_measurements(entity)))
    return sorted(m for m in found if m)


def newest_point(tables: Iterable[str], after: datetime, until: datetime | None = None):
    """The time of the newest point in `tables` with after < time (<= `until`), or None: one
    query, LIMIT 1 per measurement, reading only the shards of that window."""
    bound = "time > $after" + (" AND time <= $until" if until else "")
    params = {"after": after, **({"until": until} if until else {})}
    return point_edge(settings.HA_INFLUXDB_DATABASE, tables, bound, params)


def newest_before(tables: list[str], before: datetime, width: timedelta) -> datetime | None:
    """The newest point at or before `before`, looked for in windows doubling backwards from
    `width`, so the shards read are those of about the silence itself; None if there is none
    since EARLIEST_TIME."""
    while before > EARLIEST_TIME:
        after = max(before - width, EARLIEST_TIME)
        found = newest_point(tables, after, before)
        if found is not None:
            return found
        before, width = after, width * 2
    return None


def silent_message(newest: datetime | None, now: datetime, hours: float) -> str:
    database = settings.HA_INFLUXDB_DATABASE
    if newest is None:
        since = "holds no point at all in the measurements discovery recorded"
    else:
        silence = now - newest
        ago = lasting(silence.total_seconds())
        if silence >= DAYS_FROM:
            ago = f"{silence.days} days {silence.seconds // 3600} h"
        since = f"has received no point since {newest:%Y-%m-%d %H:%M} UTC, {ago} ago"
    return (
        f"Home Assistant's InfluxDB database {database!r} (HA_INFLUXDB_DATABASE) {since}, longer "
        f"than HA_SILENT_HOURS={hours:g}: Home Assistant is not writing its states there. "
        "Meanwhile the views and tiers hold every sensor's last value (a power sensor's last "
        "reading adds energy to daily_energy_by_device as if it were still drawing it). Check "
        "Home Assistant's InfluxDB integration (its host, port, database, username and "
        "password, e.g. after an update of the InfluxDB add-on) and Home Assistant's log for "
        'its errors ("Dropped N old events": its queue filled and it gave up); raise '
        "HA_SILENT_HOURS if the entities it writes change less often."
    )


def sync_alert(now: datetime | None = None) -> list[Alert]:
    """Open the alert while HA_INFLUXDB_DATABASE names no database, or one holding no point of
    Home Assistant's (`ha_database.problem`: the registry empty, or silent since ever), or while
    it has received no point for longer than HA_SILENT_HOURS (returned, to be delivered), keep
    its message current, clear it once that is over; HA_SILENT_HOURS=0 clears it. InfluxDB
    unreachable leaves it as it is."""
    now = now or datetime.now(UTC)
    hours = settings.HA_SILENT_HOURS
    message = ""
    try:
        tables = measurements() if hours else []
        if hours:
            message = ha_database.problem(empty=not tables)
        if tables and not message:
            message = _silence(tables, now, hours)
    except TimeseriesError as exc:
        logger.warning("Home Assistant's writes not checked, their alert left as is: %s", exc)
        return []
    return conditions.sync(Alert.Kind.HA_SILENT, message, now)


def _silence(tables: list[str], now: datetime, hours: float) -> str:
    """The message of a silence longer than `hours`, "" when a point arrived within them; a
    database without any point of Home Assistant's is said so (`ha_database.problem`)."""
    window = timedelta(hours=hours)
    if newest_point(tables, now - window) is not None:
        return ""
    newest = newest_before(tables, now - window, window)
    return (newest is None and ha_database.problem()) or silent_message(newest, now, hours)
