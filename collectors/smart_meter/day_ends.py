"""Which ended days of a meter still lack their complete total, read from what InfluxDB holds.

A day's complete total is `daily_kwh` at its last minute (the meter's local day: 23 or 25
hours on a DST day). The first run of a new day asks it; when that run fails after the ask, is
skipped (budget used up, worker down over midnight, restarted), or the provider has no total
yet, the day stays short. So a run reads InfluxDB: of the ended days the adapter names (Emporia:
the ENDED_DAYS before today in the Vue's zone, ended_days; Sense: the days its trends answers
bound), one after the meter's first stored `daily_kwh` in that span with no `daily_kwh` at its
last minute is due, oldest first, one per run (instead of the call that would have asked
today's total). A day found complete is remembered, so on a normal day InfluxDB is read until
the first run after midnight's total is stored, and no API call is added; a day the provider
answered without a total is asked again after RETRY_UNANSWERED.
"""

import logging
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from collectors.base import Target
from collectors.smart_meter.common import MEASUREMENT
from enrich.influx import TimeseriesError, get_timeseries
from retention.timeutil import day_start

logger = logging.getLogger(__name__)

ENDED_DAYS = 7
RETRY_UNANSWERED = 3600.0
MINUTE = timedelta(minutes=1)


def last_minute_of(day: date, zone: str) -> datetime:
    """The last minute (UTC) of the local `day` in `zone`."""
    return day_start(day + timedelta(days=1), ZoneInfo(zone)) - MINUTE


def ended_days(moment: datetime, zone: str, days: int = ENDED_DAYS) -> list[datetime]:
    """The last minutes of the `days` local days before the one holding `moment`, oldest first."""
    today = moment.astimezone(ZoneInfo(zone)).date()
    return [last_minute_of(today - timedelta(days=n), zone) for n in range(days, 0, -1)]


def stored_totals(target: Target, since: datetime, until: datetime) -> set[datetime]:
    """The times of the target's `daily_kwh` points in [since, until)."""
    where = '"provider" = $provider AND time >= $since AND time < $until'
    params: dict[str, object] = {"provider": target.provider, "since": since, "until": until}
    if target.params.get("site"):
        where += ' AND "site" = $site'
        params["site"] = str(target.params["site"])
    influxql = f'SELECT "daily_kwh" FROM "{MEASUREMENT}" WHERE {where}'
    rows = get_timeseries().query(settings.INFLUXDB_DATABASE, influxql, params)
    return {r.time for r in rows if r.time is not None and r.values.get("daily_kwh") is not None}


class EndedDays:
    """Per target: the last ended day found complete, and when an unanswered day was asked."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._complete: dict[tuple[str, str], datetime] = {}
        self._unanswered: dict[tuple[tuple[str, str], datetime], float] = {}

    def due(self, target: Target, ends: list[datetime]) -> datetime | None:
        """Of the last minutes `ends` of ended days (oldest first), the oldest whose complete
        total is not stored, or None."""
        key = (target.provider, target.key)
        if not ends or self._complete.get(key) == ends[-1]:
            return None
        try:
            stored = stored_totals(target, ends[0] - timedelta(days=1), ends[-1] + MINUTE)
        except TimeseriesError as error:
            logger.warning(
                "%s: the stored day totals could not be read: %s", target.provider, error
            )
            return None
        if not stored:
            return None  # nothing collected in the span: no day of this meter to complete
        first = min(stored)
        missing = [end for end in ends if end >= first and end not in stored]
        if not missing:
            self._complete[key] = ends[-1]
            return None
        now = self._clock()
        for end in missing:
            if now - self._unanswered.get((key, end), -math.inf) >= RETRY_UNANSWERED:
                return end
        return None

    def asked(self, target: Target, end: datetime, answered: bool) -> None:
        """The day ending at `end` was asked; one the provider gave no total for is asked
        again after RETRY_UNANSWERED (one it did is read back from InfluxDB)."""
        if not answered:
            self._unanswered[((target.provider, target.key), end)] = self._clock()
