"""The stored price slots: `electricity_pricing_forecast` read back from InfluxDB.

Every read-time answer (the REST price now, the windows, the beat task that keeps the
`electricity_pricing` point current) starts from these rows, never from an API call.
"""

from datetime import datetime, timedelta

from collectors.pricing.slots import FORECAST_MEASUREMENT, PriceSlot
from enrich.influx import quote_ident, stored_rows

# Stored slots are at most an hour long: reading from 2 h back finds the slot running now.
LOOK_BACK = timedelta(hours=2)
# The adapters ask for up to now + 48 h (tomorrow's prices), so nothing later is stored.
AHEAD = timedelta(hours=48)
QUERY = (
    f'SELECT "price", "slot_minutes" FROM {quote_ident(FORECAST_MEASUREMENT)} '
    'WHERE "provider" = $provider AND "region" = $region AND time >= $start AND time < $end '
    'GROUP BY "currency"'
)


def stored_slots(
    provider: str, region: str, start: datetime, end: datetime
) -> dict[str, list[PriceSlot]]:
    """The slots starting in [start, end) by currency, in time order; {} when none (also when
    the database does not exist yet). InfluxDB errors other than that propagate."""
    bound = {"provider": provider, "region": region, "start": start, "end": end}
    by_currency: dict[str, list[PriceSlot]] = {}
    for row in stored_rows(QUERY, bound):
        price, minutes = row.values.get("price"), row.values.get("slot_minutes")
        if price is None or not minutes or row.time is None:
            continue
        slot = PriceSlot(row.time, row.time + timedelta(minutes=minutes), float(price))
        by_currency.setdefault(row.tags.get("currency", ""), []).append(slot)
    return {currency: sorted(slots) for currency, slots in by_currency.items()}
