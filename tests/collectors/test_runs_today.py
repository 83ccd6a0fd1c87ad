"""A provider's runs today (/api/enrichment/current, the status page's "Runs today") count
from the start of the home's day, as every time on the page reads the home's clock; against
PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors.models import CollectorRun
from collectors.usage import runs_today
from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db


def config_in(zone: str) -> ProviderConfig:
    site = Site.objects.create(name=f"Home in {zone}", latitude=0, longitude=0, timezone=zone)
    return ProviderConfig.objects.create(
        site=site, source="carbon_intensity", provider="electricitymaps", api_key="em-demo-token"
    )


def ran(config: ProviderConfig, *moments: datetime) -> None:
    for moment in moments:
        CollectorRun.objects.create(source=config.source, provider=config.provider,
                                    target="CL", started=moment, status="ok")  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "day_start", "now"),
    [
        # Santiago skips midnight on 6 September 2026: its day starts at 01:00 (-03), 04:00 UTC
        (
            "America/Santiago",
            datetime(2026, 9, 6, 4, tzinfo=UTC),
            datetime(2026, 9, 6, 5, tzinfo=UTC),
        ),
        # Havana reads midnight twice on 1 November 2026: the day starts at the first (04:00 UTC)
        (
            "America/Havana",
            datetime(2026, 11, 1, 4, tzinfo=UTC),
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        ),
        # Berlin in winter: 23:00 UTC the day before
        (
            "Europe/Berlin",
            datetime(2026, 1, 14, 23, tzinfo=UTC),
            datetime(2026, 1, 15, 0, 30, tzinfo=UTC),
        ),
    ],
)
def test_runs_today_count_from_the_start_of_the_homes_day(zone, day_start, now):
    config = config_in(zone)
    minute = timedelta(minutes=1)
    ran(config, day_start - 3 * 60 * minute, day_start - minute, day_start, day_start + 20 * minute)

    today = runs_today(config, "CL", now=now)

    # Before: since UTC midnight, which in Santiago is 20:00 or 21:00 the evening before.
    assert today == {"since": day_start.isoformat(), "total": 2, "by_status": {"ok": 2}}


@pytest.mark.parametrize(
    ("zone", "first", "day_start", "day_end", "last"),
    [
        # Berlin's 23-hour and 25-hour days and the days either side (midnights in UTC)
        ("Europe/Berlin", *(datetime(2026, 3, d, h, tzinfo=UTC) for d, h in
                            ((27, 23), (28, 23), (29, 22), (30, 22)))),
        ("Europe/Berlin", *(datetime(2026, 10, d, h, tzinfo=UTC) for d, h in
                            ((23, 22), (24, 22), (25, 23), (26, 23)))),
        # New York's
        ("America/New_York", *(datetime(2026, 3, d, h, tzinfo=UTC) for d, h in
                               ((7, 5), (8, 5), (9, 4), (10, 4)))),
        ("America/New_York", *(datetime(2026, m, d, h, tzinfo=UTC) for m, d, h in
                               ((10, 31, 4), (11, 1, 4), (11, 2, 5), (11, 3, 5)))),
        # Santiago's at midnight: 4 April's last hour comes twice, 6 September starts at 01:00
        ("America/Santiago", *(datetime(2026, 4, d, h, tzinfo=UTC) for d, h in
                               ((3, 3), (4, 3), (5, 4), (6, 4)))),
        ("America/Santiago", *(datetime(2026, 9, d, h, tzinfo=UTC) for d, h in
                               ((5, 4), (6, 4), (7, 3), (8, 3)))),
        # Lord Howe Island's 24.5-hour and 23.5-hour days (+11 <-> +10:30)
        ("Australia/Lord_Howe", *(datetime(2026, 4, d, 13, m, tzinfo=UTC) for d, m in
                                  ((3, 0), (4, 0), (5, 30), (6, 30)))),
        ("Australia/Lord_Howe", *(datetime(2026, 10, d, 13, m, tzinfo=UTC) for d, m in
                                  ((2, 30), (3, 30), (4, 0), (5, 0)))),
    ],
)  # fmt: skip
def test_runs_today_through_the_days_the_clocks_change(zone, first, day_start, day_end, last):
    """A run every quarter hour for three days; asked 7 minutes after each, the runs today are
    those since the day's first instant: up to 92 on a 23-hour day, 94 on a 23.5-hour one, 98
    on a 24.5-hour one, 100 on a 25-hour one, 96 on the days either side."""
    config = config_in(zone)
    quarter = timedelta(minutes=15)
    midnights = [first, day_start, day_end, last]
    most = {}
    for n in range(round((last - first) / quarter)):
        ran(config, first + n * quarter)
        now = first + n * quarter + timedelta(minutes=7)
        since = max(m for m in midnights if m <= now)
        today = runs_today(config, "CL", now=now)
        assert (today["since"], today["total"]) == (
            since.isoformat(),
            n - (since - first) // quarter + 1,
        ), now
        most[since] = today["total"]
    assert list(most.values()) == [96, (day_end - day_start) // quarter, 96]
