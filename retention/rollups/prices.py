"""The price slots the energy view prices energy by, read from `electricity_pricing_forecast`."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from enrich.influx import quote_ident, stored_rows
from enrich.models import ProviderConfig
from retention.timeutil import DAY

logger = logging.getLogger(__name__)

PRICE_MEASUREMENT = "electricity_pricing_forecast"
HOUR = timedelta(hours=1)


@dataclass(frozen=True, order=True)
class PricedSlot:
    start: datetime
    end: datetime
    price: float
    currency: str = field(compare=False)


class PriceBook:
    """The known price slots, non-overlapping and ascending, with lookups by time: every slot
    overlapping [start, end) (None: not read from InfluxDB)."""

    def __init__(
        self,
        slots: Iterable[PricedSlot],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self.slots = sorted(slots)
        self.start, self.end = start, end
        self._starts = [slot.start for slot in self.slots]

    def overlaps(self, start: datetime, end: datetime) -> list[tuple[PricedSlot, float]]:
        """(slot, seconds of [start, end) it covers) for each slot overlapping the window."""
        found = []
        index = max(bisect_right(self._starts, start) - 1, 0)
        while index < len(self.slots) and self.slots[index].start < end:
            slot = self.slots[index]
            seconds = (min(slot.end, end) - max(slot.start, start)).total_seconds()
            if seconds > 0:
                found.append((slot, seconds))
            index += 1
        return found

    def edges(self, start: datetime, end: datetime) -> set[datetime]:
        """Slot starts and ends strictly inside (start, end)."""
        inside = set()
        index = max(bisect_right(self._starts, start) - 1, 0)
        while index < len(self.slots) and self.slots[index].start < end:
            for edge in (self.slots[index].start, self.slots[index].end):
                if start < edge < end:
                    inside.add(edge)
            index += 1
        return inside


def price_book(start: datetime, end: datetime) -> PriceBook:
    """Price slots overlapping [start - 23 h, end) from `electricity_pricing_forecast`.

    A slot is [time, time + slot_minutes). When several series (provider, region, currency)
    price the same time, that of a provider an enabled site's price config names wins, then
    the first in sorted tag order, and the overlap is logged: a home has one tariff, and a
    second series is usually a provider tried once, or the one switched from (its day-ahead
    slots stay stored).
    """
    query = (
        f'SELECT "price", "slot_minutes" FROM {quote_ident(PRICE_MEASUREMENT)} '
        'WHERE time >= $start AND time < $end GROUP BY "provider", "region", "currency"'
    )
    # Slots are at most an hour long in practice: reading a day back finds any slot running
    # at start, and the book knows every slot from 23 hours before it (a meter's reading
    # before the range starts the time its growth was used over: `retention.rollups.energy`).
    bound = {"start": start - DAY, "end": end}
    current = set(
        ProviderConfig.objects.filter(
            source="electricity_pricing", enabled=True, site__enabled=True
        ).values_list("provider", flat=True)
    )
    known = start - DAY + HOUR
    series: dict[tuple[str, str, str], list[PricedSlot]] = {}
    for row in stored_rows(query, bound):
        price, minutes = row.values.get("price"), row.values.get("slot_minutes")
        if price is None or not minutes or row.time is None:
            continue
        slot_end = row.time + timedelta(minutes=float(minutes))
        if slot_end <= known:
            continue
        key = (
            row.tags.get("provider", ""),
            row.tags.get("region", ""),
            row.tags.get("currency", ""),
        )
        series.setdefault(key, []).append(PricedSlot(row.time, slot_end, float(price), key[2]))
    chosen: list[PricedSlot] = []
    for key in sorted(series, key=lambda key: (key[0] not in current, key)):
        for slot in series[key]:
            if any(slot.start < c.end and c.start < slot.end for c in _near(chosen, slot)):
                logger.warning(
                    "price slot %s of %s overlaps a slot of another price series; that of an "
                    "enabled site's price provider is used, else the first series (sorted by "
                    "provider, region, currency)",
                    slot.start.isoformat(),
                    "/".join(key),
                )
                continue
            chosen.append(slot)
        chosen.sort()
    return PriceBook(chosen, known, end)


def _near(chosen: list[PricedSlot], slot: PricedSlot) -> list[PricedSlot]:
    index = bisect_right([c.start for c in chosen], slot.start)
    return chosen[max(index - 2, 0) : index + 2]
