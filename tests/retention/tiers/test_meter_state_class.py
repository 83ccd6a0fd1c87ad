"""Energy meters by their state class, as Home Assistant's statistics count them
(homeassistant/components/sensor/recorder.py, compile_statistics): `total_increasing` (a
drop below 90 % is a reset, a smaller dip is noise, negative readings are skipped) and `total`
(a decrease is negative growth, negative readings count, only a change of `last_reset` starts
a new cycle). Answers worked out by hand in the comments."""

import logging
from datetime import UTC, datetime

import pytest

from retention.archive import format as fmt
from retention.entities.points import sample_from_official, sample_from_state
from retention.entities.samples import Sample
from retention.tiers.aggregate import Aggregate, compose
from retention.tiers.layout import HOURLY_RP, compact, expand
from retention.tiers.rows import carry_fields, carry_sample
from retention.tiers.stepwise import aggregate_window, aggregate_windows
from retention.tiers.timeline import hour_windows

MAY_1 = "2024-05-01T00:00:00+00:00"
MAY_2 = "2024-05-02T00:00:00+00:00"
MAY_3 = "2024-05-03T00:00:00+00:00"


def T(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, 2, hour, minute, tzinfo=UTC)


def meter(hour: int, minute: int, v: float, state_class: str | None = "total",
          last_reset: str | None = None) -> Sample:  # fmt: skip
    return Sample(T(hour, minute), value=v, state_class=state_class, last_reset=last_reset)


def energy(samples: list[Sample], start: datetime, end: datetime, **kwargs) -> Aggregate:
    aggregate = aggregate_window("energy", samples, start, end, **kwargs)
    assert aggregate is not None
    return aggregate


# --- total ----------------------------------------------------------------------------------


def test_net_meter_decrease_is_negative_growth_not_a_reset():
    # A net grid meter exporting: 12 kWh (carried in) -> 2 kWh. HA: 2 - 12 = -10 (as
    # total_increasing it would be a reset: +2).
    agg = energy([meter(9, 50, 12.0), meter(10, 20, 2.0)], T(10), T(11))
    assert agg.total_energy == -10.0
    assert agg.last_value == 2.0 and agg.last_reset is None


def test_negative_net_readings_are_counted():
    # 3 (carried in) -> -1.5 (10:15) -> -4 (10:30) -> 0.5 (10:45): growth 0.5 - 3 = -2.5.
    # Time-weighted mean (3 - 1.5 - 4 + 0.5) * 900 / 3600 = -0.5; min -4, max 3.
    samples = [meter(9, 0, 3.0), meter(10, 15, -1.5), meter(10, 30, -4.0), meter(10, 45, 0.5)]
    agg = energy(samples, T(10), T(11))
    assert agg.total_energy == -2.5
    assert (agg.min_value, agg.max_value, agg.avg_value) == (-4.0, 3.0, -0.5)
    assert (agg.sample_count, agg.coverage_seconds, agg.last_value) == (3, 3600.0, 0.5)


def test_negative_reading_carried_in_is_the_reference():
    # -2 is in force from before the window: -2 -> 1 grows 3.
    agg = energy([meter(9, 0, -2.0), meter(10, 30, 1.0)], T(10), T(11))
    assert agg.total_energy == 3.0


def test_last_reset_change_with_a_small_drop_starts_a_new_cycle():
    # A daily meter: 5.0 (cycle May 1) -> 4.8 (cycle May 2: 4 % lower, a dip for a
    # total_increasing meter) -> 5.3. HA: the new cycle counts from 0: 4.8 + 0.5 = 5.3.
    samples = [
        meter(9, 50, 5.0, last_reset=MAY_1),
        meter(10, 10, 4.8, last_reset=MAY_2),
        meter(10, 40, 5.3, last_reset=MAY_2),
    ]
    agg = energy(samples, T(10), T(11))
    assert agg.total_energy == pytest.approx(5.3, rel=1e-12)
    assert agg.last_reset == MAY_2 and agg.last_value == 5.3


def test_last_reset_change_while_the_value_rises_starts_a_new_cycle():
    # 5.0 (May 1) -> 6.0 (May 2): +6 (the new cycle from 0), not +1.
    samples = [meter(9, 50, 5.0, last_reset=MAY_1), meter(10, 10, 6.0, last_reset=MAY_2)]
    assert energy(samples, T(10), T(11)).total_energy == 6.0


def test_last_reset_is_compared_as_a_time_not_as_text():
    # The same instant written in another zone is the same cycle: 5.0 -> 5.5 grows 0.5.
    official = sample_from_official(
        T(10, 10),
        {
            "value": 5.5,
            "state_class_str": "total",
            "last_reset_str": "2024-05-01T02:00:00+02:00",
            "last_reset": 20240501020000200.0,  # HA's writer: the digits of the string
        },
        "energy",
    )
    assert official.last_reset == MAY_1 and official.attributes == {}
    assert official.state_class == "total"
    agg = energy([meter(9, 50, 5.0, last_reset=MAY_1), official], T(10), T(11))
    assert agg.total_energy == 0.5


def test_official_meter_attributes_written_as_tags_are_read():
    # Home Assistant's `tags_attributes: [state_class, last_reset]` writes them as tags (a
    # SELECT * gives them as string columns), not as `*_str` fields: a `total` net meter read
    # as total_increasing counted its export 12 -> 2 as a reset (+2) instead of -10.
    tagged = {"value": 2.0, "state_class": "total", "last_reset": "2024-05-01T02:00:00+02:00"}
    official = sample_from_official(T(10, 20), tagged, "energy")
    assert (official.state_class, official.last_reset) == ("total", MAY_1)
    agg = energy([meter(9, 50, 12.0, last_reset=MAY_1), official], T(10), T(11))
    assert agg.total_energy == -10.0


def test_ingestor_attributes_give_the_state_class_and_last_reset():
    written = {"state_class": "total", "last_reset": "2024-05-02T00:00:00Z"}
    sample = sample_from_state(T(10), "4.5", "energy", {}, written)
    assert (sample.value, sample.state_class, sample.last_reset) == (4.5, "total", MAY_2)
    # Not a time: ignored, as HA ignores it; other kinds keep no meter attributes.
    assert sample_from_state(T(10), "4.5", "energy", {}, {"last_reset": "x"}).last_reset is None
    assert sample_from_state(T(10), "4.5", "numeric", {}, written).state_class is None


def test_total_without_last_reset_never_resets():
    # 100 -> 20 -> 30: -80 + 10 = -70 (total_increasing: a reset, +20 + 10 = 30).
    samples = [meter(9, 0, 100.0), meter(10, 10, 20.0), meter(10, 20, 30.0)]
    assert energy(samples, T(10), T(11)).total_energy == -70.0


def test_reading_without_last_reset_keeps_the_cycle():
    # May 2 -> (none) -> May 2 again: one cycle, 1 -> 2 -> 3 grows 2.
    samples = [
        meter(9, 0, 1.0, last_reset=MAY_2),
        meter(10, 10, 2.0),
        meter(10, 20, 3.0, last_reset=MAY_2),
    ]
    agg = energy(samples, T(10), T(11))
    assert agg.total_energy == 2.0 and agg.last_reset == MAY_2


# --- total_increasing (and no state class): unchanged ---------------------------------------


@pytest.mark.parametrize("state_class", ["total_increasing", None])
def test_total_increasing_meter_is_unchanged(state_class, caplog):
    # 100 -> 95 (dip < 10 %: noise, -5) -> 10 (reset: +10) -> -1 (skipped) -> 12 (+2):
    # -5 + 10 + 2 = 7. A last_reset on a total_increasing meter means nothing (HA).
    samples = [
        meter(9, 0, 100.0, state_class, last_reset=MAY_1),
        meter(10, 10, 95.0, state_class, last_reset=MAY_2),
        meter(10, 20, 10.0, state_class),
        meter(10, 30, -1.0, state_class),
        meter(10, 40, 12.0, state_class, last_reset=MAY_3),
    ]
    with caplog.at_level(logging.WARNING):
        agg = energy(samples, T(10), T(11))
    assert agg.total_energy == 7.0
    assert agg.last_value == 12.0 and agg.last_reset is None
    assert agg.min_value == 10.0  # the negative reading holds nothing
    assert "negative energy meter reading -1.0" in caplog.text
    assert "last_reset" not in agg.to_fields()


# --- across windows: the cycle is carried ---------------------------------------------------


def test_last_reset_change_exactly_at_a_window_boundary_counts_once():
    # 10:00 2.0 (May 1) ... 11:00 sharp 2.1 (May 2: new cycle, +2.1) -> 11:30 2.5 (+0.4).
    samples = [
        meter(9, 0, 1.5, last_reset=MAY_1),
        meter(10, 0, 2.0, last_reset=MAY_1),
        meter(11, 0, 2.1, last_reset=MAY_2),
        meter(11, 30, 2.5, last_reset=MAY_2),
    ]
    windows = hour_windows(T(10), T(12))
    h10, h11 = aggregate_windows("energy", samples, windows)
    assert (h10.total_energy, h10.last_reset) == (0.5, MAY_1)
    assert h11.total_energy == pytest.approx(2.5, rel=1e-12) and h11.last_reset == MAY_2
    whole = energy(samples, T(10), T(12))
    assert whole.total_energy == pytest.approx(h10.total_energy + h11.total_energy, rel=1e-12)
    day = compose("energy", [h10, h11], T(10), T(12))
    assert day.total_energy == h10.total_energy + h11.total_energy
    assert day.last_reset == MAY_2 and day.last_value == 2.5


def test_the_previous_windows_cycle_replaces_the_deleted_raw_data():
    # The raw points before 11:00 are gone; the previous hour's row says value 2.0, cycle
    # May 1. 11:00 2.1 (May 2) is a new cycle: +2.1. Told the cycle is May 2 already, the
    # same reading is 2.0 -> 2.1: +0.1.
    carried = Sample(T(10, 59), value=2.0, state_class="total")  # from carry_value alone
    later = [carried, meter(11, 0, 2.1, last_reset=MAY_2)]
    assert energy(later, T(11), T(12), previous_last_reset=MAY_1).total_energy == 2.1
    assert energy(later, T(11), T(12), previous_last_reset=MAY_2).total_energy == pytest.approx(
        0.1, rel=1e-12
    )
    # Only the previous value known (the row's last_value): the same answers.
    alone = [meter(11, 0, 2.1, last_reset=MAY_2)]
    previous = {"previous_last_value": 2.0, "previous_last_reset": MAY_1}
    assert energy(alone, T(11), T(12), **previous).total_energy == 2.1


def test_a_day_of_hours_composes_exactly_for_a_net_and_a_daily_meter():
    # Hourly readings of a net meter going up and down and through 0, with a new cycle at
    # 06:00 and at 13:00: Σ hourly == the whole day == the daily row composed from the hours.
    values = [4.0, 2.5, -1.0, -3.5, 0.5, 6.0, 1.0, 1.2, -0.4, 3.3, 2.0, 2.2, 2.1, 0.3, 5.0]
    samples = [
        meter(h, 30, v, last_reset=MAY_1 if h < 6 else MAY_2 if h < 13 else MAY_3)
        for h, v in enumerate(values)
    ]
    start, end = T(0), T(15)
    hours = [a for a in aggregate_windows("energy", samples, hour_windows(start, end)) if a]
    whole = energy(samples, start, end)
    assert whole.total_energy == pytest.approx(sum(a.total_energy for a in hours), abs=1e-12)
    day = compose("energy", hours, start, end)
    assert day.total_energy == pytest.approx(whole.total_energy, abs=1e-12)
    # Cycle May 1 (00:30-05:30): 6.0 - 4.0 = 2.0; May 2 (06:30-12:30) counts 1.0 from 0, then
    # 2.1 - 1.0 = 1.1; May 3 (13:30-14:30) counts 0.3 from 0, then 4.7: 2.0 + 2.1 + 5.0 = 9.1.
    assert whole.total_energy == pytest.approx(9.1, rel=1e-12)
    assert day.last_reset == MAY_3 == whole.last_reset


# --- stored: the row's last_reset and the carry-in ------------------------------------------


def test_last_reset_is_stored_in_the_row_and_carried_in():
    agg = Aggregate(T(10), T(11), "energy", sample_count=1, coverage_seconds=60.0)
    agg.total_energy, agg.last_value, agg.last_reset = -1.0, -0.5, MAY_2
    agg.min_value, agg.max_value = -1.0, 0.5
    fields = agg.to_fields()
    assert fields["last_reset"] == MAY_2
    assert Aggregate.from_fields("energy", T(10), T(11), fields).last_reset == MAY_2
    in_force = meter(10, 50, -0.5, last_reset=MAY_2)
    carry = carry_fields(in_force)
    assert carry["carry_state_class"] == "total" and carry["carry_last_reset"] == MAY_2
    back = carry_sample(carry, T(10, 59))
    assert (back.value, back.state_class, back.last_reset) == (-0.5, "total", MAY_2)
    # Written without the carry_last_reset equal to last_reset, read back with it.
    full = {**fields, **carry}
    written = compact(HOURLY_RP, full, "energy")
    assert "carry_last_reset" not in written
    assert expand(HOURLY_RP, written, "energy") == full
    # A total_increasing meter stores neither.
    assert carry_fields(meter(10, 50, 3.0, "total_increasing")) == {"carry_value": 3.0}


def test_the_reading_growth_starts_from_says_its_cycle_before_an_older_row():
    # A raw reading in force (May 2) is newer than a previous row's cycle (May 1, e.g. the
    # entity was not tiered for a while): 2.0 -> 2.1 in the May 2 cycle grows 0.1.
    later = [meter(10, 59, 2.0, last_reset=MAY_2), meter(11, 0, 2.1, last_reset=MAY_2)]
    agg = energy(later, T(11), T(12), previous_last_reset=MAY_1)
    assert agg.total_energy == pytest.approx(0.1, rel=1e-12) and agg.last_reset == MAY_2


def test_the_archive_keeps_a_daily_rows_last_reset():
    rows = [{"time": T(0), "entity_id": "sensor.net", "kind": "energy", "sample_count": 3,
             "coverage_seconds": 86400.0, "total_energy": -11.0, "last_reset": MAY_2}]  # fmt: skip
    table = fmt.rows_to_table(rows, fmt.field_types({"last_reset": "string"}))
    back = fmt.table_rows(fmt.from_parquet(fmt.to_parquet(table, "zstd")))
    assert back[0]["last_reset"] == MAY_2 and back[0]["total_energy"] == -11.0
    assert fmt.table_problems(table) == []
