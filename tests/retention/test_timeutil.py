"""The day helpers: UTC days are 24 hours; the home's local days follow its DST changes."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest

from retention import timeutil


def test_utc_days_and_hours():
    moment = datetime(2024, 3, 31, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # 23:30 UTC
    assert timeutil.floor_hour(moment) == datetime(2024, 3, 30, 23, tzinfo=UTC)
    assert timeutil.floor_day(moment) == datetime(2024, 3, 30, tzinfo=UTC)
    assert timeutil.utc_date(moment) == date(2024, 3, 30)
    assert timeutil.utc_date(datetime(2024, 3, 30, 23, 30)) == date(2024, 3, 30)  # naive: UTC
    assert timeutil.utc_midnight(date(2024, 3, 30)) == datetime(2024, 3, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="no timezone"):
        timeutil.floor_hour(datetime(2024, 3, 30, 23, 30))


def test_a_range_is_cut_at_utc_midnights():
    start = datetime(2024, 3, 30, 22, tzinfo=UTC)
    assert timeutil.utc_day_pieces(start, start + timedelta(hours=28)) == [
        (start, datetime(2024, 3, 31, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)),
        (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 4, 1, 2, tzinfo=UTC)),
    ]


def test_local_days_follow_the_homes_dst(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert timeutil.local_day_start(date(2024, 3, 31)) == datetime(2024, 3, 30, 23, tzinfo=UTC)
    assert timeutil.local_day_length(date(2024, 3, 31)) == timedelta(hours=23)
    assert timeutil.local_day_length(date(2024, 10, 27)) == timedelta(hours=25)
    assert timeutil.local_day_length(date(2024, 6, 1)) == timedelta(hours=24)
    assert timeutil.local_date(datetime(2024, 3, 30, 23, 30, tzinfo=UTC)) == date(2024, 3, 31)
    assert timeutil.local_days(date(2024, 2, 28), date(2024, 3, 1)) == [
        date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)
    ]  # fmt: skip


# Zones whose clocks change at midnight (zoneinfo, 2025): a day whose midnight the clock skips
# starts at 01:00, the first instant it has; one whose midnight the clock reads twice starts at
# the first; a day whose last hour repeats lasts 25 hours.
MIDNIGHT_CHANGES = [
    # zone, local day, its first instant (UTC), its length in hours
    ("America/Santiago", date(2025, 9, 7), datetime(2025, 9, 7, 4, tzinfo=UTC), 23),  # 00->01
    ("America/Santiago", date(2025, 9, 6), datetime(2025, 9, 6, 4, tzinfo=UTC), 24),
    ("America/Santiago", date(2025, 4, 5), datetime(2025, 4, 5, 3, tzinfo=UTC), 25),  # 23:xx twice
    ("America/Santiago", date(2025, 4, 6), datetime(2025, 4, 6, 4, tzinfo=UTC), 24),
    ("America/Havana", date(2025, 3, 9), datetime(2025, 3, 9, 5, tzinfo=UTC), 23),
    ("America/Havana", date(2025, 11, 2), datetime(2025, 11, 2, 4, tzinfo=UTC), 25),  # 00:xx twice
    ("Asia/Beirut", date(2025, 3, 30), datetime(2025, 3, 29, 22, tzinfo=UTC), 23),
    ("Asia/Beirut", date(2025, 10, 25), datetime(2025, 10, 24, 21, tzinfo=UTC), 25),
    ("Africa/Cairo", date(2025, 4, 25), datetime(2025, 4, 24, 22, tzinfo=UTC), 23),
    ("Africa/Cairo", date(2025, 10, 30), datetime(2025, 10, 29, 21, tzinfo=UTC), 25),
    ("Atlantic/Azores", date(2025, 3, 30), datetime(2025, 3, 30, 1, tzinfo=UTC), 23),
    ("Atlantic/Azores", date(2025, 10, 26), datetime(2025, 10, 26, 0, tzinfo=UTC), 25),
    ("America/Nuuk", date(2025, 3, 29), datetime(2025, 3, 29, 2, tzinfo=UTC), 23),  # 23:xx skipped
    ("America/Nuuk", date(2025, 3, 30), datetime(2025, 3, 30, 1, tzinfo=UTC), 24),
    ("Asia/Kolkata", date(2025, 3, 30), datetime(2025, 3, 29, 18, 30, tzinfo=UTC), 24),
]


@pytest.mark.parametrize(("name", "day", "start", "hours"), MIDNIGHT_CHANGES)
def test_a_day_runs_from_its_first_instant_to_the_next_days(settings, name, day, start, hours):
    settings.TIME_ZONE = name
    assert timeutil.local_day_start(day) == start
    assert timeutil.day_start(day, ZoneInfo(name)) == start
    assert timeutil.local_day_length(day) == timedelta(hours=hours)
    end = timeutil.local_day_start(day + timeutil.DAY)
    assert end - start == timedelta(hours=hours)
    # Every minute from two hours before to two hours after is the day's exactly when it lies
    # in [start, end): none is lost between two days, none counted in both.
    minute = start - timedelta(hours=2)
    while minute < end + timedelta(hours=2):
        assert (timeutil.local_date(minute) == day) == (start <= minute < end), minute
        minute += timedelta(minutes=1)
    assert timeutil.local_date(start - timedelta(microseconds=1)) == day - timeutil.DAY


def transition_days(zone: ZoneInfo, first: date, last: date) -> list[date]:
    """The days from `first` to `last` on which the zone's offset at noon changed."""
    days, noon = [], datetime.combine(first - timeutil.DAY, time(12), zone).utcoffset()
    for day in timeutil.local_days(first, last):
        offset = datetime.combine(day, time(12), zone).utcoffset()
        if offset != noon:
            days += [day - timeutil.DAY, day]
        noon = offset
    return days


def test_every_zones_days_start_at_their_first_instant_around_each_change():
    """Each zone zoneinfo knows, every clock change of 2025-2027 (at whatever hour, midnight
    among them): the days around it start at their first instant and end at the next day's,
    so each instant belongs to exactly one day; a day starts on its midnight where the clock
    reads one, else where the clock jumped past it."""
    checked = 0
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        for day in transition_days(zone, date(2025, 1, 1), date(2027, 12, 31)):
            start = timeutil.day_start(day, zone)
            end = timeutil.day_start(day + timeutil.DAY, zone)
            first, before = (
                start.astimezone(zone),
                (start - timedelta(microseconds=1)).astimezone(zone),
            )
            last = (end - timedelta(microseconds=1)).astimezone(zone)
            assert before.date() < day == first.date() == last.date(), (name, day)
            assert first.time() == time(0) or before.utcoffset() < first.utcoffset(), (name, day)
            assert timedelta(hours=22) <= end - start <= timedelta(hours=26), (name, day)
            checked += 1
    assert checked > 500  # the zones with DST, each twice a year
