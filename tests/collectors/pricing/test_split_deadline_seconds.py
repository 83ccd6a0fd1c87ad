"""A split plan whose deadline has seconds (the default one, now + 24 h, has now's): the part of
the deadline's slot a split set may use ends at the deadline's whole minute, so the sets are
made of whole minutes (a part of 157 s made their unit a second: minutes of work for one
answer). The unbroken window still ends at the deadline itself."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors.pricing.slots import PriceSlot
from collectors.pricing.windows import find_windows

T0 = datetime(2026, 5, 1, tzinfo=UTC)
HOURLY = [9, 9, 1, 9, 0, 9]  # 00:00-06:00; the deadline falls inside the free 04:00 hour
DEADLINE = T0 + timedelta(hours=4, seconds=157)  # 04:02:37


def hourly() -> list[PriceSlot]:
    hour = timedelta(hours=1)
    return [PriceSlot(T0 + i * hour, T0 + (i + 1) * hour, price) for i, price in enumerate(HOURLY)]


def test_a_split_set_uses_the_deadlines_slot_up_to_its_whole_minute():
    split = find_windows(hourly(), 0.75, now=T0, before=DEADLINE, contiguous=False)

    # 43 minutes of the 02:00 hour (its later end) and 04:00-04:02 of the free one
    assert [(s.start, s.end, s.price) for s in split.slots] == [
        (T0 + timedelta(hours=2, minutes=17), T0 + timedelta(hours=3), 1),
        (T0 + timedelta(hours=4), T0 + timedelta(hours=4, minutes=2), 0),
    ]
    assert split.average_price == pytest.approx(43 / 45)
    assert split.windows_used == 2


def test_an_unbroken_window_still_ends_at_the_deadline_itself():
    # 45 minutes of 1 (02:00-02:45) against 03:17:37-04:02:37 (42.4 min of 9): the first wins;
    # with the 02:00 hour at 9 the window ending at the deadline is the best
    prices = hourly()
    prices[2] = PriceSlot(prices[2].start, prices[2].end, 9)
    unbroken = find_windows(prices, 0.75, now=T0, before=DEADLINE)

    assert (unbroken.start, unbroken.end) == (DEADLINE - timedelta(minutes=45), DEADLINE)
    assert unbroken.average_price == pytest.approx((45 * 60 - 157) * 9 / (45 * 60))
