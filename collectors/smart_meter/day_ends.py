"""Which ended days of a meter still lack their complete total, read from what InfluxDB holds,
and when today's total so far is due.

A day's complete total is `daily_kwh` at its last minute (the meter's local day: 23 or 25
hours on a DST day). A meter uploads its last minutes late (Emporia answers a minute `null`
until it has it, and the mains chart asks the last 5 minutes again for that), so a day's
total is asked once SETTLE after it ended: Home Assistant's emporia_vue takes a DAY figure as
good for 15 minutes (it refetches DAY every 15 minutes or more, integrating the minutes in
between), and the mains chart counts on a minute being there 5 minutes later (LATE_MINUTES):
15 minutes is three of those runs. The adapter names the settled days (Emporia: the
ENDED_DAYS that ended SETTLE ago in each zone its devices count days in, settled_days, each
zone a `part` with its devices' totals; Sense: the days its trends
answers bound); of them, one after the meter's first stored `daily_kwh`
in that span with no `daily_kwh` at its last minute is due, oldest first, one per run (instead
of the call that would have asked today's total), and so is the newest once more while it was
not asked since it settled (a total stored at its last minute before then, a run's "so far"
total of 23:59, may lack minutes). Which days were asked is remembered in Redis for ASKED_KEPT
(per provider, account, zone and day: asked_key), so every worker process and a restarted
worker ask a day once more only once; Redis out of reach fails the run (RedisUnavailable, as
the pipeline's other Redis steps do): before the ask when it is read, after it when it is
written (nothing written, the day asked again).
A run that fails after the ask writes nothing, so the day is asked again; when the worker was
down or restarted over midnight, or the budget skipped the run, a later run asks it. A day
found complete is remembered (by each process: it saves InfluxDB reads, no call), so on a
normal day InfluxDB is read until the first run after the settled total is stored, and no API
call is added; a day the provider answered without a total is asked again after
RETRY_UNANSWERED, by whichever process runs then (when it was asked is kept in Redis: shared.py).

Today's total so far is asked every TODAY_EVERY (TodayTotals), measured from the start of the
fetch that asked it, less EARLY: the beat or the queue starts a run a few seconds early
(14:00:00, then 14:14:59), and that run still asks it, so at a 15-minute cadence every run
does, at 5 minutes every third run, at 10 minutes every second (the first run 15 minutes after
the last: emporia/budget.py plans that). When it was last asked is kept in Redis per provider
and account (shared.py), so the worker's processes taking turns ask it on that one schedule.
"""

import logging
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from collectors.base import Target
from collectors.cadence import SLACK
from collectors.smart_meter import shared
from collectors.smart_meter.common import MEASUREMENT, stored_where
from enrich.influx import TimeseriesError, get_timeseries
from enrich.redis.client import get_redis, make_key, reachable
from retention.timeutil import day_start

logger = logging.getLogger(__name__)

ENDED_DAYS = 7
RETRY_UNANSWERED = 3600.0
MINUTE = timedelta(minutes=1)
SETTLE = timedelta(minutes=15)  # after a day's end, before its complete total is asked
ASKED_KEPT = timedelta(days=2)  # a day is the newest settled one for at most 25 hours
TODAY_EVERY = 900.0  # seconds between two asks of today's total so far
TODAY_KEPT = 3600.0  # how long Redis keeps when it was last asked (past that: due anyway)
EARLY = SLACK.total_seconds()  # as early a run may start and still ask it (as the cadence's)


def last_minute_of(day: date, zone: str) -> datetime:
    """The last minute (UTC) of the local `day` in `zone`."""
    return day_start(day + timedelta(days=1), ZoneInfo(zone)) - MINUTE


def ended_days(moment: datetime, zone: str, days: int = ENDED_DAYS) -> list[datetime]:
    """The last minutes of the `days` local days before the one holding `moment`, oldest first."""
    today = moment.astimezone(ZoneInfo(zone)).date()
    return [last_minute_of(today - timedelta(days=n), zone) for n in range(days, 0, -1)]


def settled_days(moment: datetime, zone: str) -> list[datetime]:
    """The last minutes of the ENDED_DAYS local days that ended SETTLE or more before
    `moment`, oldest first."""
    return ended_days(moment - SETTLE, zone)


def stored_totals(
    target: Target, since: datetime, until: datetime, gids: Collection[str] | None = None
) -> set[datetime]:
    """The times of the target's `daily_kwh` points in [since, until) (of the devices whose
    `device_gid` is in `gids`, when given)."""
    where, params = stored_where(target, since, until)
    influxql = f'SELECT "daily_kwh", "device_gid" FROM "{MEASUREMENT}" WHERE {where}'
    rows = get_timeseries().query(settings.INFLUXDB_DATABASE, influxql, params)
    return {
        r.time
        for r in rows
        if r.time is not None
        and r.values.get("daily_kwh") is not None
        and (gids is None or r.values.get("device_gid") in gids)
    }


def asked_key(provider: str, account: str, part: str, end: datetime) -> str:
    """The Redis key saying the day ending at `end` was asked since it settled."""
    day = f"{end.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
    return make_key("smart_meter_day_asked", provider, account, part or "all", day)


class EndedDays:
    """Per target (and `part` of it: a zone whose devices count their days apart from the
    others, `gids` their device_gid tags): the last ended day found complete (this
    process's), and in Redis, every process's: the days asked since they settled and when a
    day the provider answered without a total was asked (on the adapter's `clock`)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._complete: dict[tuple[str, str, str], datetime] = {}

    def due(
        self,
        target: Target,
        ends: list[datetime],
        gids: Collection[str] | None = None,
        part: str = "",
    ) -> datetime | None:
        """Of the last minutes `ends` of settled days (oldest first), the oldest whose complete
        total is not stored, else the newest while not asked since it settled, or None."""
        key = (target.provider, target.key, part)
        if not ends or self._complete.get(key) == ends[-1]:
            return None
        try:
            stored = stored_totals(target, ends[0] - timedelta(days=1), ends[-1] + MINUTE, gids)
        except TimeseriesError as error:
            logger.warning(
                "%s: the stored day totals could not be read: %s", target.provider, error
            )
            return None
        if not stored:
            return None  # nothing collected in the span: no day of this meter to complete
        first, newest, again = min(stored), ends[-1], False
        if newest in stored:  # its total so far, or the settled one asked by a process
            with reachable(shared.MEMORY):
                again = not get_redis().exists(asked_key(*key, newest))
        missing = [
            end for end in ends if end >= first and (end not in stored or (end == newest and again))
        ]
        if not missing:
            self._complete[key] = newest
            return None
        now = self._clock()
        for end in missing:
            if shared.due(now, shared.read(*_unanswered(key, end)), RETRY_UNANSWERED):
                return end
        return None

    def asked(self, target: Target, end: datetime, answered: bool, part: str = "") -> None:
        """The day ending at `end` was asked; one the provider gave no total for is asked
        again after RETRY_UNANSWERED (one it did is read back from InfluxDB)."""
        key = (target.provider, target.key, part)
        if not answered:
            shared.write(*_unanswered(key, end), value=self._clock(), kept=2 * RETRY_UNANSWERED)
            return
        with reachable(shared.MEMORY):
            get_redis().set(asked_key(*key, end), "1", ex=int(ASKED_KEPT.total_seconds()))


def _unanswered(key: tuple[str, str, str], end: datetime) -> tuple[str, ...]:
    """shared.py's kind, provider and account parts of when the day ending at `end` was asked
    and the provider answered no total."""
    provider, account, part = key
    day = f"{end.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
    return "day_unanswered", provider, account, part or "all", day


class TodayTotals:
    """Per account of `provider`: when today's total so far was last asked by any worker
    process (in Redis: shared.py; the adapter's clock at the start of the fetch that asked
    it); due TODAY_EVERY later, less EARLY (see the module)."""

    KIND = "today_asked"

    def __init__(self, provider: str) -> None:
        self._provider = provider

    def due(self, account: tuple[str, str], started: float) -> bool:
        last = shared.read(self.KIND, self._provider, *account)
        return shared.due(started, last, TODAY_EVERY, EARLY)

    def asked(self, account: tuple[str, str], started: float) -> None:
        shared.write(self.KIND, self._provider, *account, value=started, kept=TODAY_KEPT)

    def forget(self, account: tuple[str, str]) -> None:
        """Today's total is due with the next fetch (of any process)."""
        shared.drop(self.KIND, self._provider, *account)
