"""When a fetch asks Emporia's day total (`getDeviceListUsages`, scale 1D), and at which minute.

Emporia's day is the device's local day (`locationProperties.timeZone`, else its account's
first Vue's, else the site's zone: device_zones):
the answer marks each device with it, so its total is served for that day (today.zoned).
Today's total so far is asked every 15 minutes (day_ends.TodayTotals; -> `daily_kwh` at the
fetch's minute), so the last one stored for a day is up to 15 minutes short of the day, and a
day an outage ended in has none. A fetch therefore first asks an ended day, of any zone the
devices count days in, whose complete total InfluxDB does not hold yet for that zone's
devices, at its last minute, where that total is stored (collectors/smart_meter/day_ends.py:
the first fetch 15 minutes (SETTLE) after the day ended, also when a total of that minute is
stored (a fetch at 00:00 asks today's of 23:59, before the Vue uploaded it all), once for all
worker processes, and again by later fetches while it is not stored, e.g. after a failed
fetch, a restart over midnight or a two-day outage, oldest day first, one a fetch:
ended_totals); today's is asked by the next fetch. On a normal day that is one more day-total
call a day per zone, within the call each fetch reserves for it (budget.py).
"""

from collections.abc import Callable
from datetime import datetime

from collectors.base import Target
from collectors.smart_meter import day_ends
from collectors.smart_meter.emporia import usage
from collectors.smart_meter.emporia.usage import Device
from collectors.smart_meter.today import known_zone
from enrich.readings import Reading


def day_zone(devices: dict[int, Device], site_zone: str) -> str:
    """The zone whose days the account's totals follow: its first top-level Vue's, else the
    site's (a zone name Python does not know counts as none)."""
    for gid in sorted(devices):
        if devices[gid].top_level and devices[gid].zone:
            return known_zone(devices[gid].zone) or site_zone or "UTC"
    return site_zone or "UTC"


def device_zones(devices: dict[int, Device], zone: str) -> dict[int, str]:
    """The zone of each device's day, by gid: its own, else the account's `zone` (day_zone)."""
    return {gid: known_zone(device.zone) or zone for gid, device in devices.items()}


def zone_count(devices: dict[int, Device], site_zone: str) -> int:
    """How many zones the devices count their days in: an ended day a day each."""
    return len(set(device_zones(devices, day_zone(devices, site_zone)).values()))


def ended_totals(
    ended: day_ends.EndedDays,
    target: Target,
    devices: dict[int, Device],
    zone: str,
    instant: datetime,
    ask: Callable[[datetime], tuple[list[usage.Usage], datetime]],
) -> list[Reading] | None:
    """The complete totals of the oldest settled day due (day_ends) of the zones the devices
    count their days in, at its last minute `at`: one call `ask(at)` (getDeviceListUsages 1D,
    every device) for all zones whose due day ends then, of whose answer only their devices'
    totals are kept (Emporia answers each device's day holding `at`: in another zone a day
    not over). None when no day is due (today's may be asked instead)."""
    zones = device_zones(devices, zone)
    due: dict[str, datetime] = {}
    for name in sorted(set(zones.values())):
        gids = {str(gid) for gid, of in zones.items() if of == name}
        if (end := ended.due(target, day_ends.settled_days(instant, name), gids, name)) is not None:
            due[name] = end
    if not due:
        return None
    at = min(due.values())
    asked = {name for name, end in due.items() if end == at}
    totals = {
        gid: kwh for gid, kwh in usage.day_totals(ask(at)[0]).items() if zones.get(gid) in asked
    }
    for name in asked:
        answered = any(zones[gid] == name for gid in totals)
        ended.asked(target, at, answered=answered, part=name)
    return [usage.day_total(target, devices[gid], at, kwh) for gid, kwh in totals.items()]
