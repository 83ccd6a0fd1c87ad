"""The daily energy view of a cumulative meter (kWh, total_increasing) on the days the clocks
change in New York, Berlin and Santiago (at midnight: a day starting at 01:00, a day whose last
hour comes twice): a meter growing 0.5 kWh every hour gives its 23-hour day 11.5 kWh, its
25-hour day 12.5 and the days either side 12, read from the raw points and from the hourly
tier once the raw points of those UTC days are replaced; Lord Howe Island's 23.5-hour and
24.5-hour days 11.75 and 12.25 from the raw points (its hourly tier rows cross its midnights,
which the view reports as unavailable); and while the day is open, every half hour around the
change, the energy since the day's first instant. Expected figures are the meter's growth, not
our code."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from retention import models
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from tests.retention.conftest import HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
PER_HOUR = 0.5  # kWh
CHANGES = [
    ("America/New_York", date(2026, 3, 8), 23, datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", date(2026, 11, 1), 25, datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Europe/Berlin", date(2026, 3, 29), 23, datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/Berlin", date(2026, 10, 25), 25, datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ("America/Santiago", date(2026, 4, 4), 25, datetime(2026, 4, 5, 3, tzinfo=UTC)),  # 23:xx twice
    ("America/Santiago", date(2026, 9, 6), 23, datetime(2026, 9, 6, 4, tzinfo=UTC)),  # from 01:00
]
HALF_HOUR_CHANGES = [  # Lord Howe Island: 02:00 -> 01:30, 02:00 -> 02:30
    ("Australia/Lord_Howe", date(2026, 4, 5), 24.5, datetime(2026, 4, 4, 15, tzinfo=UTC)),
    ("Australia/Lord_Howe", date(2026, 10, 4), 23.5, datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
]


def midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)


def meter(ha_db: HaDatabase, start: datetime, end: datetime):
    """A kWh meter read every quarter hour from `start` to `end`, PER_HOUR more each hour."""
    count = round((end - start) / QUARTER)
    points = [(start + n * QUARTER, 100 + n * PER_HOUR / 4, {"state_class": "total_increasing"})
              for n in range(count + 1)]  # fmt: skip
    return ha_db.saved_entity("official", "sensor.house_energy", points, unit="kWh",
                              kind="energy")  # fmt: skip


def day_rows(entity) -> dict[date, tuple[float, bool]]:
    rows = models.DailyEnergyByDevice.objects.filter(entity_id=entity.entity_id)
    return {row.date: (round(row.total_kwh, 9), row.partial) for row in rows}


@pytest.mark.parametrize(
    ("zone", "day", "hours", "change", "tiered"),
    [(*c, tiered) for c in CHANGES for tiered in (False, True)]
    + [(*c, False) for c in HALF_HOUR_CHANGES],
)
def test_a_meters_energy_on_the_day_the_clocks_change(
    ha_db: HaDatabase, enrich_db: str, settings, zone, day, hours, change, tiered
):
    settings.TIME_ZONE = zone
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    entity = meter(ha_db, midnight(before, zone) - HOUR, midnight(after + timedelta(days=1),
                                                                   zone) + HOUR)  # fmt: skip
    if tiered:  # the UTC days holding the three local days, raw points replaced by hours
        first = midnight(before, zone).date()
        run = tiers.downsample_hourly(first, after + timedelta(days=2),
                                      now=midnight(after, zone) + timedelta(days=5))  # fmt: skip
        assert run.status == "ok", run.errors

    rebuild_view(ENERGY, before, after, now=midnight(after, zone) + timedelta(days=3))

    assert (midnight(after, zone) - midnight(day, zone)) / HOUR == hours
    assert day_rows(entity) == {
        before: (24 * PER_HOUR, False),
        day: (hours * PER_HOUR, False),
        after: (24 * PER_HOUR, False),
    }


@pytest.mark.parametrize(("zone", "day", "hours", "change"), CHANGES + HALF_HOUR_CHANGES)
def test_the_open_day_around_the_change_holds_the_energy_since_midnight(
    ha_db: HaDatabase, enrich_db: str, settings, zone, day, hours, change
):
    settings.TIME_ZONE = zone
    start = midnight(day, zone)
    entity = meter(ha_db, start - HOUR, start + timedelta(hours=hours))
    end = start + timedelta(hours=hours)
    nows = (change + n * HOUR / 2 for n in range(-3, 5))
    for now in (moment for moment in nows if start < moment < end):  # while the day is open
        rebuild_view(ENERGY, day, day, now=now)
        assert day_rows(entity) == {day: ((now - start) / HOUR * PER_HOUR, True)}, now
