"""The stored price slots: `electricity_pricing_forecast` read back from InfluxDB.

Every read-time answer (the REST price now, the windows, the beat task that keeps the
`electricity_pricing` point current) starts from these rows, never from an API call.

A slot is stored at its start, so the slots starting in a range miss the one already running
at the range's start; `stored_slots` adds it, however long it is: most slots are 15 to 60
minutes, but a time-of-use tariff such as Octopus Go has a 19-hour day rate, which a look
back of two hours would not find (its price would read "stale" for most of the day).

`drop_superseded` (after a fetch's slots are written) deletes the stored points that start
inside a slot the answer gave: a provider answering a time again at a coarser resolution (a
day of quarter hours answered again in hours) overwrites the points at the hours, and the
quarter hours at :15, :30 and :45 would stay beside them, served as doubled time.
"""

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.conf import settings

from collectors.pricing.slots import FORECAST_MEASUREMENT, PriceSlot
from enrich.influx import get_timeseries, quote_ident, stored_rows
from enrich.readings import Reading

# Read from 2 h back: the slots just before now, for the windows' and the charts' context
# (the slot running at the start of a read is added whatever its length: `stored_slots`).
LOOK_BACK = timedelta(hours=2)
# The adapters ask for up to now + 48 h (tomorrow's prices), so nothing later is stored.
AHEAD = timedelta(hours=48)
QUERY = (
    f'SELECT "price", "slot_minutes" FROM {quote_ident(FORECAST_MEASUREMENT)} '
    'WHERE "provider" = $provider AND "region" = $region AND time >= $start AND time < $end '
    'GROUP BY "currency"'
)
# The last slot starting before a range, per currency: it may still be running at its start.
RUNNING = (
    f'SELECT "price", "slot_minutes" FROM {quote_ident(FORECAST_MEASUREMENT)} '
    'WHERE "provider" = $provider AND "region" = $region AND time < $start '
    'GROUP BY "currency" ORDER BY time DESC LIMIT 1'
)


def stored_slots(
    provider: str, region: str, start: datetime, end: datetime
) -> dict[str, list[PriceSlot]]:
    """The slots starting in [start, end), and the one running at `start`, by currency, in time
    order; {} when none (also when the database does not exist yet). InfluxDB errors other
    than that propagate."""
    bound = {"provider": provider, "region": region, "start": start, "end": end}
    by_currency: dict[str, list[PriceSlot]] = {}
    # Both statements in one request (one round trip, answered in this order): RUNNING's
    # slot starts before `start`, QUERY's at or after it.
    for currency, slot in _slots(f"{RUNNING}; {QUERY}", bound):
        if slot.start >= start or slot.end > start:  # not a slot that ended before `start`
            by_currency.setdefault(currency, []).append(slot)
    return {currency: sorted(slots) for currency, slots in by_currency.items()}


def _slots(query: str, bound: dict) -> Iterator[tuple[str, PriceSlot]]:
    """(currency, slot) of each row of `query` with a price and a length."""
    for row in stored_rows(query, bound):
        price, minutes = row.values.get("price"), row.values.get("slot_minutes")
        if price is None or not minutes or row.time is None:
            continue
        slot = PriceSlot(row.time, row.time + timedelta(minutes=minutes), float(price))
        yield row.tags.get("currency", ""), slot


def drop_superseded(provider: str, region: str, readings: Sequence[Reading]) -> int:
    """Delete the stored slots of the answer's series (provider, region, currency) that start
    inside one of the slots it wrote (`readings`, a fetch's points); returns how many."""
    written = sorted((r for r in readings if r.measurement == FORECAST_MEASUREMENT),
                     key=lambda r: r.time)  # fmt: skip
    if not written:
        return 0
    starts = [r.time for r in written]
    ends = [r.time + timedelta(minutes=r.fields["slot_minutes"]) for r in written]
    tags, currency = written[0].tags, written[0].tags.get("currency", "")
    bound = {"provider": provider, "region": region, "start": starts[0], "end": ends[-1]}
    superseded = []
    for stored_currency, slot in _slots(QUERY, bound):
        index = bisect_left(starts, slot.start)
        if stored_currency != currency or (index < len(starts) and starts[index] == slot.start):
            continue  # another series, or a point the answer itself wrote
        if index > 0 and slot.start < ends[index - 1]:  # inside the written slot before it
            superseded.append(slot.start)
    timeseries = get_timeseries()
    for start in superseded:
        timeseries.delete(settings.INFLUXDB_DATABASE, start, start + timedelta(microseconds=1),
                          FORECAST_MEASUREMENT, tags)  # fmt: skip
    return len(superseded)
