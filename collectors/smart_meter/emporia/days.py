"""When a fetch asks Emporia's day total (`getDeviceListUsages`, scale 1D), and at which minute.

Emporia's day is the device's local day (`locationProperties.timeZone`, else the site's zone):
the answer marks each device with it, so its total is served for that day (today.zoned).
Today's total so far is asked every DAY_EVERY (-> `daily_kwh` at the fetch's minute), so the
last one stored for a day is up to 15 minutes short of the day, and a day an outage ended in
has none. A fetch therefore first asks an ended day whose complete total InfluxDB does not
hold yet, at its last minute, where that total is stored (collectors/smart_meter/day_ends.py:
the first fetch 15 minutes (SETTLE) after the day ended, also when a total of that minute is
stored (a fetch at 00:00 asks today's of 23:59, before the Vue uploaded it all), and again
by later fetches while it is not stored, e.g. after a failed fetch, a restart over midnight or
a two-day outage, oldest day first, one a fetch); today's is asked by the next fetch. On a
normal day that is one more day-total call a day, within the call each fetch reserves for it
(budget.py).
"""

from collections.abc import Callable

from collectors.smart_meter.emporia.budget import DAY_EVERY
from collectors.smart_meter.emporia.usage import Device
from collectors.smart_meter.today import known_zone


def day_zone(devices: dict[int, Device], site_zone: str) -> str:
    """The zone whose days the account's totals follow: its first top-level Vue's, else the
    site's (a zone name Python does not know counts as none)."""
    for gid in sorted(devices):
        if devices[gid].top_level and devices[gid].zone:
            return known_zone(devices[gid].zone) or site_zone or "UTC"
    return site_zone or "UTC"


class DayTotals:
    """Per account: when today's total was last asked (this process's clock)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._asked: dict[tuple[str, str], float] = {}

    def due(self, account: tuple[str, str]) -> bool:
        """Whether today's total is due (every DAY_EVERY)."""
        last = self._asked.get(account)
        return last is None or self._clock() - last >= DAY_EVERY

    def asked(self, account: tuple[str, str]) -> None:
        self._asked[account] = self._clock()
