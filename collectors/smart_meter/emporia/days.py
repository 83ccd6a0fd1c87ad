"""When a fetch asks Emporia's day total (`getDeviceListUsages`, scale 1D), and at which minute.

Emporia's day is the device's local day (`locationProperties.timeZone`, else the site's zone).
Today's total so far is asked every DAY_EVERY (-> `daily_kwh` at the fetch's minute), so the
last one stored for a day was up to 15 minutes short of the day, and a day an outage ended in
had none. The first fetch on a new local day therefore asks the day that ended, at its last
minute, where its complete total is stored; the next fetch asks today's again. That is at most
one more day-total call a day, within the call each fetch reserves for it (budget.py).
"""

import math
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collectors.smart_meter.emporia.budget import DAY_EVERY
from collectors.smart_meter.emporia.usage import Device

MINUTE = timedelta(minutes=1)


def day_zone(devices: dict[int, Device], site_zone: str) -> str:
    """The zone whose days the account's totals follow: its first top-level Vue's, else the
    site's (a zone name Python does not know counts as none)."""
    for gid in sorted(devices):
        zone = devices[gid].zone
        if devices[gid].top_level and zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                break
            return zone
    return site_zone or "UTC"


def last_minute_before(moment: datetime, zone: str) -> datetime:
    """The last minute (UTC) of the local day before the one holding `moment`."""
    local = ZoneInfo(zone)
    midnight = datetime.combine(moment.astimezone(local).date(), time(0), tzinfo=local)
    return midnight.astimezone(UTC) - MINUTE


class DayTotals:
    """Per account: when the day total was last asked (this process's clock) and for which
    minute."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._asked: dict[tuple[str, str], tuple[float, datetime]] = {}

    def due(self, account: tuple[str, str], instant: datetime, zone: str) -> datetime | None:
        """The minute to ask the day total at in this fetch, or None (not due): the last
        minute of the day before while no total at or after it was asked (a day ended since),
        else `instant` every DAY_EVERY."""
        last = self._asked.get(account)
        ended = last_minute_before(instant, zone)
        if last is not None and last[1] < ended:
            return ended
        if last is None or self._clock() - last[0] >= DAY_EVERY:
            return instant
        return None

    def asked(self, account: tuple[str, str], at: datetime, instant: datetime) -> None:
        """Remember a day total asked at `at`; after an ended day's, today's is due at once."""
        self._asked[account] = (self._clock() if at == instant else -math.inf, at)
