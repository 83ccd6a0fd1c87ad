"""What planning an archive reads of InfluxDB: the periods from the daily tier's first row to
its last, not every period up to the cutoff. An `--as-of` years ahead (a year typed wrong, or a
preview) planned by reading each month up to it: as of 2199, over 4,000 queries for three days
of rows. Counted at the gateway against the real InfluxDB."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from enrich.influx import get_timeseries
from retention.archive.plan import plan_archive
from tests.support.archive import daily_rows

pytestmark = pytest.mark.django_db


class CountingQueries:
    """The gateway, counting the queries sent through it."""

    def __init__(self, inner) -> None:
        self.inner, self.queries = inner, 0

    def query(self, *args, **kwargs):
        self.queries += 1
        return self.inner.query(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_plan_years_past_the_last_row_reads_only_the_months_holding_rows(tier, settings):
    settings.ARCHIVE_MIN_OBJECT_BYTES = 10**9  # a year's file, closed with its year
    tier.write(daily_rows(2, date(2022, 1, 1), 3))
    tier.write(daily_rows(2, date(2022, 3, 30), 3, seed=8))
    ts = CountingQueries(get_timeseries())
    plan = plan_archive(datetime(2199, 12, 31, tzinfo=UTC), ts=ts)
    # The empty months after the last row still close the year's file, as read ones would.
    [planned] = plan.objects
    assert (planned.start, planned.end) == (date(2022, 1, 1), date(2022, 12, 31))
    assert (planned.record_count, planned.why) == (12, "year 2022 closed")
    assert plan.waiting == [] and plan.unreadable == []
    assert ts.queries <= 20  # January to April, not 2,130 months up to 2199's cutoff
