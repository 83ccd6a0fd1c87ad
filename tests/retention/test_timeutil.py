"""The day helpers: UTC days are 24 hours; the home's local days follow its DST changes."""

from datetime import UTC, date, datetime, timedelta, timezone

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
