"""daily_carbon_summary of a day whose carbon points stop before its end (the collector down
from noon, the API's answer ending there): the day's last point is its slot, no more. The
points are the documented payloads' (UK Carbon Intensity's national half hours up to 12:00
UTC, Electricity Maps' hours up to 15:00 UTC), stored as the collectors store them; the
expected figures are plain means over them, each point standing for its own slot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention import models
from retention.rollups.materialized import CARBON, rebuild_view
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


class Series(NamedTuple):
    zone: str
    day: date
    day_start: datetime  # the local day's first instant, UTC
    region: str
    points: list[tuple[datetime, float]]  # every point of the payload, the day before's too


def uk_national() -> Series:
    # London's 2026-05-01 (BST) starts at 23:00 UTC; NESO's half hours end at 12:00 UTC.
    data = load_fixture("uk_carbon_intensity/national_range.json")["data"]
    points = [(datetime.fromisoformat(s["from"].replace("Z", "+00:00")),
               float(s["intensity"]["actual"])) for s in data]  # fmt: skip
    return Series("Europe/London", date(2026, 5, 1), datetime(2026, 4, 30, 23, tzinfo=UTC),
                  "national", points)  # fmt: skip


def electricity_maps() -> Series:
    # Berlin's 2026-05-01 (CEST) starts at 22:00 UTC; the history's last hour is 14:00 UTC
    # (its hour without a value, the day before, is not stored).
    history = load_fixture("electricitymaps/carbon_intensity_history.json")["history"]
    points = [(datetime.fromisoformat(h["datetime"].replace("Z", "+00:00")),
               float(h["carbonIntensity"])) for h in history
              if h["carbonIntensity"] is not None]  # fmt: skip
    return Series("Europe/Berlin", date(2026, 5, 1), datetime(2026, 4, 30, 22, tzinfo=UTC),
                  "DE", points)  # fmt: skip


SERIES = {"uk_half_hours": uk_national, "electricitymaps_hours": electricity_maps}


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("closed", [True, False], ids=["day_closed", "day_open"])
def test_the_days_last_point_counts_for_its_slot_not_until_midnight(
    enrich_db: str, settings, name, closed
):
    series = SERIES[name]()
    settings.TIME_ZONE = series.zone
    tags = {"region": series.region, "grid_operator": series.region, "provider": name}
    get_timeseries().write(enrich_db, [
        Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": value}, time, tags)
        for time, value in series.points
    ])  # fmt: skip
    day = [value for time, value in series.points if time >= series.day_start]
    last = series.points[-1][0]
    # closed: two days later; open: six hours after the last point, the day still running
    now = series.day_start + timedelta(days=2) if closed else last + timedelta(hours=6)

    rebuild_view(CARBON, series.day, series.day, now=now)

    row = models.DailyCarbonSummary.objects.get(region=series.region, date=series.day)
    # every point is one slot (a half hour, an hour): the mean of the day's points, the last
    # one not weighted for the hours after it, when nothing was known
    assert row.avg_carbon == pytest.approx(sum(day) / len(day))
    assert (row.min_carbon, row.max_carbon) == (min(day), max(day))
    assert row.source_points == len(day)
    assert row.partial is not closed
