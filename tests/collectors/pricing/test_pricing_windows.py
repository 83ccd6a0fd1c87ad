"""Window selection and the headline rules (peak, cheapest hours) against hand-computed answers.

Every expected value below is worked out by hand in the comment next to it.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors.pricing.slots import PriceSlot, is_peak, pricing_result
from collectors.pricing.windows import (
    NotEnoughData,
    UnreachableDuration,
    WindowError,
    find_windows,
    price_from,
)

T0 = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def at(hour: float) -> datetime:
    return T0 + timedelta(hours=hour)


def series(prices: list[float | None], minutes: int = 60, start: datetime = T0) -> list[PriceSlot]:
    """Back-to-back slots from `start`; None leaves a gap (no slot) in that place."""
    step = timedelta(minutes=minutes)
    return [
        PriceSlot(start + i * step, start + (i + 1) * step, price)
        for i, price in enumerate(prices)
        if price is not None
    ]


def starts(result) -> list[datetime]:
    return [slot.start for slot in result.slots]


# --- contiguous -----------------------------------------------------------------------------


def test_cheapest_contiguous_window_and_saving():
    # 2 h windows: (5,3)=4 (3,1)=2 (1,2)=1.5 (2,6)=4 (6,1)=3.5 (1,1)=1 -> 05:00-07:00 at 1.0
    result = find_windows(series([5, 3, 1, 2, 6, 1, 1]), 2, now=T0)
    assert (result.start, result.end) == (at(5), at(7))
    assert result.average_price == pytest.approx(1.0)
    # running now means 00:00-02:00: (5+3)/2 = 4, so 3 per kWh is saved
    assert result.saving_vs_now == pytest.approx(3.0)
    assert result.runs() == [(at(5), at(7), pytest.approx(1.0))]


def test_ties_go_to_the_later_window():
    # (1,1) at 01:00 and (1,1) at 04:00 both average 1 -> the later one
    result = find_windows(series([2, 1, 1, 3, 1, 1]), 2, now=T0)
    assert result.start == at(4)
    # most expensive 1 h: 5 at 00:00 and 5 at 02:00 -> the later one
    dearest = find_windows(series([5, 1, 5, 2]), 1, now=T0, most_expensive=True)
    assert dearest.start == at(2)
    assert dearest.average_price == 5


def test_ties_with_float_sums_still_go_to_the_later_window():
    # 0.1 + 0.2 and 0.2 + 0.1 differ in the last bit as floats; they are still a tie
    result = find_windows(series([0.1, 0.2, 0.9, 0.2, 0.1]), 2, now=T0)
    assert result.start == at(3)


def test_most_expensive_contiguous_window():
    # 3 h windows: (1,4,9)=14/3 (4,9,8)=7 (9,8,2)=19/3 (8,2,2)=4 -> 01:00-04:00 at 7
    result = find_windows(series([1, 4, 9, 8, 2, 2]), 3, now=T0, most_expensive=True)
    assert (result.start, result.end) == (at(1), at(4))
    assert result.average_price == pytest.approx(7.0)
    assert result.saving_vs_now == pytest.approx(14 / 3 - 7)


def test_the_running_slot_is_priced_from_now_to_its_end():
    # now is 00:20: the 00:00 slot (0.1) is running. Running 1 h from now is 40 min at 0.1 and
    # 20 min at 5 -> (4 + 100) / 60 = 1.733, cheaper than any later hour (2 at 02:00), so the
    # window is now .. now + 1 h (the old rule offered 02:00, paying 0.267 more per kWh)
    slots = series([0.1, 5, 2, 3])
    now = at(0) + timedelta(minutes=20)
    result = find_windows(slots, 1, now=now)
    assert (result.start, result.end) == (now, now + timedelta(hours=1))
    assert result.average_price == pytest.approx(104 / 60)
    assert result.saving_vs_now == 0.0
    assert [(s.start, s.end, s.price) for s in result.slots] == [
        (now, at(1), 0.1), (at(1), now + timedelta(hours=1), 5)
    ]  # fmt: skip
    # not contiguous either: the best whole hour (2 at 02:00) is dearer than running now
    assert find_windows(slots, 1, now=now, contiguous=False).start == now


def test_a_later_window_cheaper_than_now_never_starts_in_the_past():
    # 02:00 at 1 beats running now (1.733, as above): saving (104 / 60 - 1) per kWh
    now = at(0) + timedelta(minutes=20)
    result = find_windows(series([0.1, 5, 1, 3]), 1, now=now)
    assert result.start == at(2)
    assert result.saving_vs_now == pytest.approx(104 / 60 - 1)


def test_a_tie_with_running_now_goes_to_the_later_window():
    # everything costs 2: running now ties with every whole hour -> the latest, 03:00
    now = at(0) + timedelta(minutes=20)
    result = find_windows(series([2, 2, 2, 2]), 1, now=now)
    assert result.start == at(3)
    assert result.saving_vs_now == 0.0


def test_most_expensive_counts_running_now_too():
    # 00:00 costs 9: running 1 h from 00:20 is (40 * 9 + 20 * 1) / 60 = 6.333, dearer than
    # any later hour (5 at 03:00); saving_vs_now keeps its sign: now minus window = 0
    now = at(0) + timedelta(minutes=20)
    result = find_windows(series([9, 1, 2, 5]), 1, now=now, most_expensive=True)
    assert (result.start, result.average_price) == (now, pytest.approx(380 / 60))
    assert result.saving_vs_now == 0.0
    # and when a later hour is dearer, saving_vs_now is negative (the window costs more)
    dearer = find_windows(series([9, 1, 2, 8]), 1, now=at(0.5), most_expensive=True)
    assert dearer.start == at(3)
    assert dearer.saving_vs_now == pytest.approx((30 * 9 + 30 * 1) / 60 - 8)


def test_too_few_whole_slots_but_running_now_is_known():
    # 2 h from 00:20 within 2.5 h (until 02:50): of the whole slots only 01:00-02:00 fits, 1 h;
    # running now, 00:20-02:20, is known: (40 * 1 + 60 * 4 + 20 * 4) / 120 = 3
    now = at(0) + timedelta(minutes=20)
    slots = series([1, 4, 4])
    result = find_windows(slots, 2, now=now, within=timedelta(hours=2, minutes=30))
    assert result.start == now
    assert result.average_price == pytest.approx(360 / 120)


def test_a_slot_starting_exactly_now_is_allowed():
    result = find_windows(series([0.1, 5, 2, 3]), 1, now=T0)
    assert result.start == T0
    assert result.saving_vs_now == pytest.approx(0.0)


def test_quarter_hour_slots():
    # 1 h = four quarters: the run of four 1s starting 00:30
    slots = series([4, 4, 1, 1, 1, 1, 4, 4], minutes=15)
    result = find_windows(slots, 1, now=T0)
    assert (result.start, result.end) == (at(0.5), at(1.5))
    assert result.average_price == 1
    assert len(result.slots) == 4
    # 45 minutes: (1,1,1) at 00:30 and at 00:45 tie -> the later one
    assert find_windows(slots, 0.75, now=T0).start == at(0.75)


def test_a_gap_breaks_contiguity():
    # 00:3 01:1 (02:00 missing) 03:1 04:3. Across the gap (1,1) would average 1, but it is not
    # contiguous: the 2 h candidates are (3,1)=2 at 00:00 and (1,3)=2 at 03:00 -> tie, later.
    slots = series([3, 1, None, 1, 3])
    result = find_windows(slots, 2, now=T0)
    assert (result.start, result.end) == (at(3), at(5))
    assert result.average_price == 2
    # not contiguous, the two 1s make it: 01:00 and 03:00
    loose = find_windows(slots, 2, now=T0, contiguous=False)
    assert starts(loose) == [at(1), at(3)]
    assert loose.average_price == 1
    assert loose.runs() == [(at(1), at(2), 1.0), (at(3), at(4), 1.0)]


def test_gaps_shorter_than_the_window_are_not_enough_data():
    slots = series([3, 1, None, 1, 3, None, 2])
    with pytest.raises(NotEnoughData, match="longest unbroken stretch is 2 h, 3 h are needed"):
        find_windows(slots, 3, now=T0)


def test_negative_prices():
    # 2 h: (0.05,-0.02)=0.015 (-0.02,-0.05)=-0.035 (-0.05,0.01)=-0.02 -> 01:00 at -0.035
    slots = series([0.05, -0.02, -0.05, 0.01])
    result = find_windows(slots, 2, now=T0)
    assert result.start == at(1)
    assert result.average_price == pytest.approx(-0.035)
    # now: (0.05 - 0.02) / 2 = 0.015 -> saving 0.05 per kWh
    assert result.saving_vs_now == pytest.approx(0.05)
    loose = find_windows(slots, 1, now=T0, contiguous=False, most_expensive=True)
    assert starts(loose) == [at(0)]


def test_before_and_within_limit_the_window():
    # prices 5 1 1 5 0 0: the 0s at 04:00-06:00 are cheapest, but must end by 04:00
    slots = series([5, 1, 1, 5, 0, 0])
    assert find_windows(slots, 2, now=T0).start == at(4)
    assert find_windows(slots, 2, now=T0, before=at(4)).start == at(1)
    assert find_windows(slots, 2, now=T0, within=timedelta(hours=3)).start == at(1)
    with pytest.raises(NotEnoughData, match="3 h do not fit"):
        find_windows(slots, 3, now=T0, before=at(2))


def test_not_enough_data():
    with pytest.raises(NotEnoughData, match="only 2 h of price slots lie entirely between now"):
        find_windows(series([1, 2]), 3, now=T0)
    with pytest.raises(NotEnoughData):
        find_windows([], 1, now=T0)


def test_durations_the_slots_cannot_make_use_parts_of_slots():
    # These were UnreachableDuration (a 400 "ask for a multiple of the slot length").
    # 15 min from hourly 1, 2, 3: a quarter of the 1 slot; ties go to the later: 00:45-01:00
    result = find_windows(series([1, 2, 3]), 0.25, now=T0)
    assert (result.start, result.end, result.average_price) == (at(0.75), at(1), 1)
    assert [(s.start, s.end, s.price) for s in result.slots] == [(at(0.75), at(1), 1)]
    # 18 min split from 15-min slots 3 1 3 3 2 3 3 3: the 1 and 3 min of the 2, at the end of
    # its slot (the later of its ends): (15 x 1 + 3 x 2) / 18
    split = find_windows(series([3, 1, 3, 3, 2, 3, 3, 3], minutes=15), 0.3, now=T0,
                         contiguous=False)  # fmt: skip
    assert [(s.start, s.end, s.price) for s in split.slots] == [
        (at(0.25), at(0.5), 1), (T0 + timedelta(minutes=72), at(1.25), 2)]  # fmt: skip
    assert split.average_price == pytest.approx(21 / 18)
    assert split.windows_used == 2
    # only a duration of whole seconds is made (the API asks for whole minutes)
    with pytest.raises(UnreachableDuration, match="whole number of minutes"):
        find_windows(series([1] * 8, minutes=15), 0.3001, now=T0, contiguous=False)


def test_a_window_may_end_or_start_inside_a_slot():
    # 1.5 h over hourly 5 5 1 2 9 9: 02:00-03:30 (1 for 1 h, 2 for 0.5 h) = 4/3 ends mid-slot
    ends_inside = find_windows(series([5, 5, 1, 2, 9, 9]), 1.5, now=T0)
    assert (ends_inside.start, ends_inside.end) == (at(2), at(3.5))
    assert ends_inside.average_price == pytest.approx(4 / 3)
    assert ends_inside.runs() == [(at(2), at(3.5), pytest.approx(4 / 3))]
    # 5 5 2 1 9 9: 02:30-04:00 (2 for 0.5 h, 1 for 1 h) = 4/3 starts mid-slot
    starts_inside = find_windows(series([5, 5, 2, 1, 9, 9]), 1.5, now=T0)
    assert (starts_inside.start, starts_inside.end) == (at(2.5), at(4))
    assert [(s.start, s.end, s.price) for s in starts_inside.slots] == [
        (at(2.5), at(3), 2), (at(3), at(4), 1)]  # fmt: skip
    # running now is 00:00-01:30 at 5: saving 5 - 4/3
    assert starts_inside.saving_vs_now == pytest.approx(5 - 4 / 3)
    # most expensive 1.5 h: 9 9 at the end, the later 04:30-06:00 on ties
    dearest = find_windows(series([5, 5, 2, 1, 9, 9]), 1.5, now=T0, most_expensive=True)
    assert (dearest.start, dearest.end, dearest.average_price) == (at(4.5), at(6), 9)


def test_a_window_inside_slots_keeps_to_now_and_the_limit():
    slots = series([1, 5, 5, 0])
    # now 00:20: 00:15-01:00 would start before now; running now, 00:20-01:05, is
    # (1 x 40 + 5 x 5) / 45 = 1.44; `before` 03:30 cuts the 0 slot: ending there, 02:45-03:30
    # is (5 x 15 + 0 x 30) / 45 = 1.67; every other candidate is 5. Running now wins.
    now = T0 + timedelta(minutes=20)
    result = find_windows(slots, 0.75, now=now, before=at(3.5))
    assert (result.start, result.end) == (now, now + timedelta(minutes=45))
    assert result.average_price == pytest.approx(65 / 45)
    # with `before` at 03:40 the window ending there, 02:55-03:40 (5 x 5 + 0 x 40) / 45, wins
    result = find_windows(slots, 0.75, now=now, before=at(3) + timedelta(minutes=40))
    assert (result.start, result.end) == (
        at(3) - timedelta(minutes=5),
        at(3) + timedelta(minutes=40),
    )
    assert result.average_price == pytest.approx(25 / 45)


def test_a_split_set_uses_one_part_of_a_slot_next_to_its_run():
    # 1.5 h split over hourly 5 1 9 9 2 5: the 1 and half of the 2; with an interruption
    # penalty the half still sits at one end of its slot, and max_windows=1 is unbroken
    slots = series([5, 1, 9, 9, 2, 5])
    free = find_windows(slots, 1.5, now=T0, contiguous=False, penalty_percent=0)
    assert [(s.start, s.end) for s in free.slots] == [(at(1), at(2)), (at(4.5), at(5))]
    assert free.average_price == pytest.approx(4 / 3)
    # 6 % of 4/3 for the interruption: 1.41 is still below the best unbroken 0.5 h + 1 h
    penalised = find_windows(slots, 1.5, now=T0, contiguous=False, penalty_percent=6)
    assert penalised.windows_used == 2
    assert penalised.penalty_cost == pytest.approx(0.06 * 4 / 3)
    one = find_windows(slots, 1.5, now=T0, contiguous=False, max_windows=1)
    # unbroken: 00:30-02:00 (5 x 0.5 + 1) / 1.5 = 7/3, the best
    assert (one.start, one.end, one.windows_used) == (at(0.5), at(2), 1)
    assert one.average_price == pytest.approx(7 / 3)


def test_bad_arguments():
    with pytest.raises(WindowError):
        find_windows(series([1]), 0, now=T0)
    with pytest.raises(WindowError):
        find_windows(series([1]), 1, now=datetime(2026, 5, 1))


# --- non-contiguous -------------------------------------------------------------------------


def test_cheapest_hours_not_contiguous():
    # 4 1 5 1 3 1 2: the three 1s at 01:00, 03:00, 05:00
    result = find_windows(series([4, 1, 5, 1, 3, 1, 2]), 3, now=T0, contiguous=False)
    assert starts(result) == [at(1), at(3), at(5)]
    assert result.average_price == 1
    # now, 3 h: (4 + 1 + 5) / 3
    assert result.saving_vs_now == pytest.approx(10 / 3 - 1)


def test_not_contiguous_ties_go_to_later_slots():
    # 1 2 2 3 2, two hours: the 1 and the latest of the three 2s (04:00)
    result = find_windows(series([1, 2, 2, 3, 2]), 2, now=T0, contiguous=False)
    assert starts(result) == [at(0), at(4)]
    assert result.average_price == 1.5


def test_mixed_slot_widths():
    # 00:00-01:00 at 1.0, then quarters at 0.5 3 3 3
    slots = [PriceSlot(at(0), at(1), 1.0), *series([0.5, 3, 3, 3], minutes=15, start=at(1))]
    # 1 h 15 min: the hour plus the 0.5 quarter, (60*1 + 15*0.5) / 75 = 0.9, both ways
    loose = find_windows(slots, 1.25, now=T0, contiguous=False)
    assert starts(loose) == [at(0), at(1)]
    assert loose.average_price == pytest.approx(0.9)
    run = find_windows(slots, 1.25, now=T0)
    assert (run.start, run.end) == (at(0), at(1.25))
    # 30 min: the last quarter of the hour and the 0.5 quarter (0.75) beat running now
    # (00:00-00:30 at 1.0) and the quarters alone (0.5,3)=1.75 (3,3)=3: over mixed widths a
    # window may start inside the hour (it was running now: whole slots only)
    half = find_windows(slots, 0.5, now=T0)
    assert (half.start, half.end, half.average_price) == (at(0.75), at(1.25), 0.75)
    # from 00:40 running now is 20 min at 1.0 and 10 at 0.5 = 0.833, cheaper than 1.75 too
    later = find_windows(slots, 0.5, now=at(0) + timedelta(minutes=40))
    assert later.average_price == pytest.approx(25 / 30)


def test_saving_is_unknown_when_prices_from_now_are_missing():
    slots = series([None, 2, 1])  # nothing known for 00:00-01:00
    result = find_windows(slots, 1, now=T0)
    assert result.start == at(2)
    assert result.saving_vs_now is None
    assert price_from(slots, at(1), timedelta(hours=2)) == 1.5


# --- peak rule and the headline point -------------------------------------------------------


def test_peak_is_the_most_expensive_quarter_of_the_time():
    day = series([1, 2, 3, 4, 5, 6, 7, 8])
    # 7: only 8 (1 h of 8 h = 12.5 %) is dearer -> peak; 6: 7 and 8 (25 %) -> not peak
    assert is_peak(day, day[6]) is True
    assert is_peak(day, day[5]) is False
    # time-weighted: a dearer 15-min slot counts a quarter of an hour
    mixed = [*series([5, 1, 1], start=T0), *series([9], minutes=15, start=at(3))]
    # total 3.25 h; dearer than 5: 0.25 h (7.7 %) -> peak
    assert is_peak(mixed, mixed[0]) is True


def test_headline_point_for_a_hand_made_day():
    # 24 hourly prices from 00:00; now 06:30 -> current slot 06:00 (price 0.30)
    prices = [0.20, 0.18, 0.15, 0.12, 0.10, 0.14, 0.30, 0.35, 0.28, 0.22, 0.05, 0.01,
              -0.02, 0.00, 0.08, 0.16, 0.25, 0.40, 0.45, 0.38, 0.26, 0.24, 0.22, 0.21]  # fmt: skip
    now = at(6.5)
    result = pricing_result(provider="test", url="http://127.0.0.1/", currency="EUR",
                            region="DE", slots=series(prices), now=now, hours=3)  # fmt: skip
    headline = next(r for r in result.readings if r.measurement == "electricity_pricing")
    assert headline.time == at(6)
    assert headline.tags == {
        "provider": "test",
        "currency": "EUR",
        "region": "DE",
        "window_hours": "3",
    }
    fields = headline.fields
    assert fields["current_price"] == 0.30
    # 06:00..23:00 are known (18 h); dearer than 0.30: 0.35 0.40 0.45 0.38 = 4 h = 22 % -> peak
    assert fields["peak_period"] is True
    assert fields["average_price_24h"] == pytest.approx(sum(prices[6:]) / 18)
    # slots from 07:00 on: cheapest three -0.02 (12:00) 0.00 (13:00) 0.01 (11:00)
    assert json.loads(fields["cheapest_hours"]) == [
        "2026-05-01T11:00:00+00:00", "2026-05-01T12:00:00+00:00", "2026-05-01T13:00:00+00:00"
    ]  # fmt: skip
    # dearest three 0.45 (18:00) 0.40 (17:00) 0.38 (19:00)
    assert json.loads(fields["most_expensive_hours"]) == [
        "2026-05-01T17:00:00+00:00", "2026-05-01T18:00:00+00:00", "2026-05-01T19:00:00+00:00"
    ]  # fmt: skip
    forecast = [r for r in result.readings if r.measurement == "electricity_pricing_forecast"]
    assert len(forecast) == 24
    assert {r.fields["slot_minutes"] for r in forecast} == {60.0}
    assert result.current["time"] == "2026-05-01T06:00:00+00:00"
    assert result.current["cheapest_hours"][0] == "2026-05-01T11:00:00+00:00"


def test_headline_names_the_running_slot_when_its_rest_is_among_the_cheapest():
    # now 00:20 in 0.1 5 2 3 (see test_the_running_slot_is_priced_from_now_to_its_end): the
    # cheapest 60 minutes are the running slot's rest, 00:20-01:00 at 0.1, and 20 minutes of
    # the 02:00 slot at 2 (0.73 on average; running now, 00:20-01:20, 1.73): the 00:00 and
    # 02:00 slots
    now = at(0) + timedelta(minutes=20)
    result = pricing_result(provider="test", url="http://127.0.0.1/", currency="EUR",
                            region="DE", slots=series([0.1, 5, 2, 3]), now=now, hours=1)  # fmt: skip
    assert result.current["cheapest_hours"] == [at(0).isoformat(), at(2).isoformat()]
    assert result.current["most_expensive_hours"] == [at(1).isoformat()]
    assert result.current["current_price"] == 0.1
    # only 4 h are published: the 24-h figures say they end at 04:00
    assert result.current["known_until"] == at(4).isoformat()
    assert result.current["average_price_24h"] == pytest.approx((0.1 + 5 + 2 + 3) / 4)


@pytest.mark.parametrize(
    ("prices", "hour", "said"),
    [
        ([0.1, 0.2], 3, "the published prices end at 2026-05-01T02:00:00+00:00 (they start at "
         "2026-05-01T00:00:00+00:00); the next ones may be late (around 14:00 CET): the slots"),
        # These said "the published prices end at 04:00 ...; the next ones may be late" too.
        ([None, None, 0.1, 0.2], 1, "the published prices start later, at "
         "2026-05-01T02:00:00+00:00 (they end at 2026-05-01T04:00:00+00:00): the slots given"),
        ([0.1, None, None, 0.2], 1.5, "the published prices (2026-05-01T00:00:00+00:00 to "
         "2026-05-01T04:00:00+00:00) leave a gap from 2026-05-01T01:00:00+00:00 to "
         "2026-05-01T03:00:00+00:00: the slots given are written"),
    ],
)  # fmt: skip
def test_the_note_of_prices_not_covering_now_says_where_they_lie(prices, hour, said):
    result = pricing_result(provider="test", url="http://127.0.0.1/", currency="EUR",
                            region="DE", slots=series(prices), now=at(hour), hours=1,
                            published="around 14:00 CET")  # fmt: skip
    assert result.current["no_data"] is True and result.notes == [result.current["message"]]
    [note] = result.notes
    assert note.startswith(f"test: no published price covers now ({at(hour).isoformat()}): ")
    assert said in note
    assert ("may be late" in note) == ("may be late" in said)


def test_cheapest_hours_empty_when_too_little_is_known():
    result = pricing_result(provider="test", url="http://127.0.0.1/", currency="EUR",
                            region="DE", slots=series([0.1, 0.2]), now=T0, hours=3)  # fmt: skip
    headline = next(r for r in result.readings if r.measurement == "electricity_pricing")
    assert headline.fields["cheapest_hours"] == "[]"
    assert headline.fields["most_expensive_hours"] == "[]"


# --- fragmentation: the interruption penalty and max_windows -------------------------------


def test_a_split_plan_pays_for_each_interruption():
    # 0.20 0.21 0.20 0.21 0.30 0.30, 2 h anywhere: 00:00 + 02:00 at 0.20 (2 windows), or one
    # run at 0.205 (01:00-03:00 and 02:00-04:00 tie, the later wins)
    slots = series([0.20, 0.21, 0.20, 0.21, 0.30, 0.30])
    free = find_windows(slots, 2, now=T0, contiguous=False)
    assert (starts(free), free.windows_used, free.penalty_cost) == ([at(0), at(2)], 2, 0.0)
    # 6 %: 0.20 + 1 x 6 % x 0.20 = 0.212 > 0.205 -> one run
    kept = find_windows(slots, 2, now=T0, contiguous=False, penalty_percent=6)
    assert (starts(kept), kept.windows_used, kept.penalty_cost) == ([at(2), at(3)], 1, 0.0)
    assert kept.average_price == pytest.approx(0.205)
    # 1 %: 0.20 + 0.002 = 0.202 < 0.205 -> still split, and the answer says what it cost
    split = find_windows(slots, 2, now=T0, contiguous=False, penalty_percent=1)
    assert (starts(split), split.windows_used) == ([at(0), at(2)], 2)
    assert split.penalty_cost == pytest.approx(0.002)


def test_evcc_noise_stays_in_one_piece_and_real_savings_split():
    # evcc's case in ct/kWh, 4 h of 8: the four low hours cost 25 on average, plus 3
    # interruptions x 6 % x 25 = 29.5; every set of fewer runs holds a 50 (best 31, below), so
    # the split still wins
    ripple = series([24, 50, 25, 50, 26, 50, 25, 50])
    result = find_windows(ripple, 4, now=T0, contiguous=False, penalty_percent=6)
    assert (result.windows_used, result.average_price) == (4, 25)
    assert result.penalty_cost == pytest.approx(3 * 0.06 * 25)
    # max_windows 2: 00:00-03:00 + 06:00 = (24 + 50 + 25 + 25) / 4 = 31; the other two-run
    # sets cost 125 or 126 in total (e.g. 00:00 + 02:00-05:00 = 24 + 25 + 50 + 26)
    capped = find_windows(ripple, 4, now=T0, contiguous=False, max_windows=2)
    assert (starts(capped), capped.windows_used) == ([at(0), at(1), at(2), at(6)], 2)
    assert capped.average_price == pytest.approx(31)
    assert capped.penalty_cost == 0  # no penalty asked
    assert find_windows(ripple, 4, now=T0, contiguous=False, max_windows=1).windows_used == 1


def test_max_windows_that_cannot_be_met_is_not_enough_data():
    # three 1-hour slots between gaps: 3 h need three windows
    slots = series([1, None, 1, None, 1])
    assert find_windows(slots, 3, now=T0, contiguous=False, penalty_percent=6).windows_used == 3
    with pytest.raises(NotEnoughData, match="at most 2 windows"):
        find_windows(slots, 3, now=T0, contiguous=False, max_windows=2, penalty_percent=6)
    with pytest.raises(NotEnoughData, match="longest unbroken stretch is 1 h"):
        find_windows(slots, 3, now=T0, contiguous=False, max_windows=1)
