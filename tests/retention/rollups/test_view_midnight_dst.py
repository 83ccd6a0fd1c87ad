"""The daily views in a zone whose clocks change at midnight (America/Santiago, 2025): on 7
September the clock goes from 23:59:59 (UTC-4) to 01:00 (UTC-3), so that day starts at 01:00
and lasts 23 hours; on 5 April 23:00-24:00 happens twice, a day of 25 hours. Against the real
InfluxDB and PostgreSQL: each day counts exactly its own hours, and the days add up to the
whole."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention.models import DailyCarbonSummary, DailyEnergyByDevice
from retention.rollups.materialized import ACTIVITY, CARBON, ENERGY, rebuild_view, refresh_view
from retention.rollups.queries import MaterializedViewManager
from tests.retention.conftest import HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR = timedelta(hours=1)
SKIPPED = date(2025, 9, 7)  # starts at 01:00 -03 = 04:00 UTC, 23 hours
SKIPPED_START = datetime(2025, 9, 7, 4, tzinfo=UTC)
REPEATED = date(2025, 4, 5)  # 03:00 UTC to 04:00 UTC the next day: 25 hours
REPEATED_START = datetime(2025, 4, 5, 3, tzinfo=UTC)


@pytest.fixture
def santiago(settings, enrich_db):
    settings.TIME_ZONE = "America/Santiago"


def kettle(ha_db: HaDatabase, first: datetime, hours: int, marks: dict[datetime, float]):
    """A power sensor at 1 kW every UTC hour from `first` for `hours` hours, `marks` other
    values at their hours, 0 W after."""
    points = [(first + n * HOUR, marks.get(first + n * HOUR, 1000.0)) for n in range(hours)]
    ha_db.saved_entity("official", "sensor.kettle_power", [*points, (first + hours * HOUR, 0.0)],
                       unit="W", kind="power")  # fmt: skip


def energy(day: date) -> tuple[float, float, bool]:
    row = DailyEnergyByDevice.objects.get(entity_id="sensor.kettle_power", date=day)
    return row.total_kwh, row.peak_power, row.partial


@pytest.mark.usefixtures("santiago")
def test_the_day_whose_midnight_the_clock_skips_counts_its_23_hours(ha_db: HaDatabase):
    # 5 kW in the 6th's last hour (23:00-24:00 -04), 3 kW in the 7th's first (01:00-02:00 -03).
    first = datetime(2025, 9, 5, 4, tzinfo=UTC)  # the 5th's midnight (-04)
    kettle(ha_db, first, 24 * 4 - 1, {SKIPPED_START - HOUR: 5000.0, SKIPPED_START: 3000.0})
    days = [date(2025, 9, 5), date(2025, 9, 6), SKIPPED, date(2025, 9, 8)]

    rebuild_view(ENERGY, days[0], days[-1], now=datetime(2025, 9, 20, tzinfo=UTC))

    assert [energy(day) for day in days] == [
        (pytest.approx(24.0), 1000.0, False),
        (pytest.approx(23 + 5.0), 5000.0, False),
        (pytest.approx(3.0 + 22), 3000.0, False),
        (pytest.approx(24.0), 1000.0, False),
    ]
    [whole] = MaterializedViewManager().energy_by_device(start=days[0], end=days[-1])
    assert whole["total_kwh"] == pytest.approx(24 * 4 - 1 + 4 + 2)  # the kettle's whole energy
    assert whole["days"] == 4


@pytest.mark.usefixtures("santiago")
def test_a_refresh_just_after_the_skipped_midnight_closes_the_day_before(ha_db: HaDatabase):
    first = datetime(2025, 9, 6, 4, tzinfo=UTC)  # the 6th's midnight
    kettle(ha_db, first, 48, {SKIPPED_START - HOUR: 5000.0})

    refresh_view(ENERGY, now=SKIPPED_START + timedelta(minutes=30))  # 01:30 on the 7th

    assert energy(date(2025, 9, 6)) == (pytest.approx(28.0), 5000.0, False)
    assert energy(SKIPPED) == (pytest.approx(0.5), 1000.0, True)
    refresh_view(ENERGY, now=datetime(2025, 9, 9, tzinfo=UTC))
    assert energy(SKIPPED) == (pytest.approx(23.0), 1000.0, False)


@pytest.mark.usefixtures("santiago")
def test_the_day_whose_last_hour_repeats_counts_its_25_hours(ha_db: HaDatabase):
    # 5 kW in the second 23:00 of the 5th (03:00-04:00 UTC on the 6th), 3 kW in the 6th's first.
    first = datetime(2025, 4, 4, 3, tzinfo=UTC)  # the 4th's midnight (-03)
    sixth = datetime(2025, 4, 6, 4, tzinfo=UTC)
    kettle(ha_db, first, 24 * 3 + 1, {sixth - HOUR: 5000.0, sixth: 3000.0})
    days = [date(2025, 4, 4), REPEATED, date(2025, 4, 6)]
    assert first + 24 * HOUR == REPEATED_START

    rebuild_view(ENERGY, days[0], days[-1], now=datetime(2025, 4, 20, tzinfo=UTC))

    assert [energy(day) for day in days] == [
        (pytest.approx(24.0), 1000.0, False),
        (pytest.approx(24 + 5.0), 5000.0, False),
        (pytest.approx(3.0 + 23), 3000.0, False),
    ]


@pytest.mark.usefixtures("santiago")
def test_carbon_points_of_the_skipped_midnight_go_to_their_own_day(enrich_db: str):
    # A point every UTC hour: 900 gCO2/kWh in the 6th's last hour, 10 in the 7th's first.
    tags = {"region": "CL", "provider": "electricitymaps"}
    first = datetime(2025, 9, 6, 4, tzinfo=UTC)
    values = {SKIPPED_START - HOUR: 900.0, SKIPPED_START: 10.0}
    get_timeseries().write(enrich_db, [
        Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": values.get(t, 100.0)}, t, tags)
        for t in (first + n * HOUR for n in range(24 + 23))
    ])  # fmt: skip

    rebuild_view(CARBON, date(2025, 9, 6), SKIPPED, now=datetime(2025, 9, 20, tzinfo=UTC))

    rows = {row.date: row for row in DailyCarbonSummary.objects.filter(region="CL")}
    assert sorted(rows) == [date(2025, 9, 6), SKIPPED]
    sixth, seventh = rows[date(2025, 9, 6)], rows[SKIPPED]
    assert (sixth.min_carbon, sixth.max_carbon) == (100.0, 900.0)
    assert sixth.avg_carbon == pytest.approx((23 * 100 + 900) / 24)
    assert (seventh.min_carbon, seventh.max_carbon) == (10.0, 100.0)
    assert seventh.avg_carbon == pytest.approx((10 + 22 * 100) / 23)  # 23 hours, not 24
    assert not sixth.partial and not seventh.partial


@pytest.mark.usefixtures("santiago")
def test_room_activity_of_a_local_day_is_its_23_hours(ha_db: HaDatabase):
    # Motion on for the first five minutes of every UTC hour from the 6th to the 8th.
    start = datetime(2025, 9, 6, 4, tzinfo=UTC)
    points = [(start - HOUR, "off")]
    for n in range(24 * 3):
        points += [(start + n * HOUR, "on"), (start + n * HOUR + timedelta(minutes=5), "off")]
    ha_db.saved_entity("ingestor", "binary_sensor.hall_motion", points, kind="binary",
                       device_class="motion", area="hall")  # fmt: skip

    rebuild_view(
        ACTIVITY, date(2025, 9, 6), date(2025, 9, 8), now=datetime(2025, 9, 20, tzinfo=UTC)
    )

    rows = MaterializedViewManager().room_activity(area="hall", start=SKIPPED, end=SKIPPED)
    assert [row["hour"] for row in rows] == [SKIPPED_START + n * HOUR for n in range(23)]
    assert {row["day_of_week"] for row in rows} == {6}  # a Sunday, from 01:00 on
    assert sum(row["motion_count"] for row in rows) == 23
    before = MaterializedViewManager().room_activity(area="hall", end=date(2025, 9, 6))
    assert before[-1]["hour"] == SKIPPED_START - HOUR and before[-1]["day_of_week"] == 5
