"""An energy meter's first reading ever, timed in the tiers (`first_reading_time`, seconds
since the epoch): on the row of the window it lies in, and on that day's daily row, so a meter
first read that day counts its day from then once its raw points are gone (docs/storage.md,
"Energy"). Every other row has none: a meter read before, whose reading is carried in (even
behind a gap), or known from the previous row's last_value. T0 = 2024-03-04 00:00 UTC."""

from datetime import timedelta

import pytest

from retention.entities.samples import Sample
from retention.tiers import runner as tiers
from retention.tiers.aggregate import Aggregate, compose
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import hour_windows
from tests.retention.conftest import T0, HaDatabase

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
FIRST = T0 + 6 * HOUR + 15 * MINUTE + timedelta(microseconds=250)  # 06:15:00.000250
KETTLE = [(FIRST, 1.0), (T0 + 6 * HOUR + 16 * MINUTE, "unavailable"), (T0 + 20 * HOUR, 2.2)]


def samples(points) -> list[Sample]:
    return [Sample(t) if v == "unavailable" else Sample(t, v) for t, v in points]


def first_times(aggregates) -> dict[int, float]:
    return {
        round((a.window_start - T0) / HOUR): a.first_reading_time
        for a in aggregates
        if a is not None and a.first_reading_time is not None
    }


def test_only_the_hour_of_a_meters_first_reading_times_it():
    hours = aggregate_windows("energy", samples(KETTLE), hour_windows(T0, T0 + DAY))
    assert first_times(hours) == {6: FIRST.timestamp()}  # 06:15:00.000250
    assert hours[6].to_fields()["first_reading_time"] == 1709532900.00025
    # The daily row: the earliest of its hours'; read back from the fields as written.
    daily = compose("energy", [h for h in hours if h is not None], T0, T0 + DAY)
    assert daily.first_reading_time == 1709532900.00025
    back = Aggregate.from_fields("energy", T0, T0 + DAY, daily.to_fields())
    assert back.first_reading_time == 1709532900.00025


def test_a_meter_read_before_has_no_first_reading_in_the_window():
    # Its reading carried in behind a gap (raw), or known from the previous row's last_value.
    before = [(T0 - HOUR, 0.5), (T0 - MINUTE, "unavailable"), *KETTLE]
    assert (
        first_times(aggregate_windows("energy", samples(before), hour_windows(T0, T0 + DAY))) == {}
    )
    known = aggregate_windows(
        "energy", samples(KETTLE), hour_windows(T0, T0 + DAY), previous_last_value=0.5
    )
    assert first_times(known) == {}
    # A power sensor's rows never hold it.
    power = aggregate_windows("power", samples(KETTLE), hour_windows(T0, T0 + DAY))
    assert "first_reading_time" not in power[6].to_fields()


@pytest.mark.django_db
@pytest.mark.influxdb
def test_the_tiers_keep_a_meters_first_reading_on_its_hour_and_its_day(ha_db: HaDatabase):
    points = [*KETTLE, (T0 + DAY + HOUR, 2.5)]  # and on the next day
    ha_db.saved_entity("ingestor", "sensor.kettle_energy", points, unit="kWh", kind="energy")
    assert tiers.downsample_hourly(T0.date(), T0.date() + 2 * DAY).status == "ok"
    hourly = read_rows(HOURLY_RP, T0, T0 + 2 * DAY)["sensor.kettle_energy"]
    with_it = {row.start: row.fields["first_reading_time"] for row in hourly
               if "first_reading_time" in row.fields}  # fmt: skip
    assert with_it == {T0 + 6 * HOUR: 1709532900.00025} and len(hourly) > 1

    assert tiers.downsample_daily(T0.date(), T0.date() + 2 * DAY).status == "ok"
    days = read_rows(DAILY_RP, T0, T0 + 2 * DAY)["sensor.kettle_energy"]
    assert [row.fields.get("first_reading_time") for row in days] == [1709532900.00025, None]
