"""Days and hours as retention counts them: the one place dates become instants and back.

The tiers, the archive and the storage metrics work in UTC days (InfluxDB stores UTC and a
UTC day is always 24 hours); the materialized views count local days of the home's zone
(settings.TIME_ZONE), 23 or 25 hours long on a DST change. A local day runs from its first
instant to the next day's first instant, also where the clock skips midnight (America/Santiago,
Asia/Beirut: the day starts at 01:00) or reads it twice (America/Havana: the first midnight).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings

DAY = timedelta(days=1)


# --- UTC ---------------------------------------------------------------------------------------
def require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; pass UTC times")


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour containing `moment`."""
    require_aware(moment)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    """The start of the UTC day containing `moment`."""
    return floor_hour(moment).replace(hour=0)


def utc_midnight(day: date) -> datetime:
    """The instant the UTC day `day` starts."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def utc_date(moment: datetime) -> date:
    """The UTC day of `moment`; a time without a zone is read as UTC (as the archive writes)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def utc_day_pieces(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at UTC midnights."""
    pieces = []
    current = start
    while current < end:
        stop = min(floor_day(current) + DAY, end)
        pieces.append((current, stop))
        current = stop
    return pieces


# --- The home's zone ---------------------------------------------------------------------------
def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date, tz: tzinfo) -> datetime:
    """The UTC instant the day `day` of `tz` starts: its first instant. Midnight taken with
    fold 0 is the first of two, and one the clock skips is read at the offset before the jump,
    which is the jump itself: every zone's clock skips midnight by jumping from it."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def local_day_start(day: date) -> datetime:
    """The UTC instant the local day `day` (settings.TIME_ZONE) starts."""
    return day_start(day, zone())


def local_date(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def local_days(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def local_day_length(day: date) -> timedelta:
    return local_day_start(day + DAY) - local_day_start(day)


def stretches(moments: list, step: timedelta) -> list[tuple]:
    """Consecutive runs of the sorted days or hours `moments` (`step` apart), as (first, last)."""
    found: list[tuple] = []
    for moment in moments:
        if found and found[-1][1] + step == moment:
            found[-1] = (found[-1][0], moment)
        else:
            found.append((moment, moment))
    return found
