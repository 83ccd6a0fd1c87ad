"""The aggregation math of the tiers, on constructed series whose answers are worked out by
hand in the comments, plus seeded random series checking the properties (min <= avg <= max,
hourly composes exactly into daily, energy and counts are conserved)."""

import logging
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from retention.entities.samples import Sample
from retention.tiers.aggregate import KINDS, Aggregate, compose
from retention.tiers.stepwise import aggregate_window, aggregate_windows
from retention.tiers.timeline import day_windows, hour_windows
from retention.timeutil import floor_day, floor_hour


def T(hour: int, minute: int = 0, second: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 5, day, hour, minute, second, tzinfo=UTC)


def value(hour: int, minute: int, v: float, second: int = 0) -> Sample:
    return Sample(T(hour, minute, second), value=v)


def state(hour: int, minute: int, s: str, **attributes: float) -> Sample:
    return Sample(T(hour, minute), state=s, attributes=attributes)


def binary(hour: int, minute: int, on: bool) -> Sample:
    # What ha_source yields for a binary sensor: the state and HA's 1/0.
    return Sample(T(hour, minute), value=1.0 if on else 0.0, state="on" if on else "off")


def gap(hour: int, minute: int) -> Sample:
    return Sample(T(hour, minute))  # unknown/unavailable


def dip_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "retention.tiers.stepwise" and r.levelno == logging.WARNING
    ]


# --- Numeric and power ----------------------------------------------------------------------
IRREGULAR = [value(9, 50, 17.0), value(10, 10, 22.0), value(10, 40, 18.0), value(10, 55, 25.0)]


def test_irregular_sampling_is_time_weighted_with_the_carried_in_value():
    # 10:00-10:10 17 (carried in, 600 s), 10:10-10:40 22 (1800 s), 10:40-10:55 18 (900 s),
    # 10:55-11:00 25 (300 s): 17*600 + 22*1800 + 18*900 + 25*300 = 10200 + 39600 + 16200
    # + 7500 = 73500; mean 73500 / 3600 = 20.41666... (the plain mean of 22, 18, 25 would be
    # 21.67). min 17 is the carried-in value, in force at 10:00.
    agg = aggregate_window("numeric", IRREGULAR, T(10), T(11))
    assert agg is not None
    assert agg.avg_value == pytest.approx(73500 / 3600, rel=1e-12)
    assert (agg.min_value, agg.max_value, agg.last_value) == (17.0, 25.0, 25.0)
    assert agg.sample_count == 3  # the carried-in sample is not in the window
    assert agg.coverage_seconds == 3600.0
    assert agg.total_energy is None  # energy only for power and energy meters


def test_power_energy_is_the_time_integral_in_kwh():
    # Same series as watts: 73500 W·s / 3.6e6 = 0.0204166... kWh.
    agg = aggregate_window("power", IRREGULAR, T(10), T(11))
    assert agg is not None
    assert agg.total_energy == pytest.approx(73500 / 3.6e6, rel=1e-12)
    assert agg.avg_value == pytest.approx(73500 / 3600, rel=1e-12)


def test_a_step_spans_several_windows():
    # 1500 W from 08:30 to 11:15, then 0 W.
    samples = [value(8, 30, 1500.0), value(11, 15, 0.0)]
    windows = hour_windows(T(8), T(12))
    h08, h09, h10, h11 = aggregate_windows("power", samples, windows)
    # 08:00-08:30 nothing known yet: coverage 1800 s, 1500 W * 1800 s = 0.75 kWh.
    assert (h08.coverage_seconds, h08.sample_count, h08.avg_value) == (1800.0, 1, 1500.0)
    assert h08.total_energy == pytest.approx(0.75)
    # 09 and 10: no sample inside, the carried-in 1500 W covers the whole hour: 1.5 kWh.
    for hour in (h09, h10):
        assert (hour.sample_count, hour.coverage_seconds) == (0, 3600.0)
        assert (hour.avg_value, hour.min_value, hour.max_value, hour.last_value) == (
            1500.0,
            1500.0,
            1500.0,
            1500.0,
        )
        assert hour.total_energy == pytest.approx(1.5)
    # 11:00-11:15 1500 W (900 s), then 0 W (2700 s): mean 1500*900/3600 = 375, 0.375 kWh.
    assert h11.avg_value == pytest.approx(375.0)
    assert (h11.min_value, h11.max_value, h11.last_value, h11.sample_count) == (0.0, 1500.0, 0.0, 1)
    assert h11.total_energy == pytest.approx(0.375)
    # The same hour read on its own with only the carried-in sample gives the same row.
    assert aggregate_window("power", samples[:1], T(10), T(11)) == h10


def test_duplicate_timestamps_are_one_sample_and_the_later_wins():
    # 10:30 has 20 then 30: 30 wins, 20 is never in force (not even for min/max).
    # 10*1800 + 30*1800 = 72000 -> mean 20.0; two samples (10:00 and 10:30).
    samples = [value(10, 0, 10.0), value(10, 30, 20.0), value(10, 30, 30.0)]
    agg = aggregate_window("numeric", samples, T(10), T(11))
    assert (agg.sample_count, agg.avg_value, agg.min_value, agg.max_value) == (2, 20.0, 10.0, 30.0)
    assert agg.last_value == 30.0
    # A gap written after a value at the same time wins too: 10:30 is unknown from then.
    with_gap = aggregate_window(
        "numeric", [value(10, 0, 10.0), value(10, 30, 20.0), gap(10, 30)], T(10), T(11)
    )
    assert (with_gap.sample_count, with_gap.gap_count, with_gap.coverage_seconds) == (1, 1, 1800.0)
    # Binary: off before, on then off at 10:20 -> off wins, no change at all.
    flips = [binary(9, 0, False), binary(10, 20, True), binary(10, 20, False)]
    agg = aggregate_window("binary", flips, T(10), T(11))
    assert (agg.state_changes, agg.on_seconds, agg.sample_count) == (0, 0.0, 1)


def test_gaps_reduce_coverage_and_break_the_step():
    # 10 W carried in from 09:30, unavailable at 10:15, 30 W at 10:45:
    # covered 10:00-10:15 (10 W, 900 s) and 10:45-11:00 (30 W, 900 s) = 1800 s;
    # mean (9000 + 27000) / 1800 = 20; energy 36000 W·s = 0.01 kWh.
    samples = [value(9, 30, 10.0), gap(10, 15), value(10, 45, 30.0)]
    agg = aggregate_window("power", samples, T(10), T(11))
    assert (agg.coverage_seconds, agg.sample_count, agg.gap_count) == (1800.0, 1, 1)
    assert (agg.avg_value, agg.min_value, agg.max_value, agg.last_value) == (20.0, 10.0, 30.0, 30.0)
    assert agg.total_energy == pytest.approx(0.01)
    # A window that opens in a gap and has no point: nothing to store.
    assert aggregate_window("power", [gap(10, 15)], T(11), T(12)) is None
    # A window whose only point is a gap: a row that accounts for that point, and no made-up
    # numbers (mean, min, max, energy unknown -> not written, never 0).
    only_gap = aggregate_window("power", [gap(10, 15), gap(11, 30)], T(11), T(12))
    assert only_gap.to_fields() == {"sample_count": 0, "coverage_seconds": 0.0, "gap_count": 1}


def test_nothing_known_and_no_point_gives_no_aggregate():
    assert aggregate_window("numeric", [], T(10), T(11)) is None
    assert aggregate_window("binary", [binary(11, 30, True)], T(10), T(11)) is None


# --- Energy meters ---------------------------------------------------------------------------
def test_energy_meter_reset_counts_the_new_cycle_from_zero(caplog):
    # 100.0 -> 100.5: +0.5; 100.5 -> 0.2 is below 90 % of 100.5: a reset, +0.2 (new cycle from
    # 0); 0.2 -> 0.4: +0.2. Growth 0.5 + 0.2 + 0.2 = 0.9.
    caplog.set_level(logging.INFO, logger="retention.tiers.stepwise")
    carried = [value(9, 50, 100.0), value(10, 10, 100.5), value(10, 30, 0.2), value(10, 50, 0.4)]
    agg = aggregate_window("energy", carried, T(10), T(11))
    assert agg.total_energy == pytest.approx(0.9, rel=1e-12)
    assert (agg.last_value, agg.min_value, agg.max_value, agg.sample_count) == (0.4, 0.2, 100.5, 3)
    assert dip_warnings(caplog) == []  # a reset is not a dip
    assert any("reset" in r.getMessage() for r in caplog.records)
    # Starting inside the window, the first reading is the zero point: the same 0.9.
    inside = [value(10, 5, 100.0), value(10, 10, 100.5), value(10, 30, 0.2), value(10, 50, 0.4)]
    assert aggregate_window("energy", inside, T(10), T(11)).total_energy == pytest.approx(0.9)


def test_energy_dip_below_ten_percent_is_noise_and_logged_once(caplog):
    # 100.0 -> 95.0 is >= 90 % of 100: noise, not a reset. HA moves its reference to 95.0
    # (the dip counts -5.0) and the recovery 95.0 -> 100.5 gives it back (+5.5): growth 0.5.
    # Had it been taken as a reset, the growth would be 95.0 + 5.5 = 100.5.
    caplog.set_level(logging.INFO, logger="retention.tiers.stepwise")
    samples = [value(10, 0, 100.0), value(10, 20, 95.0), value(10, 40, 100.5)]
    agg = aggregate_window("energy", samples, T(10), T(11), entity_id="sensor.meter")
    assert agg.total_energy == pytest.approx(0.5, rel=1e-12)
    assert agg.last_value == 100.5
    [warning] = dip_warnings(caplog)
    message = warning.getMessage()
    for part in ("sensor.meter", "100.0", "95.0", "2024-05-01T10:20:00+00:00"):
        assert part in message


def test_energy_dip_across_windows_adds_up_exactly(caplog):
    # Hour 10: 100.0 -> 95.0 (dip, -5.0). Hour 11: carried 95.0 -> 101.0 (+6.0).
    # Sum +1.0 = 101.0 - 100.0, the same as the two hours computed at once.
    samples = [value(10, 0, 100.0), value(10, 40, 95.0), value(11, 30, 101.0)]
    h10, h11 = aggregate_windows("energy", samples, hour_windows(T(10), T(12)))
    assert (h10.total_energy, h11.total_energy) == (-5.0, 6.0)
    whole = aggregate_window("energy", samples, T(10), T(12))
    assert whole.total_energy == 1.0 == h10.total_energy + h11.total_energy
    assert len(dip_warnings(caplog)) == 2  # logged once per computation that saw the dip


def test_energy_previous_last_value_replaces_a_missing_carry_in():
    samples = [value(10, 10, 100.0), value(10, 40, 100.5)]
    # No carry-in, no previous reading: 100.0 is the zero point, growth 0.5.
    assert aggregate_window("energy", samples, T(10), T(11)).total_energy == 0.5
    # The previous window ended at 99.0: growth 1.0 + 0.5 = 1.5.
    agg = aggregate_window("energy", samples, T(10), T(11), previous_last_value=99.0)
    assert agg.total_energy == 1.5
    # A real carried-in reading (99.5) wins over the hint: 0.5 + 0.5 = 1.0.
    carried = [value(9, 0, 99.5), *samples]
    agg = aggregate_window("energy", carried, T(10), T(11), previous_last_value=50.0)
    assert agg.total_energy == 1.0


def test_energy_negative_reading_is_skipped_and_gaps_keep_the_reference(caplog):
    # 10.0 -> -1.0 (skipped, warned, holds nothing) -> 10.5: +0.5. Covered: 10.0 for 1200 s
    # and 10.5 for 1200 s -> mean 10.25.
    samples = [value(10, 0, 10.0), value(10, 20, -1.0), value(10, 40, 10.5)]
    agg = aggregate_window("energy", samples, T(10), T(11))
    assert (agg.total_energy, agg.coverage_seconds, agg.avg_value) == (0.5, 2400.0, 10.25)
    assert agg.sample_count == 3
    assert "negative" in dip_warnings(caplog)[0].getMessage()
    # Unavailable in between: the meter continues from its last reading, 100.0 -> 101.0.
    gapped = [value(10, 0, 100.0), gap(10, 20), value(10, 40, 101.0)]
    agg = aggregate_window("energy", gapped, T(10), T(11))
    assert (agg.total_energy, agg.coverage_seconds, agg.gap_count) == (1.0, 2400.0, 1)


# --- DST: windows are UTC ---------------------------------------------------------------------
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_23_hour_local_day_is_the_sum_of_its_utc_hours():
    # 2024-03-31 in Berlin: 00:00 CET = 2024-03-30T23:00Z to 2024-04-01 00:00 CEST =
    # 2024-03-31T22:00Z, 23 hours.
    start = datetime(2024, 3, 31, tzinfo=BERLIN)
    end = datetime(2024, 4, 1, tzinfo=BERLIN)
    hours = hour_windows(start, end)
    assert len(hours) == 23
    assert hours[0][0] == datetime(2024, 3, 30, 23, tzinfo=UTC)
    assert hours[-1][1] == datetime(2024, 3, 31, 22, tzinfo=UTC)
    # A meter read every 20 minutes from 2024-03-30T22:50Z, +0.25 kWh per reading. Readings at
    # 22:50Z + 20k min lie in the local day for 20k < 1390 min, i.e. k = 1..69:
    # growth 69 * 0.25 = 17.25 kWh (exact in binary floating point).
    first = datetime(2024, 3, 30, 22, 50, tzinfo=UTC)
    meter = [Sample(first + timedelta(minutes=20 * k), value=1000 + 0.25 * k) for k in range(90)]
    hourly = aggregate_windows("energy", meter, hours)
    assert sum(h.total_energy for h in hourly) == 17.25
    assert aggregate_window("energy", meter, start, end).total_energy == 17.25
    assert compose("energy", hourly, start, end).total_energy == 17.25
    # 2000 W all day: 23 h * 2 kWh = 46 kWh locally; the UTC day 2024-03-31 has 24 hours.
    power = [Sample(datetime(2024, 3, 30, 12, tzinfo=UTC), value=2000.0)]
    local = aggregate_windows("power", power, hours)
    assert sum(h.total_energy for h in local) == pytest.approx(46.0)
    assert aggregate_window("power", power, start, end).total_energy == pytest.approx(46.0)
    utc_day = day_windows(datetime(2024, 3, 31, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    assert len(utc_day) == 1 and len(hour_windows(*utc_day[0])) == 24
    assert aggregate_window("power", power, *utc_day[0]).total_energy == pytest.approx(48.0)


def test_a_25_hour_local_day():
    # 2024-10-27 in Berlin: 2024-10-26T22:00Z to 2024-10-27T23:00Z, 25 hours: 50 kWh at 2 kW.
    start, end = datetime(2024, 10, 27, tzinfo=BERLIN), datetime(2024, 10, 28, tzinfo=BERLIN)
    hours = hour_windows(start, end)
    assert len(hours) == 25
    power = [Sample(datetime(2024, 10, 26, tzinfo=UTC), value=2000.0)]
    hourly = aggregate_windows("power", power, hours)
    assert sum(h.total_energy for h in hourly) == pytest.approx(50.0)
    assert compose("power", hourly, start, end).total_energy == pytest.approx(50.0)


def test_windows_must_be_on_utc_boundaries():
    india = ZoneInfo("Asia/Kolkata")  # +05:30: local midnight is not a UTC hour
    with pytest.raises(ValueError, match="not on a UTC hour boundary"):
        hour_windows(datetime(2024, 5, 1, tzinfo=india), datetime(2024, 5, 2, tzinfo=india))
    with pytest.raises(ValueError, match="not on a UTC day boundary"):
        day_windows(T(1), T(0, day=3))
    with pytest.raises(ValueError, match="no timezone"):
        hour_windows(datetime(2024, 5, 1), T(1))
    assert floor_hour(datetime(2024, 5, 1, 12, 59, 59, tzinfo=india)) == T(7)
    assert floor_day(T(23, 59)) == T(0)
    assert day_windows(T(0), T(0, day=3)) == [(T(0), T(0, day=2)), (T(0, day=2), T(0, day=3))]


# --- States -------------------------------------------------------------------------------
def test_binary_state_changes_and_on_seconds():
    # off (carried) -> on 10:10 (change 1) -> on 10:15 (attribute update, no change)
    # -> off 10:30 (change 2) -> on 10:50 (change 3). On: 10:10-10:30 (1200 s) + 10:50-11:00
    # (600 s) = 1800 s.
    samples = [
        binary(9, 0, False),
        binary(10, 10, True),
        binary(10, 15, True),
        binary(10, 30, False),
        binary(10, 50, True),
    ]
    agg = aggregate_window("binary", samples, T(10), T(11))
    assert (agg.state_changes, agg.on_seconds, agg.last_state) == (3, 1800.0, "on")
    assert (agg.sample_count, agg.coverage_seconds) == (4, 3600.0)
    assert agg.avg_value is None  # no on-fraction mean for binary entities
    # A change exactly at the window start counts (from the carried-in off).
    at_start = aggregate_window("binary", [binary(9, 0, False), binary(10, 0, True)], T(10), T(11))
    assert (at_start.state_changes, at_start.on_seconds) == (1, 3600.0)
    # A value without a state (1/0) is on/off too.
    numeric_only = [Sample(T(10), value=1.0), Sample(T(10, 30), value=0.0)]
    agg = aggregate_window("binary", numeric_only, T(10), T(11))
    assert (agg.state_changes, agg.on_seconds, agg.last_state) == (1, 1800.0, "off")


def test_gaps_are_transparent_for_state_changes():
    # on 10:00 (first state ever: no change), gap 10:10, on 10:20 (same as last known: no
    # change), gap 10:30, off 10:40 (change 1). On 600 + 600 s; covered 600 + 600 + 1200 s.
    samples = [
        binary(10, 0, True),
        gap(10, 10),
        binary(10, 20, True),
        gap(10, 30),
        binary(10, 40, False),
    ]
    agg = aggregate_window("binary", samples, T(10), T(11))
    assert (agg.state_changes, agg.on_seconds, agg.coverage_seconds) == (1, 1200.0, 2400.0)
    assert (agg.sample_count, agg.gap_count, agg.last_state) == (3, 2, "off")
    # Opening in a gap, the previous window's last state tells whether 10:20 changed it.
    tail = [gap(9, 50), binary(10, 20, True)]
    assert aggregate_window("binary", tail, T(10), T(11)).state_changes == 0
    hinted = aggregate_window("binary", tail, T(10), T(11), previous_last_state="off")
    assert hinted.state_changes == 1


def test_text_state_changes():
    # heat (carried) -> heat 10:05 (no) -> cool 10:20 (1) -> off 10:40 (2) -> cool 10:50 (3).
    samples = [
        state(9, 0, "heat"),
        state(10, 5, "heat"),
        state(10, 20, "cool"),
        state(10, 40, "off"),
        state(10, 50, "cool"),
    ]
    agg = aggregate_window("text", samples, T(10), T(11))
    assert (agg.state_changes, agg.last_state, agg.sample_count) == (3, "cool", 4)
    assert agg.to_fields() == {
        "sample_count": 4,
        "coverage_seconds": 3600.0,
        "gap_count": 0,
        "state_changes": 3,
        "last_state": "cool",
    }


WEATHER = [
    state(9, 45, "sunny", temperature=10.0, humidity=80.0),
    state(10, 20, "cloudy", temperature=12.0, humidity=70.0),
    gap(10, 40),
    state(10, 50, "cloudy", temperature=11.0),
]


def test_weather_attribute_means():
    # temperature: 10 for 1200 s, 12 for 1200 s, unknown 600 s (gap), 11 for 600 s:
    # (12000 + 14400 + 6600) / 3000 = 11.0. humidity: 80 for 1200 s, 70 for 1200 s, then
    # unknown (the gap, then a sample without it): 180000 / 2400 = 75.0.
    agg = aggregate_window("weather", WEATHER, T(10), T(11))
    assert agg.attribute_means == {"temperature": 11.0, "humidity": 75.0}
    assert agg.attribute_coverage == {"temperature": 3000.0, "humidity": 2400.0}
    assert (agg.state_changes, agg.last_state, agg.coverage_seconds) == (1, "cloudy", 3000.0)
    assert agg.to_fields() == {
        "sample_count": 2,
        "coverage_seconds": 3000.0,
        "gap_count": 1,
        "state_changes": 1,
        "last_state": "cloudy",
        "humidity_mean": 75.0,
        "humidity_coverage_seconds": 2400.0,
        "temperature_mean": 11.0,
        "temperature_coverage_seconds": 3000.0,
    }


# --- Fields --------------------------------------------------------------------------------
def test_fields_per_kind_are_exact_and_typed():
    power = aggregate_window("power", IRREGULAR, T(10), T(11)).to_fields()
    assert set(power) == {
        "sample_count",
        "coverage_seconds",
        "gap_count",
        "avg_value",
        "min_value",
        "max_value",
        "last_value",
        "total_energy",
    }
    assert type(power["sample_count"]) is int and type(power["gap_count"]) is int
    assert all(type(power[k]) is float for k in set(power) - {"sample_count", "gap_count"})
    numeric = aggregate_window("numeric", IRREGULAR, T(10), T(11)).to_fields()
    assert set(numeric) == set(power) - {"total_energy"}
    energy = aggregate_window("energy", IRREGULAR, T(10), T(11)).to_fields()
    assert set(energy) == set(power)
    flips = [binary(9, 0, False), binary(10, 10, True)]
    fields = aggregate_window("binary", flips, T(10), T(11)).to_fields()
    assert fields == {
        "sample_count": 1,
        "coverage_seconds": 3600.0,
        "gap_count": 0,
        "state_changes": 1,
        "on_seconds": 3000.0,
        "last_state": "on",
    }
    assert type(fields["state_changes"]) is int


def test_from_fields_round_trip_and_influx_number_forms():
    for kind, samples in (
        ("power", IRREGULAR),
        ("energy", IRREGULAR),
        ("numeric", IRREGULAR),
        ("weather", WEATHER),
        ("binary", [binary(9, 0, False), binary(10, 10, True)]),
        ("text", [state(10, 10, "idle")]),
    ):
        agg = aggregate_window(kind, samples, T(10), T(11))
        assert Aggregate.from_fields(kind, T(10), T(11), agg.to_fields()) == agg
    # InfluxDB's JSON gives 3600.0 as 3600, absent fields as None (SELECT * lists every field
    # key of the measurement) and tags next to fields: all handled.
    row = {"sample_count": 2, "coverage_seconds": 3600, "avg_value": 5, "kind": "numeric"}
    agg = Aggregate.from_fields("numeric", T(10), T(11), {**row, "on_seconds": None})
    assert type(agg.coverage_seconds) is float and agg.avg_value == 5.0
    assert agg.on_seconds is None and agg.gap_count == 0


def test_from_fields_errors_say_what_to_do():
    # One field or two, in words: it said "field(s) sample_count missing".
    with pytest.raises(ValueError, match="the field sample_count is missing.*rerun the downsam"):
        Aggregate.from_fields("power", T(10), T(11), {"coverage_seconds": 1.0})
    with pytest.raises(ValueError, match="the fields sample_count and coverage_seconds are miss"):
        Aggregate.from_fields("power", T(10), T(11), {"avg_value": 1.0})
    with pytest.raises(ValueError, match="temperature.*coverage_seconds"):
        Aggregate.from_fields(
            "weather",
            T(10),
            T(11),
            {"sample_count": 1, "coverage_seconds": 1.0, "temperature_mean": 3.0},
        )
    with pytest.raises(ValueError, match="unknown entity kind 'gas'"):
        aggregate_window("gas", [], T(10), T(11))
    with pytest.raises(ValueError, match="time order"):
        aggregate_window("numeric", [value(10, 30, 1.0), value(10, 0, 2.0)], T(10), T(11))
    with pytest.raises(ValueError, match="empty window"):
        aggregate_window("numeric", [], T(11), T(10))


# --- Composition ----------------------------------------------------------------------------
def test_compose_is_coverage_weighted_not_an_average_of_averages():
    # Hour 10: mean 20 over 3600 s; hour 11: mean 40 over 1800 s.
    # (20*3600 + 40*1800) / 5400 = 144000 / 5400 = 26.666..., not (20 + 40) / 2 = 30.
    h10 = Aggregate(T(10), T(11), "power", 5, 3600.0, avg_value=20.0, min_value=10.0)
    h10.max_value, h10.last_value, h10.total_energy = 30.0, 30.0, 0.02
    h11 = Aggregate(T(11), T(12), "power", 2, 1800.0, avg_value=40.0, min_value=35.0)
    h11.max_value, h11.last_value, h11.total_energy = 50.0, 50.0, 0.02
    day = compose("power", [h11, h10], T(0), T(0, day=2))
    assert day.avg_value == pytest.approx(144000 / 5400, rel=1e-12)
    assert (day.min_value, day.max_value, day.last_value) == (10.0, 50.0, 50.0)
    assert (day.sample_count, day.coverage_seconds) == (7, 5400.0)
    assert day.total_energy == pytest.approx(0.04)
    assert (day.window_start, day.window_end) == (T(0), T(0, day=2))
    assert compose("power", [], T(0), T(0, day=2)) is None


def test_compose_refuses_mixed_kinds_and_overlaps():
    h10 = Aggregate(T(10), T(11), "power", 1, 3600.0)
    with pytest.raises(ValueError, match="cannot compose a power aggregate"):
        compose("energy", [h10], T(0), T(0, day=2))
    with pytest.raises(ValueError, match="overlaps"):
        compose("power", [h10, h10], T(0), T(0, day=2))
    with pytest.raises(ValueError, match="outside"):
        compose("power", [h10], T(0), T(10, 30))


# --- Properties on seeded random series -----------------------------------------------------
DAY_START, DAY_END = T(0, day=2), T(0, day=3)


def _random_sample(rng: random.Random, kind: str, moment: datetime, meter: list[float]) -> Sample:
    if kind == "energy":
        roll = rng.random()
        if roll < 0.03:
            meter[0] = rng.uniform(0, 2)  # reset
        elif roll < 0.07:
            return Sample(moment, value=meter[0] * rng.uniform(0.9, 0.999))  # dip
        elif roll < 0.08:
            return Sample(moment, value=-1.0)
        else:
            meter[0] += rng.uniform(0, 0.3)
        return Sample(moment, value=meter[0])
    if kind == "power":
        return Sample(moment, value=rng.choice([0.0, 0.1, rng.uniform(0, 3000)]))
    if kind == "numeric":
        if rng.random() < 0.03:
            return Sample(moment, state="not a number")  # counts, holds nothing
        return Sample(moment, value=rng.uniform(-10, 30))
    if kind == "binary":
        on = rng.random() < 0.5
        return Sample(moment, value=float(on), state="on" if on else "off")
    if kind == "text":
        return Sample(moment, state=rng.choice(["heat", "cool", "idle", "off"]))
    attributes = {
        name: rng.uniform(-5, 100)
        for name in ("temperature", "humidity", "pressure")
        if rng.random() < 0.8
    }
    return Sample(moment, state=rng.choice(["sunny", "cloudy", "rainy"]), attributes=attributes)


def _random_series(rng: random.Random, kind: str) -> list[Sample]:
    moment = DAY_START - timedelta(seconds=rng.uniform(1, 5400))
    meter = [rng.uniform(0, 500)]
    samples = [_random_sample(rng, kind, moment, meter)]
    while moment < DAY_END + timedelta(hours=1):
        moment += timedelta(
            seconds=rng.choice([rng.uniform(0.5, 60), rng.uniform(60, 900), rng.uniform(900, 9000)])
        )
        if rng.random() < 0.08:  # exactly on an hour boundary
            moment = floor_hour(moment) + timedelta(hours=1)
        samples.append(
            Sample(moment) if rng.random() < 0.07 else _random_sample(rng, kind, moment, meter)
        )
        if rng.random() < 0.04:  # a duplicate time
            samples.append(_random_sample(rng, kind, moment, meter))
    return samples


def _hourly_like_tiers(kind: str, samples: list[Sample]) -> list[Aggregate | None]:
    """Hour by hour as `ha_source.read_samples` gives them (only the last sample before each
    hour is carried in), with the previous rows' last known value/state passed on."""
    # The previous day's last row: the last known value/state before the day.
    previous = aggregate_window(kind, samples, samples[0].time, DAY_START)
    last_value, last_state = previous.last_value, previous.last_state
    results: list[Aggregate | None] = []
    for start, end in hour_windows(DAY_START, DAY_END):
        carried = [s for s in samples if s.time < start][-1:]
        inside = [s for s in samples if start <= s.time < end]
        agg = aggregate_window(
            kind,
            carried + inside,
            start,
            end,
            previous_last_value=last_value,
            previous_last_state=last_state,
        )
        if agg is not None:
            last_value = agg.last_value if agg.last_value is not None else last_value
            last_state = agg.last_state if agg.last_state is not None else last_state
        results.append(agg)
    return results


@pytest.mark.parametrize("kind", KINDS)
def test_properties_on_random_series(kind, caplog):
    caplog.set_level(logging.ERROR, logger="retention.tiers.stepwise")  # dips are expected here
    for seed in range(25):
        rng = random.Random(f"{kind}-{seed}")
        samples = _random_series(rng, kind)
        day = aggregate_window(kind, samples, DAY_START, DAY_END)
        hourly = aggregate_windows(kind, samples, hour_windows(DAY_START, DAY_END))
        assert _hourly_like_tiers(kind, samples) == hourly, seed
        rows = [h for h in hourly if h is not None]
        for agg in [*rows, day]:
            if agg.avg_value is not None:
                assert agg.min_value <= agg.avg_value <= agg.max_value, seed
            # Every point of the window is a sample or a gap.
            points = {s.time for s in samples if agg.window_start <= s.time < agg.window_end}
            assert agg.sample_count + agg.gap_count == len(points), seed
        stored = [
            Aggregate.from_fields(kind, h.window_start, h.window_end, h.to_fields()) for h in rows
        ]
        assert stored == rows, seed
        composed = compose(kind, stored, DAY_START, DAY_END)
        _assert_same(kind, composed, day, seed)
        if kind in ("power", "energy"):
            total = sum(h.total_energy for h in rows if h.total_energy is not None)
            assert total == pytest.approx(day.total_energy, rel=1e-9, abs=1e-9), seed


def _assert_same(kind: str, composed: Aggregate, direct: Aggregate, seed: int) -> None:
    close = {"rel": 1e-9, "abs": 1e-9}
    assert (composed.sample_count, composed.gap_count) == (direct.sample_count, direct.gap_count)
    assert composed.coverage_seconds == pytest.approx(direct.coverage_seconds, **close), seed
    for name in ("avg_value", "total_energy", "on_seconds"):
        got, want = getattr(composed, name), getattr(direct, name)
        assert (got is None) == (want is None), (seed, name)
        if want is not None:
            assert got == pytest.approx(want, **close), (seed, name)
    for name in ("min_value", "max_value", "last_value", "state_changes", "last_state"):
        assert getattr(composed, name) == getattr(direct, name), (seed, name)
    assert composed.attribute_means.keys() == direct.attribute_means.keys(), seed
    for name, mean in direct.attribute_means.items():
        assert composed.attribute_means[name] == pytest.approx(mean, **close), seed
        assert composed.attribute_coverage[name] == pytest.approx(
            direct.attribute_coverage[name], **close
        )
