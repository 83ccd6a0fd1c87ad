"""The stored price slots: `electricity_pricing_forecast` read back from InfluxDB.

Every read-time answer (the REST price now, the windows, the beat task that keeps the
`electricity_pricing` point current) starts from these rows, never from an API call.

A slot is stored at its start, so the slots starting in a range miss the one already running
at the range's start; `stored_slots` adds it, however long it is: most slots are 15 to 60
minutes, but a time-of-use tariff such as Octopus Go has a 19-hour day rate, which a look
back of two hours never found (its price was "stale" for most of the day).
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from collectors.pricing.slots import FORECAST_MEASUREMENT, PriceSlot
from enrich.influx import quote_ident, stored_rows

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
    for currency, slot in _slots(RUNNING, bound):
        if slot.end > start:
            by_currency.setdefault(currency, []).append(slot)
    for currency, slot in _slots(QUERY, bound):
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
