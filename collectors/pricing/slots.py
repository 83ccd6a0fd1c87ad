"""What the price adapters share: the price slot and the readings they write.

Every price adapter turns its answer into `PriceSlot`s (UTC start/end, price per kWh in the
currency's main unit) and hands them to `pricing_result`, which writes:

- `electricity_pricing_forecast` (tags provider, currency, region): one point per slot the
  API gave, at the slot start, fields `price` and `slot_minutes` (from the slot's own start and
  end). Only slots the answer contains are written, so a partial answer (Tibber before
  tomorrow's prices are out) leaves the future slots written earlier in place.
- `electricity_pricing` (same tags, and `window_hours`: the hours its cheapest_hours and
  most_expensive_hours name, a point for each a site sharing the tariff asks for): one point
  at the start of the current slot, fields
  `current_price`, `peak_period`, `average_price_24h`, `cheapest_hours` and
  `most_expensive_hours` (JSON lists of slot-start times, UTC ISO 8601), `windows_unknown`
  (why both lists are empty, "" when they are named) and `known_until`.
  The fetch writes it for the moment of the fetch; `collectors.pricing.now` rewrites it from
  the stored slots every minute, and the REST API computes the same `headline` per request.
  An answer with no slot covering the moment of the fetch writes its slots and no headline
  (`current` is then `no_data`, with a note: see `pricing_result`).

The "next 24 h" of the headline are the slots starting from the current slot's start up to
(not including) now + 24 h; see `is_peak` and `average_price` for what is computed on them.
`known_until` is the end of the last of them: before now + 24 h when fewer prices are
published (e.g. before tomorrow's prices at ~13:00 CET), and then the 24-h figures cover only
up to it.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collectors.answers import digits
from collectors.base import FetchResult
from collectors.pricing.windows import WindowError, find_windows
from enrich.http import malformed
from enrich.readings import Reading

MEASUREMENT = "electricity_pricing"
FORECAST_MEASUREMENT = "electricity_pricing_forecast"
DAY = timedelta(hours=24)
# A slot is "peak" when less than this share of the next 24 h (by time) costs more.
PEAK_SHARE = 0.25
# ... and only when at least this much of the next 24 h is priced (else peak is unknown).
PEAK_MIN_KNOWN = timedelta(hours=12)
HEADLINE_FIELDS = (
    "current_price",
    "peak_period",
    "average_price_24h",
    "cheapest_hours",
    "most_expensive_hours",
    "known_until",
)


@dataclass(frozen=True, order=True)
class PriceSlot:
    """One price slot: [start, end) as aware UTC datetimes, price per kWh (EUR, GBP, SEK...)."""

    start: datetime
    end: datetime
    price: float

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def minutes(self) -> float:
        return self.seconds / 60

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def in_history(start: datetime, now: datetime, history: timedelta) -> datetime:
    """The fetch start: `start` limited to the API's history, and never after the last hour
    (so the current slot is always part of the answer)."""
    return max(min(start, now - timedelta(hours=1)), now - history)


# --- what is computed on the slots --------------------------------------------------------


def current_slot(slots: Iterable[PriceSlot], now: datetime) -> PriceSlot | None:
    return next((slot for slot in slots if slot.covers(now)), None)


def next_day(slots: Iterable[PriceSlot], current: PriceSlot, now: datetime) -> list[PriceSlot]:
    """The known slots from the current slot's start to now + 24 h (slot starts)."""
    return [slot for slot in slots if current.start <= slot.start < now + DAY]


def average_price(slots: Sequence[PriceSlot]) -> float:
    """Time-weighted mean price: a 60-minute slot counts four times a 15-minute one."""
    seconds = sum(slot.seconds for slot in slots)
    return sum(slot.price * slot.seconds for slot in slots) / seconds


def is_peak(day: Sequence[PriceSlot], current: PriceSlot) -> bool:
    """Peak rule: the current slot is in the most expensive quarter of the next 24 h.

    Precisely: less than 25 % of the known time from the current slot's start to now + 24 h
    is strictly more expensive than the current slot. With 24 hourly prices the six most
    expensive hours are peak; slots priced the same as the sixth are peak too.
    """
    total = sum(slot.seconds for slot in day)
    dearer = sum(slot.seconds for slot in day if slot.price > current.price)
    return dearer < PEAK_SHARE * total


def peak_state(day: Sequence[PriceSlot], current: PriceSlot) -> tuple[bool | None, str | None]:
    """`is_peak` and None where at least PEAK_MIN_KNOWN of the next 24 h (from the current
    slot's start) is priced; else (None, why): with only a few hours known the current slot
    is nearly always in their dearest quarter, which says nothing about the day."""
    known = sum(slot.seconds for slot in day)
    if known >= PEAK_MIN_KNOWN.total_seconds():
        return is_peak(day, current), None
    return None, (
        f"peak unknown: prices are known only until {day[-1].end.isoformat()} "
        f"({known / 3600:g} h from the running slot's start); the peak rule needs "
        f"{PEAK_MIN_KNOWN.total_seconds() / 3600:g} h of the next 24 h"
    )


def extreme_hours(
    slots: Sequence[PriceSlot], day: Sequence[PriceSlot], hours: float, now: datetime,
    most_expensive: bool,
) -> list[str]:  # fmt: skip
    """Slot starts (UTC ISO 8601, in time order) of the cheapest or most expensive `hours` of
    the next 24 h (`day`, see `next_day`: up to the end of the last slot starting before
    now + 24 h), not necessarily adjacent (see `find_windows`; when running from now wins,
    the running slot and those up to now + `hours`); [] when fewer are known (`windows_gap`
    says why). The horizon is that last slot's end, so a list names whole slots, none the
    horizon cuts through, and 24 h fit at every minute once prices are known that far."""
    horizon = day[-1].end
    try:
        result = find_windows(
            slots,
            hours,
            now,
            within=horizon - now,
            contiguous=False,
            before=horizon,
            most_expensive=most_expensive,
        )
    except WindowError:
        return []
    # A piece of the running slot starts at now: name the slot it belongs to.
    starts = {current_slot(slots, piece.start).start for piece in result.slots}
    return [start.isoformat() for start in sorted(starts)]


def windows_gap(day: Sequence[PriceSlot], hours: float, now: datetime) -> str | None:
    """Why cheapest_hours and most_expensive_hours are empty (more hours asked than are priced
    from now, e.g. before tomorrow's prices are out), or None when they can be named."""
    known = sum(slot.seconds for slot in day) - (now - day[0].start).total_seconds()
    if hours * 3600 <= known:
        return None
    return (
        f"cheapest_hours and most_expensive_hours unknown: window_hours is {hours:g} h, and "
        f"prices are known only until {day[-1].end.isoformat()}, {known / 3600:.6g} h from "
        "now; they are named once enough later prices are published (or ask for fewer hours)"
    )


def headline(slots: Sequence[PriceSlot], now: datetime, hours: float) -> dict[str, Any] | None:
    """The price at `now` and the 24-h figures from time-ordered slots; None when no slot
    covers `now`. Lists are Python lists here (JSON strings in the InfluxDB point)."""
    current = current_slot(slots, now)
    if current is None:
        return None
    day = next_day(slots, current, now)
    peak, peak_unknown = peak_state(day, current)
    return {
        "current_price": current.price,
        "peak_period": peak,
        "peak_unknown": peak_unknown,
        "average_price_24h": digits(average_price(day)),
        "known_until": day[-1].end.isoformat(),
        "cheapest_hours": extreme_hours(slots, day, hours, now, most_expensive=False),
        "most_expensive_hours": extreme_hours(slots, day, hours, now, most_expensive=True),
        "window_hours": hours,
        "windows_unknown": windows_gap(day, hours, now),
        "slot_minutes": current.minutes,
        "time": current.start.isoformat(),
    }


def headline_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The `electricity_pricing` point's fields from a `headline` (no `peak_period` when it
    is unknown). `windows_unknown` says why both lists are empty (`windows_gap`), "" when they
    are named: the point is rewritten within its slot, and InfluxDB keeps a field a rewrite
    leaves out, so a reason written while the lists were empty would stay beside them once
    later prices name them."""
    fields = {key: summary[key] for key in HEADLINE_FIELDS if summary[key] is not None}
    for key in ("cheapest_hours", "most_expensive_hours"):
        fields[key] = json.dumps(summary[key])
    fields["windows_unknown"] = summary["windows_unknown"] or ""
    return fields


def headline_reading(summary: Mapping[str, Any], tags: Mapping[str, str]) -> Reading:
    """The `electricity_pricing` point of a `headline`, tagged with the `window_hours` its
    windows are long: sites sharing a tariff each read their own."""
    start = datetime.fromisoformat(summary["time"])
    hours = f"{summary['window_hours']:g}"
    return Reading(MEASUREMENT, headline_fields(summary), start, {**tags, "window_hours": hours})


def check_slots(provider: str, url: str, slots: Iterable[PriceSlot]) -> list[PriceSlot]:
    """The slots in time order; overlapping or empty slots make the answer malformed."""
    ordered = sorted(slots)
    for slot in ordered:
        if slot.end <= slot.start:
            raise malformed(
                provider,
                url,
                f"the slot starting {slot.start.isoformat()} ends "
                f"at {slot.end.isoformat()}, not after its start",
            )
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if later.start < earlier.end:
            raise malformed(
                provider,
                url,
                f"the slots starting {earlier.start.isoformat()} "
                f"and {later.start.isoformat()} overlap",
            )
    return ordered


def _uncovered(ordered: Sequence[PriceSlot], now: datetime, published: str) -> str:
    """Where the published prices (`ordered`, none covering now) lie around now: all before
    it (the next ones may be late: `published` says when they come), all after it, or on
    both sides of a gap (named as a gap: prices after now are not late)."""
    first, last = ordered[0].start.isoformat(), ordered[-1].end.isoformat()
    if ordered[-1].end <= now:
        when = f" ({published})" if published else ""
        late = f"the next ones may be late{when}"
        return f"the published prices end at {last} (they start at {first}); {late}"
    if ordered[0].start > now:
        return f"the published prices start later, at {first} (they end at {last})"
    before = max(slot.end for slot in ordered if slot.end <= now).isoformat()
    after = min(slot.start for slot in ordered if slot.start > now).isoformat()
    return f"the published prices ({first} to {last}) leave a gap from {before} to {after}"


def pricing_result(
    *,
    provider: str,
    url: str,
    currency: str,
    region: str,
    slots: Iterable[PriceSlot],
    now: datetime,
    hours: float,
    published: str = "",
) -> FetchResult:
    """The readings and the `current` summary for one answer (see the module docstring).

    An answer with no slot covering now (the provider publishes late, the answer's range was
    cut, or it starts later) still gives its slots, as published, but no headline: `current`
    is `no_data` with a note saying where the published prices lie: where they end and that
    the next ones may be late (`published`: when the provider publishes them), or that they
    start later, or the gap they leave around now (`_uncovered`)."""
    ordered = check_slots(provider, url, slots)
    if not ordered:  # nothing known: write nothing, the pipeline serves the last good answer
        return FetchResult(
            readings=[], current={"message": "the answer holds no prices", "time": now.isoformat()}
        )
    tags = {"provider": provider, "currency": currency, "region": region}
    readings = [
        Reading(
            FORECAST_MEASUREMENT,
            {"price": slot.price, "slot_minutes": float(slot.minutes)},
            slot.start,
            tags,
        )
        for slot in ordered
    ]
    units = {
        "currency": currency,
        "region": region,
        "unit": f"{currency}/kWh",
        "slots_known_until": ordered[-1].end.isoformat(),
    }
    current = current_slot(ordered, now)
    if current is None:
        note = (
            f"{provider}: no published price covers now ({now.isoformat()}): "
            f"{_uncovered(ordered, now, published)}: the slots given are written, the next "
            "run asks again, and the last good answer is served for now meanwhile"
        )
        return FetchResult(readings, {"no_data": True, "message": note, "time": None, **units},
                           notes=[note])  # fmt: skip
    summary = headline(ordered, now, hours)
    readings.append(headline_reading(summary, tags))
    summary.update(units)
    return FetchResult(readings=readings, current=summary)
