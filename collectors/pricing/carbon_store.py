"""Stored carbon intensity for planning: what the carbon collectors wrote, as spans of time.

The carbon adapters write `carbon_intensity_forecast` (one point per forecast slot at its
start, `carbon_intensity_gco2_kwh` and `slot_minutes`: UK Carbon Intensity 48 h of half hours,
Electricity Maps hourly, WattTime 5-minute MOER) and `carbon_intensity` (the latest value at
the data's own time). Only gCO2/kWh is used: WattTime's free 0-100 index is not an intensity.

`carbon_spans` turns them into back-to-back spans from `start` to `end`: a forecast slot's
value over its own length (a later slot cuts an earlier one short); any time no forecast slot
covers takes the last value known before it (a forecast slot or a measured point), marked
with the time that value is from. Nothing is invented: before the first known value there is
no span at all.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from enrich.influx import quote_ident, stored_rows

# A last known value older than this is not carried into the plan.
LOOK_BACK = timedelta(hours=24)
_WHERE = 'WHERE "provider" = $provider AND "region" = $region AND time >= $start AND time < $end'
FORECAST_QUERY = (
    f'SELECT {quote_ident(GCO2_KWH)}, "slot_minutes" FROM {quote_ident(FORECAST_MEASUREMENT)} '
    + _WHERE
)
POINT_QUERY = f"SELECT {quote_ident(GCO2_KWH)} FROM {quote_ident(MEASUREMENT)} " + _WHERE
LAST_SLOT_QUERY = (
    f'SELECT LAST({quote_ident(GCO2_KWH)}), "slot_minutes" FROM {quote_ident(FORECAST_MEASUREMENT)} '
    'WHERE "provider" = $provider AND "region" = $region AND time >= $start'
)
SLOT_SERIES_QUERY = (
    f"SELECT {quote_ident(GCO2_KWH)} FROM {quote_ident(FORECAST_MEASUREMENT)} "
    'WHERE "provider" = $provider AND "region" = $region AND time = $start GROUP BY *'
)


@dataclass(frozen=True)
class ForecastSlot:
    start: datetime
    end: datetime
    gco2: float


@dataclass(frozen=True)
class CarbonSpan:
    """[start, end) at `gco2` gCO2/kWh; `carried_from` is None for a forecast, else the time
    of the last known value used because no forecast covers this span."""

    start: datetime
    end: datetime
    gco2: float
    carried_from: datetime | None = None


def _rows(query: str, bound: dict) -> list:
    return [row for row in stored_rows(query, bound) if row.time is not None]


def stored_carbon(
    provider: str, region: str, start: datetime, end: datetime
) -> tuple[list[ForecastSlot], list[tuple[datetime, float]]]:
    """The gCO2/kWh forecast slots starting in [start - LOOK_BACK, end) and the measured
    points from start - LOOK_BACK up to `start` (inclusive), both in time order."""
    forecast = stored_forecast(provider, region, start, end)
    bound = {"provider": provider, "region": region, "start": start - LOOK_BACK,
             "end": start + timedelta(microseconds=1)}  # fmt: skip
    points = [
        (row.time, float(value))
        for row in _rows(POINT_QUERY, bound)
        if (value := row.values.get(GCO2_KWH)) is not None
    ]
    return forecast, sorted(points)


def stored_forecast(
    provider: str, region: str, start: datetime, end: datetime
) -> list[ForecastSlot]:
    """The gCO2/kWh forecast slots starting in [start - LOOK_BACK, end), in time order: one
    query (the current carbon of each API request reads these alone)."""
    bound = {"provider": provider, "region": region, "start": start - LOOK_BACK, "end": end}
    forecast = [
        ForecastSlot(row.time, row.time + timedelta(minutes=minutes), float(value))
        for row in _rows(FORECAST_QUERY, bound)
        if (value := row.values.get(GCO2_KWH)) is not None
        and (minutes := row.values.get("slot_minutes"))
    ]
    return sorted(forecast, key=lambda s: s.start)


def forecast_end(provider: str, region: str, start: datetime) -> datetime | None:
    """Where the stored forecast really ends: the end of its last slot starting at or after
    `start` (however far ahead that is); None when none does."""
    bound = {"provider": provider, "region": region, "start": start}
    ends = [
        row.time + timedelta(minutes=minutes)
        for row in _rows(LAST_SLOT_QUERY, bound)
        if (minutes := row.values.get("slot_minutes"))
    ]
    return max(ends, default=None)


def slot_tags(provider: str, region: str, start: datetime) -> list[dict[str, str]]:
    """The tags of each stored forecast series with a gCO2/kWh slot starting at `start` (the
    fetch's tags: region, grid_operator, provider); one, unless the grid operator changed."""
    bound = {"provider": provider, "region": region, "start": start}
    return [
        row.tags for row in _rows(SLOT_SERIES_QUERY, bound) if row.values.get(GCO2_KWH) is not None
    ]


def back_to_back(forecast: list[ForecastSlot]) -> list[ForecastSlot]:
    """The forecast slots (ascending), each cut short where a later one starts."""
    return [
        ForecastSlot(s.start, min(s.end, later.start), s.gco2)
        for s, later in zip(forecast, forecast[1:], strict=False)
    ] + forecast[-1:]


def carbon_spans(
    forecast: list[ForecastSlot],
    points: list[tuple[datetime, float]],
    start: datetime,
    end: datetime,
) -> list[CarbonSpan]:
    """Back-to-back spans over [start, end), from the first known value on (see the module
    docstring); [] when nothing is known."""
    slots = back_to_back(forecast)
    slot_starts = [s.start for s in slots]
    known = sorted([(s.start, s.gco2) for s in slots] + points)
    known_times = [t for t, _ in known]
    edges = sorted({start, end, *slot_starts, *(s.end for s in slots), *(t for t, _ in points)})
    spans: list[CarbonSpan] = []
    for left, right in zip(edges, edges[1:], strict=False):
        if right <= start or left >= end:
            continue
        left, right = max(left, start), min(right, end)
        # the slot starting last at or before `left` covers it unless it ended (cut short)
        at = bisect_right(slot_starts, left) - 1
        if at >= 0 and left < slots[at].end:
            span = CarbonSpan(left, right, slots[at].gco2)
        else:
            last = bisect_right(known_times, left) - 1
            if last < 0:
                continue  # nothing known yet: no value, never a guess
            span = CarbonSpan(left, right, known[last][1], carried_from=known[last][0])
        if spans and spans[-1].end == left and _same(spans[-1], span):
            span = CarbonSpan(spans.pop().start, right, span.gco2, span.carried_from)
        spans.append(span)
    return spans


def _same(a: CarbonSpan, b: CarbonSpan) -> bool:
    return a.gco2 == b.gco2 and a.carried_from == b.carried_from
