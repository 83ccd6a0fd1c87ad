"""What the price adapters' tests share: the days Central European clocks change, a payload's
figure per kWh, a fetch's readings as forecast and headline, and the check of a day of
back-to-back slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from collectors.base import FetchResult
from enrich.readings import Reading

# The local days of 2026 when clocks change in Europe/Berlin and Europe/Stockholm, in UTC:
# (quarter hours in the day, its start, its end).
CET_DST_DAYS = {
    # 23 hours: clocks spring forward on 2026-03-29
    "spring": (92, datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
    # 25 hours: clocks fall back on 2026-10-25
    "autumn": (100, datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)),
}


def per_kwh(figure: float, divisor: int) -> float:
    """A payload's figure (EUR/MWh, p/kWh) per kWh in the currency's main unit, scaled as the
    decimal written in the payload: 130.4 EUR/MWh is 0.1304 EUR/kWh (not 130.4 / 1000, which
    binary floating point makes 0.13040000000000002)."""
    return float(Decimal(repr(float(figure))) / divisor)


def split(result: FetchResult) -> tuple[list[Reading], Reading]:
    """The forecast slots and the one headline reading of a price fetch."""
    forecast = [r for r in result.readings if r.measurement == "electricity_pricing_forecast"]
    [headline] = [r for r in result.readings if r.measurement == "electricity_pricing"]
    return forecast, headline


def assert_slots(
    forecast: list[Reading], count: int, first: datetime, end: datetime, minutes: int
) -> None:
    """`count` slots of `minutes` each, back to back from `first` until `end`."""
    width = timedelta(minutes=minutes)
    times = [r.time for r in forecast]
    assert len(forecast) == count
    assert {r.fields["slot_minutes"] for r in forecast} == {float(minutes)}
    assert times[0] == first
    assert all(b - a == width for a, b in pairwise(times))
    assert times[-1] + width == end
